//! The independent SAML identity provider of the BundID tests: pysaml2 with xmlsec1
//! (tests/saml_idp/idp.py) on loopback, with keys it makes at start.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The test IdP process; stopped when dropped.
pub struct TestIdp {
    process: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    dir: tempfile::TempDir,
}

impl TestIdp {
    /// Starts the IdP for the service provider whose metadata is at `sp_metadata_url` (fetched
    /// when the first request comes, so the service may start after the IdP).
    pub fn start(sp_metadata_url: &str) -> TestIdp {
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = free_port();
        let mut process = Command::new(python())
            .arg(workspace_root().join("tests/saml_idp/idp.py"))
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir.path())
            .args(["--sp-metadata-url", sp_metadata_url])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the test IdP starts (pysaml2 in the venv: scripts/test installs it)");
        let mut ready = String::new();
        BufReader::new(process.stdout.take().expect("stdout")).read_line(&mut ready).expect("the IdP speaks");
        assert_eq!(ready.trim(), "ready", "the test IdP did not start");
        TestIdp { process, base: format!("http://127.0.0.1:{port}"), dir }
    }

    /// The IdP's metadata, as `BUNDID_IDP_METADATA` names it.
    pub fn metadata_path(&self) -> PathBuf {
        self.dir.path().join("idp-metadata.xml")
    }
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The `value` of the hidden input `name` in the IdP's auto-posting form.
pub fn form_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    let value = html[start..end]
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'");
    Some(value)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The venv's Python with pysaml2 and aiosmtpd (scripts/test installs them).
pub fn python() -> PathBuf {
    if let Ok(python) = std::env::var("SAML_IDP_PYTHON") {
        return python.into();
    }
    let venv = std::env::var("SORGEREGISTER_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/sorgeregister-venv"));
    venv.join("bin/python")
}
