//! The function's bootstrap refuses to start without the identity provider it takes tokens of,
//! naming what is missing, instead of starting and refusing every citizen with a 401.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn start(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_drafts"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", "0")
        .env("AWS_REGION", "eu-central-1")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the bootstrap starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
            return (status.code(), text);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    (None, String::new())
}

#[test]
fn without_its_identity_provider_the_function_does_not_start_and_says_why() {
    let (code, log) = start(&[("CITIZEN_ISSUER", "https://sorgeregister.example/saml")]);
    assert!(matches!(code, Some(c) if c != 0), "it stops: {code:?}");
    assert!(log.contains("CITIZEN_AUDIENCE is not set"), "the log names the variable: {log}");
    assert!(log.contains("function stopped"), "{log}");
}
