//! An independent SMTP server for the mail tests: aiosmtpd (PyPI) on loopback, keeping every
//! mail it accepts in a maildir and refusing addresses that start with `bounce`
//! (tests/smtp/refusing.py).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::saml_idp::python;

/// The server process; stopped when dropped.
pub struct TestSmtp {
    process: Child,
    maildir: PathBuf,
}

impl TestSmtp {
    /// Starts the server on `port` with its maildir under `dir`.
    pub fn start(port: u16, dir: &Path) -> TestSmtp {
        let maildir = dir.join("maildir");
        let process = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "refusing.Refusing"])
            .arg(&maildir)
            .env("PYTHONPATH", Path::new(env!("CARGO_MANIFEST_DIR")).join("smtp"))
            .stdout(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts (in the venv: scripts/test installs it)");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "aiosmtpd did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        TestSmtp { process, maildir }
    }

    /// The mails it accepted, as received (RFC 5322 text).
    pub fn mails(&self) -> Vec<String> {
        let new = self.maildir.join("new");
        let Ok(entries) = std::fs::read_dir(&new) else { return Vec::new() };
        entries.map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap()).collect()
    }
}

impl Drop for TestSmtp {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
