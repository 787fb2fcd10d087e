//! The whole service over HTTP: the runtime binary is started on a free port with its own data
//! directory, as `cargo run` would start it.

use serde_json::{Value, json};
use std::time::Duration;

use system_tests::{Runtime, pdftotext, validate_xfamilie};

fn application() -> Value {
    json!({
        "applicant": {"role": "mother"},
        "mother": {
            "given_names": "Sophia", "family_name": "Beispiel", "birth_date": "1994-05-02", "birth_place": "Bremen",
            "address": {"street": "Am Markt", "house_number": "1", "postcode": "28195", "city": "Bremen"}
        },
        "child": {"given_names": "Mia", "family_name": "Beispiel", "birth_date": "2021-03-14", "birth_place": "Cuxhaven", "born_abroad": false},
        "delivery": "download"
    })
}

#[test]
fn a_mother_checks_drafts_and_submits_and_sees_her_request() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::start(dir.path());

    let precheck = json!({
        "applicant": "mother", "child_under_18": true, "mother_adult": true, "married_to_father": "no",
        "sorgeerklaerung": "unknown", "court_decision": "no", "foreign_joint_custody": "no",
        "residence_postcode": "28195", "child_born_abroad": false
    });
    let checked = runtime.send("POST", "/api/v1/precheck", None, Some(&precheck));
    assert_eq!(checked.status, 200);
    assert_eq!(checked.body["eligible"], true, "'I don't know' does not block");
    assert_eq!(checked.body["office"]["id"], "jugendamt-bremen");

    let mother = runtime.login("mother");
    let draft =
        runtime.send("PUT", "/api/v1/drafts/entwurf-1", Some(&mother), Some(&json!({"child": {"given_names": "Mia"}})));
    assert_eq!(draft.status, 200);
    assert!(draft.body["expires_at"].is_string());

    let mut body = application();
    body["draft_id"] = json!("entwurf-1");
    let key = [("Idempotency-Key", "e2e-1")];
    let submitted = runtime.send_with_headers("POST", "/api/v1/requests", Some(&mother), Some(&body), &key);
    assert_eq!(submitted.status, 202, "{}", submitted.body);
    let id = submitted.body["id"].as_str().unwrap().to_owned();
    let again = runtime.send_with_headers("POST", "/api/v1/requests", Some(&mother), Some(&body), &key);
    assert_eq!(again.body["id"], id.as_str(), "a retried submission is the same request");

    assert_eq!(runtime.get("/api/v1/drafts/entwurf-1", Some(&mother)).status, 404, "the draft is used up");

    let status = runtime.get(&format!("/api/v1/requests/{id}"), Some(&mother));
    assert_eq!(status.status, 200);
    assert_eq!(status.body["office"]["id"], "jugendamt-bremen");
    assert_eq!(status.body["timeline"][0]["status"], "submitted");

    let other = runtime.login("other-mother");
    assert_eq!(runtime.get(&format!("/api/v1/requests/{id}"), Some(&other)).status, 404);
}

#[test]
fn a_request_survives_a_crash_of_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::start(dir.path());
    let mother = runtime.login("mother");
    let submitted = runtime.send("POST", "/api/v1/requests", Some(&mother), Some(&application()));
    assert_eq!(submitted.status, 202);
    let id = submitted.body["id"].as_str().unwrap().to_owned();
    runtime.kill();

    let restarted = Runtime::start(dir.path());
    let status = restarted.get(&format!("/api/v1/requests/{id}"), Some(&mother));
    assert_eq!(status.status, 200, "the token and the request outlive the process: {}", status.body);
    assert_eq!(status.body["id"], id.as_str());
}

#[test]
fn invalid_input_is_422_and_never_a_server_error() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::start(dir.path());
    let mother = runtime.login("mother");
    let mut body = application();
    body["child"]["given_names"] = json!("]] #set page(width: 1cm)");
    body["mother"]["address"]["postcode"] = json!("ABCDE");
    let refused = runtime.send("POST", "/api/v1/requests", Some(&mother), Some(&body));
    assert_eq!(refused.status, 422);
    let fields = refused.body["error"]["fields"].as_object().unwrap();
    assert!(fields.contains_key("child.given_names") && fields.contains_key("mother.address.postcode"));

    let json = [("content-type", "application/json")];
    for garbage in ["", "{", "[]", "null", "\"x\"", "{\"child\": {\"given_names\": 7}}", "\u{0}"] {
        let response = runtime.send_raw("POST", "/api/v1/requests", Some(&mother), &json, garbage);
        assert!((400..500).contains(&response.status), "{garbage:?} gave {}", response.status);
        assert!(response.body["error"]["code"].is_string(), "{garbage:?} is answered in the contract's error format");
    }

    assert_eq!(runtime.get("/api/v1/nothing-here", None).status, 404);
}

