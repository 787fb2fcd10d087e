//! The whole service over HTTP: the runtime binary is started on a free port with its own data
//! directory, as `cargo run` would start it.

use serde_json::{Value, json};
use system_tests::Runtime;

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
