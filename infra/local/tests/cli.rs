//! The `sorgeregister` binary refuses a bad configuration with a clear message instead of
//! starting half-way.

use std::process::Command;

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
