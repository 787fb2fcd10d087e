//! Nothing lost, nothing stuck, whatever fails when: requests submitted while every queue
//! message is delivered twice, a share of the calls to the store, the documents and the queues
//! fail (half of the writes only after they took effect), and the runtime dies at random
//! moments — by SIGKILL, and at each `CRASH_ON_SEND` point in turn. The client does what a
//! browser does: it sends again with the same Idempotency-Key until it gets an answer. Then the
//! runtime runs once more without faults, and every request must reach its end in the recovery
//! window, with exactly one certificate each.
//!
//! `CHAOS_REQUESTS` (default 30) sets the number of requests; `CHAOS_BACKEND=aws` runs it on moto
//! (the full figure of BENCHMARKS.md: `CHAOS_REQUESTS=1000`, see README).

use std::collections::BTreeMap;
use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use system_tests::{Runtime, emulator};

fn application(i: usize) -> Value {
    // Children born on different days: every request is its own case.
    let day = 1 + i % 28;
    let month = 1 + (i / 28) % 12;
    json!({
        "applicant": {"role": "mother"},
        "mother": {
            "given_names": "Sophia", "family_name": "Beispiel", "birth_date": "1994-05-02", "birth_place": "Bremen",
            "address": {"street": "Am Markt", "house_number": "1", "postcode": "28195", "city": "Bremen"}
        },
        "child": {"given_names": "Mia", "family_name": "Beispiel", "birth_date": format!("2021-{month:02}-{day:02}"),
                  "birth_place": "Bremen", "born_abroad": false},
        "delivery": "download"
    })
}

fn chance(share: f64) -> bool {
    (RandomState::new().hash_one(()) as f64 / u64::MAX as f64) < share
}

/// The crash points, in turn, and none.
const CRASH_POINTS: [Option<&str>; 5] = [None, Some("submitted"), Some("prepared"), Some("issue"), Some("notify")];

/// How long every request may take to reach its end once the faults stop: the sweep's deadline
/// and interval (5 s, 1 s here) and the steps' retries.
const RECOVERY_WINDOW: Duration = Duration::from_secs(120);

