//! Starts the real runtime binary on a free port with its own data directory and talks to it
//! over HTTP, as a browser or an integrator would.

pub mod chain;
pub mod emulator;
pub mod oidc_idp;
pub mod saml_idp;
pub mod smtp;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `sorgeregister` binary next to the test executable (built by `cargo test --workspace`
/// or `cargo build`), or the one named by `SORGEREGISTER_BIN`.
pub fn binary() -> PathBuf {
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
        Self::start_with(data_dir, &[])
    }

    /// Like `start`, with extra environment (fault injection, short visibility timeouts).
    pub fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> Runtime {
        let mut child = Command::new(binary())
            .env("PORT", "0")
            .env("DATA_DIR", data_dir)
            .env("RUST_LOG", "warn")
            .env("QUEUE_VISIBILITY_SECONDS", "1")
            .envs(env.iter().copied())
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
        let agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
        let runtime = Runtime { child, url, agent };
        let deadline = Instant::now() + Duration::from_secs(10);
        while runtime.get("/health", None).status != 200 {
            assert!(Instant::now() < deadline, "the runtime did not become healthy");
            std::thread::sleep(Duration::from_millis(50));
        }
        runtime
    }

    /// Waits until the process ends by itself (an injected crash); false if it is still running.
    pub fn wait_for_exit(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.child.try_wait().expect("process status").is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Polls the request as its owner until it reaches `status`.
    pub fn wait_for_status(&self, id: &str, token: &str, status: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let response = self.get(&format!("/api/v1/requests/{id}"), Some(token));
            if response.body["status"] == status {
                return response.body;
            }
            assert!(Instant::now() < deadline, "request {id} did not become {status}: {}", response.body);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Uploads `bytes` as her browser does without JavaScript, signed in with `cookie`: the first
    /// upload form of the page at `page` posts the file to the document store (S3 on moto, or
    /// the runtime's own `/documents`), which sends the browser back to a page of the runtime.
    /// The status and `Location` of that page; or, where the store refuses, its status and body.
    pub fn upload(&self, page: &str, cookie: &str, bytes: &[u8]) -> (u16, String) {
        let (status, _, html) = self.exchange("GET", page, &[("cookie", cookie)], Vec::new());
        assert_eq!(status, 200, "{page}");
        let forms = shared::testing::upload_forms(&String::from_utf8_lossy(&html));
        let form = forms.first().unwrap_or_else(|| panic!("{page} has an upload form"));
        let (content_type, body) = shared::testing::upload_body(form, "urkunde.jpg", bytes);
        let action =
            if form.action.starts_with('/') { format!("{}{}", self.url, form.action) } else { form.action.clone() };
        let request = ureq::http::Request::post(&action).header("content-type", content_type).body(body).unwrap();
        let mut stored = self.agent.run(request).expect("the document store answers");
        let location = stored.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let Some(back) = location.filter(|_| stored.status() == 303) else {
            let body = stored.body_mut().read_to_string().unwrap_or_default();
            return (stored.status().as_u16(), body);
        };
        let path = back.strip_prefix(&self.url).unwrap_or_else(|| panic!("back to the runtime: {back}"));
        let (status, headers, body) = self.exchange("GET", path, &[("cookie", cookie)], Vec::new());
        let location = headers.into_iter().find(|(k, _)| k == "location").map(|(_, v)| v);
        (status, location.unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned()))
    }

    /// Fetches raw bytes (documents) with the response headers.
    pub fn get_bytes(&self, path: &str, token: Option<&str>) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let authorization = token.map(|token| format!("Bearer {token}"));
        let headers: Vec<(&str, &str)> = authorization.iter().map(|value| ("authorization", value.as_str())).collect();
        self.exchange("GET", path, &headers, Vec::new())
    }

    /// Any request with exactly these headers: the status, the response headers and the body.
    pub fn exchange(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut request = ureq::http::Request::builder().method(method).uri(format!("{}{path}", self.url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = self.agent.run(request.body(body).expect("valid request")).expect("the runtime answers");
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        (response.status().as_u16(), headers, response.body_mut().read_to_vec().unwrap_or_default())
    }

    /// Whether the process has ended (an injected crash).
    pub fn has_exited(&mut self) -> bool {
        self.child.try_wait().expect("process status").is_some()
    }

    /// Like `send_with_headers` with a JSON body, but `None` where the runtime does not answer
    /// (it crashed).
    pub fn try_send_with_headers(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Option<Response> {
        let headers = [headers, &[("content-type", "application/json")]].concat();
        self.try_send_raw(method, path, token, &headers, &body.to_string()).ok()
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
        self.try_send_raw(method, path, token, headers, body).expect("the runtime answers")
    }

    fn try_send_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<Response, ureq::Error> {
        let mut request = ureq::http::Request::builder().method(method).uri(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = self.agent.run(request.body(body.to_owned()).expect("valid request"))?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Ok(Response { status, body })
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Text of a PDF, as `pdftotext` extracts it.
pub fn pdftotext(pdf: &[u8]) -> String {
    pdftotext_with(pdf, &[])
}

/// The text of page 1 inside a rectangle, in millimetres from the top left corner (`x`, `y`,
/// width, height), e.g. the address field of a letter.
pub fn pdftotext_in(pdf: &[u8], (x, y, width, height): (f64, f64, f64, f64)) -> String {
    // At pdftotext's 72 dpi one point is one pixel.
    let pt = |mm: f64| ((mm * 72.0 / 25.4).round() as i64).to_string();
    let (x, y, width, height) = (pt(x), pt(y), pt(width), pt(height));
    pdftotext_with(pdf, &["-f", "1", "-l", "1", "-x", &x, "-y", &y, "-W", &width, "-H", &height])
}

fn pdftotext_with(pdf: &[u8], args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("document.pdf");
    std::fs::write(&path, pdf).expect("write PDF");
    let output = Command::new("pdftotext")
        .args(args)
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext is installed (poppler-utils; scripts/test installs it)");
    assert!(output.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8 text")
}

/// `xmllint --schema` against the project's XFamilie schema; returns its report on failure.
pub fn validate_xfamilie(xml: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("message.xml");
    std::fs::write(&path, xml).expect("write XML");
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/schema/sorge-alleinsorge.xsd");
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&path)
        .output()
        .expect("xmllint is installed (libxml2-utils; scripts/test installs it)");
    if output.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&output.stderr).into_owned()) }
}
