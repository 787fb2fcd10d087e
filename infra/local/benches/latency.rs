//! Submit → issued latency on the local runtime at a fixed rate: the mother's wait for an
//! automatic certificate, against the peer in the same run: the submit call alone (until 202),
//! which the chain (queue, XFamilie, request PDF, register check, certificate) comes on top of.
//! `cargo bench -p local-runtime --bench latency`.

use std::time::{Duration, Instant};

use serde_json::json;
use system_tests::Runtime;

const RATE_PER_SECOND: u64 = 10;
const REQUESTS: usize = 100;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    // SAFETY of set_var: single-threaded here, before any thread starts.
    unsafe { std::env::set_var("SORGEREGISTER_BIN", env!("CARGO_BIN_EXE_sorgeregister")) };
    let data = tempfile::tempdir().expect("temporary directory");
    let runtime = Runtime::start(data.path());
    let token = runtime.login("mother");
    let application = json!({
        "applicant": {"role": "mother"},
        "mother": {"given_names": "Sophia", "family_name": "Beispiel", "birth_date": "1994-05-02", "birth_place": "Bremen",
                   "address": {"street": "Am Markt", "house_number": "1", "postcode": "28195", "city": "Bremen"}},
        "child": {"given_names": "Mia", "family_name": "Beispiel", "birth_date": "2021-03-14", "birth_place": "Bremen", "born_abroad": false},
        "delivery": "download"
    });
    let interval = Duration::from_millis(1000 / RATE_PER_SECOND);
    let started = Instant::now();
    let (mut accepted, mut issued): (Vec<Duration>, Vec<Duration>) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..REQUESTS)
            .map(|n| {
                let due = started + interval * n as u32;
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                let (runtime, token, application) = (&runtime, &token, &application);
                scope.spawn(move || {
                    let sent = Instant::now();
                    let submitted = runtime.send("POST", "/api/v1/requests", Some(token), Some(application));
                    assert_eq!(submitted.status, 202);
                    let accepted = sent.elapsed();
                    let path = format!("/api/v1/requests/{}", submitted.body["id"].as_str().expect("id"));
                    loop {
                        if runtime.get(&path, Some(token)).body["status"] == "issued" {
                            return (accepted, sent.elapsed());
                        }
                        assert!(sent.elapsed() < Duration::from_secs(60), "not issued within a minute");
                        std::thread::sleep(Duration::from_millis(2));
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("request thread")).unzip()
    });
    accepted.sort();
    issued.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (what, samples) in [("submit → 202 (peer)", &accepted), ("submit → issued", &issued)] {
        println!(
            "{what} at {RATE_PER_SECOND}/s, {REQUESTS} requests: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(percentile(samples, 0.5)),
            ms(percentile(samples, 0.99)),
            ms(*samples.last().expect("samples"))
        );
    }
    println!(
        "issued / accepted, p50: {:.1}×",
        percentile(&issued, 0.5).as_secs_f64() / percentile(&accepted, 0.5).as_secs_f64()
    );
}