#[test]
fn nothing_is_lost_stuck_or_issued_twice_under_faults_duplicates_and_crashes() {
    let requests: usize = std::env::var("CHAOS_REQUESTS").ok().and_then(|n| n.parse().ok()).unwrap_or(30);
    let dir = tempfile::tempdir().unwrap();
    let mut base: Vec<(String, String)> =
        [("HANDON_DEADLINE_SECONDS", "5"), ("SWEEP_EVERY_SECONDS", "1"), ("QUEUE_VISIBILITY_SECONDS", "2")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
    let on_aws = std::env::var("CHAOS_BACKEND").as_deref() == Ok("aws");
    if on_aws {
        base.extend(emulator::fresh_resources(&[]));
        base.push(("BACKEND".into(), "aws".into()));
    }
    let start = |faults: bool, crash_point: Option<&str>| {
        let mut env: Vec<(&str, &str)> = base.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        if faults {
            // The injected faults would fill the log.
            env.extend([("FAULT_RATE", "0.1"), ("DELIVER_TWICE", "on"), ("RUST_LOG", "off")]);
        }
        if let Some(point) = crash_point {
            env.push(("CRASH_ON_SEND", point));
        }
        Runtime::start_with(dir.path(), &env)
    };
    let clean = start(false, None);
    if on_aws {
        subscribe_bremen(&clean);
    }
    let mother = clean.login("mother");
    clean.kill();

    let started = Instant::now();
    let (mut restarts, mut attempts) = (0, 0);
    let mut runtime = start(true, None);
    let mut accepted: BTreeMap<usize, String> = BTreeMap::new();
    for i in 0..requests {
        let key = format!("chaos-{i}");
        loop {
            attempts += 1;
            let answer = runtime.try_send_with_headers(
                "POST",
                "/api/v1/requests",
                Some(&mother),
                &application(i),
                &[("Idempotency-Key", &key)],
            );
            match answer {
                Some(response) if response.status == 202 => {
                    accepted.insert(i, response.body["id"].as_str().expect("an id").to_owned());
                }
                Some(response) => {
                    assert!(response.status >= 500, "only faults refuse it: {} {}", response.status, response.body)
                }
                None => {}
            }
            // A crash point reached, or a kill at a random moment (the chain at work behind the
            // answers): start again, with the next crash point.
            if runtime.has_exited() || chance(0.15) {
                restarts += 1;
                runtime.kill();
                runtime = start(true, CRASH_POINTS[restarts % CRASH_POINTS.len()]);
            }
            if accepted.contains_key(&i) {
                break;
            }
        }
    }
    // The chain goes on under faults for a while, and is cut off at a random moment.
    std::thread::sleep(Duration::from_millis(500 + (RandomState::new().hash_one(()) % 3000)));
    runtime.kill();
    let submitted_in = started.elapsed();

    let recovering = Instant::now();
    let runtime = start(false, None);
    let deadline = recovering + RECOVERY_WINDOW;
    let mut finished: BTreeMap<usize, Value> = BTreeMap::new();
    while finished.len() < accepted.len() {
        for (i, id) in &accepted {
            if finished.contains_key(i) {
                continue;
            }
            let status = runtime.get(&format!("/api/v1/requests/{id}"), Some(&mother));
            assert_eq!(status.status, 200, "request {i} is kept: {}", status.body);
            if !matches!(status.body["status"].as_str(), Some("submitted" | "prepared" | "in_review")) {
                finished.insert(*i, status.body);
            }
        }
        let open: Vec<_> = accepted.keys().filter(|i| !finished.contains_key(i)).collect();
        assert!(Instant::now() < deadline, "still open after {RECOVERY_WINDOW:?}: {open:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let recovered_in = recovering.elapsed();

    let statuses: Vec<&str> = finished.values().map(|body| body["status"].as_str().unwrap()).collect();
    let issued = statuses.iter().filter(|s| **s == "issued").count();
    if issued < requests {
        let staff = runtime.login("staff-bremen");
        let reasons: BTreeMap<String, usize> = finished
            .iter()
            .filter(|(_, body)| body["status"] != "issued")
            .map(|(i, _)| runtime.get(&format!("/api/v1/staff/requests/{}", accepted[i]), Some(&staff)).body)
            .fold(BTreeMap::new(), |mut reasons, detail| {
                *reasons.entry(detail["failure"].to_string()).or_default() += 1;
                reasons
            });
        panic!("{issued} of {requests} issued; the others: {reasons:?}");
    }
    for (i, body) in &finished {
        let steps: Vec<&str> =
            body["timeline"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
        assert_eq!(steps.iter().filter(|s| **s == "issued").count(), 1, "request {i} issued once: {steps:?}");
    }
    let certificates = certificate_files(dir.path());
    let most = certificates.values().max().copied().unwrap_or(0);
    eprintln!(
        "chaos ({}): {requests} requests, {attempts} submissions, {restarts} restarts, submitted in {:.1} s; \
         all issued {:.1} s after the faults stopped; certificate PDFs: {} requests with some, at most {most} each",
        if on_aws { "moto" } else { "embedded" },
        submitted_in.as_secs_f64(),
        recovered_in.as_secs_f64(),
        certificates.len()
    );
    if !on_aws {
        assert_eq!(certificates.len(), requests, "one certificate file per request");
        assert!(certificates.values().all(|n| *n == 1), "never two: {certificates:?}");
    }
}

/// Certificate PDFs per request folder of the embedded document store.
fn certificate_files(data_dir: &std::path::Path) -> BTreeMap<String, usize> {
    let mut files = BTreeMap::new();
    let requests = data_dir.join("documents/jugendamt-bremen/requests");
    for folder in std::fs::read_dir(&requests).into_iter().flatten().flatten() {
        let count = std::fs::read_dir(folder.path())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|file| file.file_name().to_string_lossy().starts_with("bescheinigung-"))
            .count();
        if count > 0 {
            files.insert(folder.file_name().to_string_lossy().into_owned(), count);
        }
    }
    files
}

/// On AWS nothing is seeded: the operator subscribes Bremen.
fn subscribe_bremen(runtime: &Runtime) {
    let admin = runtime.login("admin");
    let tenant = json!({
        "id": "jugendamt-bremen", "name": "Jugendamt Bremen", "phone": "+49 421 000000",
        "email": "jugendamt-bremen@example.org",
        "address": {"street": "Am Amt", "house_number": "1", "postcode": "28195", "city": "Bremen"},
        "municipalities": [{"ags": "04011000", "name": "Bremen, Stadt"}], "connected": true, "auto_issue": true,
        "retention_days": 365
    });
    let created = runtime.send("POST", "/api/v1/tenants", Some(&admin), Some(&tenant));
    assert_eq!(created.status, 201, "{}", created.body);
}
