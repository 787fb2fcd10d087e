//! The `sorgeregister` binary refuses a bad configuration with a clear message instead of
//! starting half-way, and its `tenant` commands let operators subscribe offices.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use system_tests::Runtime;

fn run(env: &[(&str, &str)]) -> (bool, String) {
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_sorgeregister"))
        .env("DATA_DIR", data.path())
        .env("PORT", "0")
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn an_unknown_backend_is_refused_by_name() {
    let (ok, stderr) = run(&[("BACKEND", "mainframe")]);
    assert!(!ok);
    assert!(stderr.contains("BACKEND=mainframe"), "{stderr}");
}

#[test]
fn a_port_that_is_no_number_is_refused() {
    let (ok, stderr) = run(&[("PORT", "drei")]);
    assert!(!ok);
    assert!(stderr.contains("PORT"), "{stderr}");
}

#[test]
fn an_unknown_crash_point_is_refused() {
    let (ok, stderr) = run(&[("CRASH_ON_SEND", "everywhere")]);
    assert!(!ok);
    assert!(stderr.contains("CRASH_ON_SEND"), "{stderr}");
}

/// Runs `sorgeregister tenant <command> <file>` on `data`, with `tenant` written to the file.
fn tenant(data: &Path, command: &str, tenant: &Value) -> (bool, String, String) {
    let file = data.join("tenant.json");
    std::fs::write(&file, tenant.to_string()).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_sorgeregister"))
        .args(["tenant", command])
        .arg(&file)
        .env("DATA_DIR", data)
        .env_remove("BACKEND")
        .output()
        .expect("the binary runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

fn verden() -> Value {
    json!({
        "id": "jugendamt-verden", "name": "Jugendamt Landkreis Verden",
        "address": {"street": "Lindhooper Straße", "house_number": "67", "postcode": "27283", "city": "Verden (Aller)"},
        "phone": "+49 4231 15-0", "email": "jugendamt@landkreis-verden.example",
        "postcodes": ["27283", "27299"], "municipalities": ["Verden (Aller)", "Achim"],
        "connected": true, "auto_issue": true, "retention_days": 365
    })
}

fn precheck(runtime: &Runtime, postcode: &str) -> Value {
    let answers = json!({
        "applicant": "mother", "child_under_18": true, "mother_adult": true, "married_to_father": "no",
        "sorgeerklaerung": "no", "court_decision": "no", "foreign_joint_custody": "no",
        "residence_postcode": postcode, "child_born_abroad": false
    });
    runtime.send("POST", "/api/v1/precheck", None, Some(&answers)).body
}

#[test]
fn an_added_tenant_takes_requests_from_its_area() {
    let data = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = tenant(data.path(), "add", &verden());
    assert!(ok, "{stderr}");
    assert!(stdout.contains("jugendamt-verden"), "{stdout}");

    let runtime = Runtime::start(data.path());
    let checked = precheck(&runtime, "27299");
    assert_eq!(
        (checked["eligible"].as_bool(), checked["office"]["id"].as_str()),
        (Some(true), Some("jugendamt-verden"))
    );
    assert_eq!(precheck(&runtime, "28195")["office"]["id"], "jugendamt-bremen", "the demo offices are still there");
    drop(runtime);

    let (ok, _, stderr) = tenant(data.path(), "add", &verden());
    assert!(!ok && stderr.contains("tenant update"), "adding twice is refused: {stderr}");
    let mut moved = verden();
    moved["postcodes"] = json!(["27283"]);
    let (ok, _, stderr) = tenant(data.path(), "update", &moved);
    assert!(ok, "{stderr}");
    let runtime = Runtime::start(data.path());
    assert!(precheck(&runtime, "27299")["office"].is_null(), "27299 left the area");
}

#[test]
fn an_invalid_tenant_file_names_every_wrong_field() {
    let data = tempfile::tempdir().unwrap();
    let mut invalid = verden();
    invalid["email"] = json!("keine-adresse");
    invalid["address"]["postcode"] = json!("2728");
    invalid.as_object_mut().unwrap().remove("retention_days");
    let (ok, _, stderr) = tenant(data.path(), "add", &invalid);
    assert!(!ok);
    for field in ["email", "address.postcode", "retention_days"] {
        assert!(stderr.contains(&format!("{field}: ")), "{field} in {stderr}");
    }

    std::fs::write(data.path().join("kaputt.json"), "{").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_sorgeregister"))
        .args(["tenant", "add"])
        .arg(data.path().join("kaputt.json"))
        .env("DATA_DIR", data.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("kein gültiges JSON"));
}

#[test]
fn a_tenant_reaching_into_another_offices_area_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let mut greedy = verden();
    greedy["postcodes"] = json!(["27283", "28195"]);
    let (ok, _, stderr) = tenant(data.path(), "add", &greedy);
    assert!(!ok);
    assert!(stderr.contains("jugendamt-bremen") && stderr.contains("28195"), "{stderr}");
    let runtime = Runtime::start(data.path());
    assert_eq!(precheck(&runtime, "28195")["office"]["id"], "jugendamt-bremen", "nothing was stored");
    assert!(precheck(&runtime, "27283")["office"].is_null());
}

#[test]
fn tenant_without_a_command_shows_the_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_sorgeregister")).arg("tenant").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("tenant add"));
}
