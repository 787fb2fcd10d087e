//! Starts the real runtime binary on a free port with its own data directory and talks to it
//! over HTTP, as a browser or an integrator would.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `sorgeregister` binary next to the test executable (built by `cargo test --workspace`
/// or `cargo build`), or the one named by `SORGEREGISTER_BIN`.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SORGEREGISTER_BIN") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps");
    let binary = profile_dir.join("sorgeregister");
    assert!(binary.exists(), "{} is missing: run `cargo build --bin sorgeregister` first", binary.display());
    binary
}

pub struct Runtime {
    child: Child,
    pub url: String,
    agent: ureq::Agent,
}

pub struct Response {
    pub status: u16,
    pub body: Value,
}

impl Runtime {
    /// Starts the runtime on `data_dir` and waits until it answers `/health`.
    pub fn start(data_dir: &Path) -> Runtime {
        let mut child = Command::new(binary())
            .env("PORT", "0")
            .env("DATA_DIR", data_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the runtime starts");
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first_line)
            .expect("the runtime prints its URL");
        let url = first_line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {first_line:?}"))
            .trim_end_matches('/')
            .to_owned();
        let agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let runtime = Runtime { child, url, agent };
        let deadline = Instant::now() + Duration::from_secs(10);
        while runtime.get("/health", None).status != 200 {
            assert!(Instant::now() < deadline, "the runtime did not become healthy");
            std::thread::sleep(Duration::from_millis(50));
        }
        runtime
    }

    /// Ends the process at once (SIGKILL), as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A token for a development persona.
    pub fn login(&self, persona: &str) -> String {
        let response = self.send("POST", "/dev/login", None, Some(&serde_json::json!({ "persona": persona })));
        assert_eq!(response.status, 200, "login as {persona}: {}", response.body);
        response.body["token"].as_str().expect("token").to_owned()
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.send("GET", path, token, None)
    }

    pub fn send(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Response {
        self.send_with_headers(method, path, token, body, &[])
    }

    pub fn send_with_headers(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        match body {
            Some(json) => self.send_raw(
                method,
                path,
                token,
                &[headers, &[("content-type", "application/json")]].concat(),
                &json.to_string(),
            ),
            None => self.send_raw(method, path, token, headers, ""),
        }
    }

    /// Sends `body` as it is, whatever it contains.
    pub fn send_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Response {
        let mut request = ureq::http::Request::builder().method(method).uri(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response =
            self.agent.run(request.body(body.to_owned()).expect("valid request")).expect("the runtime answers");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Response { status, body }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