#[test]
fn tokens_are_verified_on_every_call() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::start(dir.path());
    let token = runtime.login("mother");
    let mut tampered: Vec<char> = token.chars().collect();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    assert_eq!(runtime.get("/api/v1/drafts/x", Some(&tampered)).status, 401);
    assert_eq!(runtime.get("/api/v1/drafts/x", None).status, 401);
    assert_eq!(runtime.get("/api/v1/drafts/x", Some(&token)).status, 404);
    let staff = runtime.login("staff-bremen");
    assert_eq!(runtime.get("/api/v1/drafts/x", Some(&staff)).status, 403, "staff tokens do not speak for citizens");
    assert_eq!(runtime.send("POST", "/dev/login", None, Some(&json!({"persona": "mallory"}))).status, 422);
}

#[test]
fn the_login_page_lists_every_persona() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::start(dir.path());
    let page = runtime.get("/anmelden", None);
    assert_eq!(page.status, 200);
    let html = page.body.as_str().unwrap();
    for persona in
        ["mother", "mother-basic", "other-mother", "representative", "staff-bremen", "staff-cuxhaven", "admin"]
    {
        assert!(html.contains(&format!("value=\"{persona}\"")), "{persona}");
    }
}

/// Sophia's request, submitted and issued: her token, its id and its status.
fn issued(runtime: &Runtime) -> (String, String, serde_json::Value) {
    let mother = runtime.login("mother");
    let submitted = runtime.send("POST", "/api/v1/requests", Some(&mother), Some(&application()));
    let id = submitted.body["id"].as_str().unwrap().to_owned();
    let status = runtime.wait_for_status(&id, &mother, "issued", Duration::from_secs(20));
    (mother, id, status)
}

#[test]
fn a_mother_gets_her_certificate_in_seconds_and_a_kita_can_check_it() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::start(dir.path());
    let (mother, id, status) = issued(&runtime);
    let code = status["certificate"]["code"].as_str().unwrap().to_owned();
    let texts: Vec<&str> =
        status["timeline"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(texts, ["submitted", "prepared", "issued"]);

    let (redirect, headers, _) = runtime.get_bytes(&format!("/api/v1/requests/{id}/certificate"), Some(&mother));
    assert_eq!(redirect, 302);
    let location = headers.iter().find(|(k, _)| k == "location").map(|(_, v)| v.clone()).expect("Location");
    assert!(location.contains("expires="), "the link is short-lived: {location}");
    let (downloaded, headers, pdf) = runtime.get_bytes(&location, None);
    assert_eq!(downloaded, 200);
    assert!(headers.iter().any(|(k, v)| k == "content-type" && v == "application/pdf"));
    let text = pdftotext(&pdf);
    for expected in ["Mia", "Beispiel", "Cuxhaven", "Jugendamt Bremen"] {
        assert!(text.contains(expected), "{expected} in the certificate: {text}");
    }
    let (tampered, _, _) = runtime.get_bytes(&location.replace("expires=", "expires=9"), None);
    assert_eq!(tampered, 403, "a changed link does not work");

    let other = runtime.login("other-mother");
    assert_eq!(runtime.get_bytes(&format!("/api/v1/requests/{id}/certificate"), Some(&other)).0, 404);

    let verified = runtime.get(&format!("/api/v1/verify/{code}?birth_date=2021-03-14"), None);
    assert_eq!(verified.body["valid"], true);
    assert_eq!(verified.body["office"]["id"], "jugendamt-bremen");
    assert_eq!(verified.body["child_given_names"], "Mia", "her first name only, to compare with the paper");
    let code_alone = runtime.get(&format!("/api/v1/verify/{code}"), None);
    assert_eq!(
        code_alone.body,
        serde_json::json!({"valid": false, "status": "unknown"}),
        "a code alone proves nothing"
    );
}

#[test]
fn someone_trying_dates_of_birth_is_stopped_per_client_and_per_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::start(dir.path());
    let (_, _, status) = issued(&runtime);
    let code = status["certificate"]["code"].as_str().unwrap().to_owned();
    let check = |date: &str| runtime.get(&format!("/api/v1/verify/{code}?birth_date={date}"), None);
    // Five wrong dates in a row lock the certificate: then even the right one answers unknown.
    for day in 1..=5 {
        assert_eq!(check(&format!("2020-01-0{day}")).body["status"], "unknown");
    }
    assert_eq!(check("2021-03-14").body["status"], "unknown", "locked for a day");
    // And this client has had its checks for the minute (20): the next is refused, saying when.
    let answers: Vec<u16> = (0..20).map(|_| check("2021-03-14").status).collect();
    let refused = answers.iter().position(|status| *status == 429).expect("a 429 within the minute");
    assert_eq!(refused, 20 - 6, "after {} checks: {answers:?}", 20);
    let retry = runtime.exchange("GET", &format!("/api/v1/verify/{code}?birth_date=2021-03-14"), &[], Vec::new());
    assert_eq!(retry.0, 429);
    let wait: u64 =
        retry.1.iter().find(|(k, _)| k == "retry-after").map(|(_, v)| v.parse().unwrap()).expect("Retry-After");
    assert!((1..=60).contains(&wait), "{wait}");
}

