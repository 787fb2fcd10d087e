//! The `sorgeregister` binary refuses a bad configuration with a clear message instead of
//! starting half-way; its `tenant` commands let operators subscribe offices, its `places`
//! commands replace the directory of municipalities, and neither touches demo data.

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

/// Runs `sorgeregister <args>` on `data`.
fn operator(data: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_sorgeregister"))
        .args(args)
        .env("DATA_DIR", data)
        .env_remove("BACKEND")
        .output()
        .expect("the binary runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

/// Runs `sorgeregister tenant <command> <file>` on `data`, with `tenant` written to the file.
fn tenant(data: &Path, command: &str, tenant: &Value) -> (bool, String, String) {
    let file = data.join("tenant.json");
    std::fs::write(&file, tenant.to_string()).unwrap();
    operator(data, &["tenant", command, file.to_str().unwrap()])
}

/// The offices the runtime on `data` knows, without seeding any (`DEMO_DATA=off`).
fn stored_offices(data: &Path) -> Vec<String> {
    let runtime = Runtime::start_with(data, &[("DEMO_DATA", "off")]);
    let offices = runtime.send("GET", "/api/v1/offices", None, None).body;
    offices.as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_owned()).collect()
}

fn verden() -> Value {
    json!({
        "id": "jugendamt-verden", "name": "Jugendamt Landkreis Verden",
        "address": {"street": "Lindhooper Straße", "house_number": "67", "postcode": "27283", "city": "Verden (Aller)"},
        "phone": "+49 4231 15-0", "email": "jugendamt@landkreis-verden.example",
        "municipalities": [{"ags": "03361012", "name": "Verden (Aller), Stadt"}, "Achim"],
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

    assert_eq!(stored_offices(data.path()), ["jugendamt-verden"], "an operator's command seeds no demo office");

    let runtime = Runtime::start(data.path());
    let checked = precheck(&runtime, "28832");
    assert_eq!(
        (checked["eligible"].as_bool(), checked["office"]["id"].as_str()),
        (Some(true), Some("jugendamt-verden"))
    );
    assert_eq!(
        precheck(&runtime, "28195")["office"]["id"],
        "jugendamt-bremen",
        "the demo offices come with the runtime"
    );
    drop(runtime);

    let (ok, _, stderr) = tenant(data.path(), "add", &verden());
    assert!(!ok && stderr.contains("tenant update"), "adding twice is refused: {stderr}");
    let mut moved = verden();
    moved["municipalities"] = json!([{"ags": "03361012"}]);
    let (ok, _, stderr) = tenant(data.path(), "update", &moved);
    assert!(ok, "{stderr}");
    let runtime = Runtime::start(data.path());
    assert!(precheck(&runtime, "28832")["office"].is_null(), "Achim left the area");
}

#[test]
fn demo_offices_never_take_a_real_tenant_s_area() {
    let data = tempfile::tempdir().unwrap();
    let mut bremen = verden();
    bremen["id"] = json!("amt-fuer-soziale-dienste-bremen");
    bremen["municipalities"] = json!([{"ags": "04011000"}]);
    assert!(tenant(data.path(), "add", &bremen).0);
    let runtime = Runtime::start(data.path());
    assert_eq!(precheck(&runtime, "28195")["office"]["id"], "amt-fuer-soziale-dienste-bremen");
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
    drop(Runtime::start(data.path()));
    let mut greedy = verden();
    greedy["municipalities"] = json!([{"ags": "03361012"}, {"ags": "04011000"}]);
    let (ok, _, stderr) = tenant(data.path(), "add", &greedy);
    assert!(!ok);
    assert!(stderr.contains("jugendamt-bremen") && stderr.contains("04011000"), "{stderr}");
    let runtime = Runtime::start(data.path());
    assert_eq!(precheck(&runtime, "28195")["office"]["id"], "jugendamt-bremen", "nothing was stored");
    assert!(precheck(&runtime, "27283")["office"].is_null());
}

/// An excerpt of Destatis' GV100AD of 31.08.2025 (see tests/fixtures/README.md).
const GV100AD_EXCERPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/GV100AD_31082025_excerpt.txt");

#[test]
fn an_operator_replaces_the_directory_of_municipalities_without_a_code_change() {
    let data = tempfile::tempdir().unwrap();
    let (ok, stdout, _) = operator(data.path(), &["places", "show"]);
    assert!(ok && stdout.contains("Gebietsstand 2025-08-31: 10751 Gemeinden"), "the shipped copy: {stdout}");
    let (ok, stdout, stderr) = operator(data.path(), &["places", "import", GV100AD_EXCERPT]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("gespeichert"), "{stdout}");
    let (_, stdout, _) = operator(data.path(), &["places", "show"]);
    let excerpt = stdout.split(": ").nth(1).unwrap_or_default().to_owned();
    assert!(stdout.contains("Gebietsstand 2025-08-31") && !excerpt.starts_with("10751"), "{stdout}");
    // Bremen is in the excerpt, München is not: the runtime routes with the imported directory.
    let runtime = Runtime::start(data.path());
    assert_eq!(precheck(&runtime, "28195")["office"]["id"], "jugendamt-bremen");
    let unknown = runtime.send(
        "POST",
        "/api/v1/precheck",
        None,
        Some(&json!({
            "applicant": "mother", "child_under_18": true, "mother_adult": true, "married_to_father": "no",
            "sorgeerklaerung": "no", "court_decision": "no", "foreign_joint_custody": "no",
            "residence_postcode": "80331", "child_born_abroad": false
        })),
    );
    assert_eq!((unknown.status, unknown.body["error"]["fields"]["residence_postcode"].is_string()), (422, true));
}

#[test]
fn a_file_that_is_no_gv100ad_is_refused_and_nothing_changes() {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("GV100AD_kaputt.txt");
    std::fs::write(&file, "60 keine 220 Zeichen\n").unwrap();
    let (ok, _, stderr) = operator(data.path(), &["places", "import", file.to_str().unwrap()]);
    assert!(!ok && stderr.contains("nichts gespeichert") && stderr.contains("220"), "{stderr}");
    let (_, stdout, _) = operator(data.path(), &["places", "show"]);
    assert!(stdout.contains("10751 Gemeinden"), "{stdout}");
}

#[test]
fn tenant_without_a_command_shows_the_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_sorgeregister")).arg("tenant").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("tenant add"));
}