#[test]
fn the_issuing_office_reads_the_request_and_its_xfamilie_messages_and_no_other_office_does() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::start(dir.path());
    let basic = runtime.login("mother-basic");
    let submitted = runtime.send("POST", "/api/v1/requests", Some(&basic), Some(&application()));
    let id = submitted.body["id"].as_str().unwrap().to_owned();
    runtime.wait_for_status(&id, &basic, "in_review", Duration::from_secs(20));

    let staff = runtime.login("staff-bremen");
    let detail = runtime.get(&format!("/api/v1/staff/requests/{id}"), Some(&staff));
    assert_eq!(detail.status, 200);
    assert_eq!(detail.body["register_result"]["review_reasons"][0]["reason"], "trust_level_too_low");
    for document in ["xfamilie.xml", "auskunft.xml"] {
        let (status, _, xml) = runtime.get_bytes(&format!("/api/v1/staff/requests/{id}/{document}"), Some(&staff));
        assert_eq!(status, 200, "{document}");
        validate_xfamilie(&xml).unwrap_or_else(|report| panic!("{document} is invalid: {report}"));
    }
    let (status, _, pdf) = runtime.get_bytes(&format!("/api/v1/staff/requests/{id}/antrag.pdf"), Some(&staff));
    assert_eq!(status, 200);
    assert!(pdftotext(&pdf).contains("Sophia"));

    let cuxhaven = runtime.login("staff-cuxhaven");
    for path in ["", "/xfamilie.xml", "/auskunft.xml", "/antrag.pdf"] {
        assert_eq!(runtime.get_bytes(&format!("/api/v1/staff/requests/{id}{path}"), Some(&cuxhaven)).0, 404, "{path}");
    }
    assert_eq!(
        runtime.get_bytes(&format!("/api/v1/staff/requests/{id}"), Some(&basic)).0,
        403,
        "citizens are not staff"
    );
}

#[test]
fn a_crash_between_two_steps_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut crashing = Runtime::start_with(dir.path(), &[("CRASH_ON_SEND", "prepared")]);
    let mother = crashing.login("mother");
    let key = [("Idempotency-Key", "crash-2")];
    // The crash may come before or after the answer to the submission; either is fine.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crashing.send_with_headers("POST", "/api/v1/requests", Some(&mother), Some(&application()), &key)
    }));
    assert!(crashing.wait_for_exit(Duration::from_secs(20)), "the runtime crashed after storing the prepared request");

    let restarted = Runtime::start(dir.path());
    let again = restarted.send_with_headers("POST", "/api/v1/requests", Some(&mother), Some(&application()), &key);
    let id = again.body["id"].as_str().unwrap().to_owned();
    let status = restarted.wait_for_status(&id, &mother, "issued", Duration::from_secs(30));
    let steps: Vec<&str> =
        status["timeline"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(steps, ["submitted", "prepared", "issued"], "every step once");
}

#[test]
fn a_crash_before_the_request_is_queued_is_healed_by_the_retried_submission() {
    let dir = tempfile::tempdir().unwrap();
    let mut crashing = Runtime::start_with(dir.path(), &[("CRASH_ON_SEND", "submitted")]);
    let mother = crashing.login("mother");
    let key = [("Idempotency-Key", "crash-1")];
    let url = crashing.url.clone();
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crashing.send_with_headers("POST", "/api/v1/requests", Some(&mother), Some(&application()), &key)
    }));
    assert!(crashing.wait_for_exit(Duration::from_secs(20)), "the runtime at {url} crashed mid-submission");

    let restarted = Runtime::start(dir.path());
    let retried = restarted.send_with_headers("POST", "/api/v1/requests", Some(&mother), Some(&application()), &key);
    assert_eq!(retried.status, 202);
    let id = retried.body["id"].as_str().unwrap();
    restarted.wait_for_status(id, &mother, "issued", Duration::from_secs(30));
}

/// She pressed "Absenden" and lost the connection: the runtime died as it handed her request on,
/// and nobody sends it again. The hand-on was stored with the request, so the sweep sends it
/// after the deadline (60 s, swept every 15 s): the request is issued within 2 minutes.
#[test]
fn a_submission_whose_hand_on_was_lost_is_issued_by_the_sweep_without_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let mut crashing = Runtime::start_with(dir.path(), &[("CRASH_ON_SEND", "submitted")]);
    let mother = crashing.login("mother");
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crashing.send("POST", "/api/v1/requests", Some(&mother), Some(&application()))
    }));
    assert!(crashing.wait_for_exit(Duration::from_secs(20)), "the runtime crashed as it handed the request on");

    let started = std::time::Instant::now();
    let restarted = Runtime::start(dir.path());
    let listed = restarted.get("/api/v1/requests", Some(&mother));
    let id =
        listed.body[0]["id"].as_str().unwrap_or_else(|| panic!("her request is stored: {}", listed.body)).to_owned();
    assert_eq!(listed.body[0]["status"], "submitted", "nothing handed it on yet");
    let status = restarted.wait_for_status(&id, &mother, "issued", Duration::from_secs(120));
    eprintln!("recovered by the sweep {:.0} s after the restart", started.elapsed().as_secs_f64());
    let steps: Vec<&str> =
        status["timeline"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(steps, ["submitted", "prepared", "issued"], "every step once");
}
