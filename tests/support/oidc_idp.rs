//! The offices' identity provider of the sign-in tests: oidc-provider from npm
//! (tests/oidc_idp/provider.mjs) on loopback, and a browser that walks through it: cookies per
//! origin and path, redirects followed one by one.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use crate::saml_idp::free_port;

/// The provider process; stopped when dropped.
pub struct TestProvider {
    process: Child,
    /// `http://127.0.0.1:<port>`, its issuer.
    pub issuer: String,
}

impl TestProvider {
    /// Starts the provider for the service at `service` (its callback and signed-out page).
    pub fn start(service: &str) -> TestProvider {
        let port = free_port();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc_idp");
        let mut process = Command::new("node")
            .arg(root.join("provider.mjs"))
            .args(["--port", &port.to_string()])
            .args(["--redirect-uri", &format!("{service}/amt/anmelden/callback")])
            .args(["--post-logout-redirect-uri", &format!("{service}/amt/abgemeldet")])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the test provider starts (node; scripts/test runs npm ci in tests/oidc_idp)");
        let mut ready = String::new();
        BufReader::new(process.stdout.take().expect("stdout")).read_line(&mut ready).expect("the provider speaks");
        assert_eq!(ready.trim(), "ready", "the test provider did not start");
        TestProvider { process, issuer: format!("http://127.0.0.1:{port}") }
    }

    /// Makes the next ID token it hands out a hostile one (see provider.mjs).
    pub fn tamper_next(&self, mode: &str) {
        let browser = Browser::new();
        assert_eq!(browser.get(&format!("{}/test/tamper?mode={mode}", self.issuer)).status, 200);
    }
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// What a server answered the browser.
#[derive(Debug)]
pub struct Page {
    pub url: String,
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Page {
    /// The value of `attribute` of the first element that has `marker` in it (`name="xsrf"`).
    pub fn attribute_after(&self, marker: &str, attribute: &str) -> Option<String> {
        let start = self.body.find(marker)?;
        let element_start = self.body[..start].rfind('<')?;
        let element_end = start + self.body[start..].find('>')?;
        let element = &self.body[element_start..element_end];
        let key = format!("{attribute}=\"");
        let value_start = element.find(&key)? + key.len();
        let value_end = value_start + element[value_start..].find('"')?;
        Some(element[value_start..value_end].replace("&amp;", "&"))
    }

    /// Whether the answer set `name` to a value (not just cleared it).
    pub fn sets_cookie(&self, name: &str) -> bool {
        self.set_cookies.iter().any(|cookie| {
            cookie.starts_with(&format!("{name}="))
                && !cookie.starts_with(&format!("{name}=;"))
                && !cookie.contains("Max-Age=0")
        })
    }
}

/// A browser without JavaScript: it keeps cookies by origin, name and path, and sends those
/// whose path fits.
pub struct Browser {
    agent: ureq::Agent,
    /// (origin, path, name) → value.
    cookies: Mutex<BTreeMap<(String, String, String), String>>,
}

fn origin_and_path(url: &str) -> (String, String) {
    let parsed = url::Url::parse(url).expect("an absolute URL");
    (parsed.origin().ascii_serialization(), parsed.path().to_owned())
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        let agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
        Browser { agent, cookies: Mutex::new(BTreeMap::new()) }
    }

    /// The cookie `name` this browser holds for `origin`, whatever its path.
    pub fn cookie(&self, origin: &str, name: &str) -> Option<String> {
        let cookies = self.cookies.lock().unwrap();
        cookies.iter().find(|((o, _, n), _)| o == origin && n == name).map(|(_, value)| value.clone())
    }

    /// Sets a cookie as a server would have (for hand-made sessions).
    pub fn set_cookie(&self, origin: &str, path: &str, name: &str, value: &str) {
        self.cookies.lock().unwrap().insert((origin.into(), path.into(), name.into()), value.into());
    }

    pub fn get(&self, url: &str) -> Page {
        self.send("GET", url, None, &[])
    }

    /// Posts a form as a browser does from a page of the same origin.
    pub fn post(&self, url: &str, form: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(form).unwrap();
        let (origin, _) = origin_and_path(url);
        self.send("POST", url, Some(body), &[("origin", origin.as_str())])
    }

    /// Follows redirects from `page` (as GETs) until an answer that is none, or one to `stop_at`
    /// (a URL prefix), which is not fetched.
    pub fn follow(&self, mut page: Page, stop_at: Option<&str>) -> Page {
        for _ in 0..20 {
            let Some(location) = page.location.clone().filter(|_| (300..400).contains(&page.status)) else {
                return page;
            };
            let next = url::Url::parse(&page.url).unwrap().join(&location).unwrap().to_string();
            if stop_at.is_some_and(|prefix| next.starts_with(prefix)) {
                return page;
            }
            page = self.get(&next);
        }
        panic!("too many redirects, last {}", page.url)
    }

    fn send(&self, method: &str, url: &str, form: Option<String>, headers: &[(&str, &str)]) -> Page {
        let (origin, path) = origin_and_path(url);
        let cookie: Vec<String> = {
            let cookies = self.cookies.lock().unwrap();
            cookies
                .iter()
                .filter(|((o, p, _), _)| {
                    *o == origin
                        && (path == *p || path.starts_with(&format!("{}/", p.trim_end_matches('/'))) || p == "/")
                })
                .map(|((_, _, name), value)| format!("{name}={value}"))
                .collect()
        };
        let mut request = ureq::http::Request::builder().method(method).uri(url);
        if !cookie.is_empty() {
            request = request.header("cookie", cookie.join("; "));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if form.is_some() {
            request = request.header("content-type", "application/x-www-form-urlencoded");
        }
        let request = request.body(form.unwrap_or_default().into_bytes()).unwrap();
        let mut response = self.agent.run(request).unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let set_cookies: Vec<String> =
            response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        for set in &set_cookies {
            self.keep(&origin, set);
        }
        let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
        Page {
            url: url.to_owned(),
            status: response.status().as_u16(),
            location,
            set_cookies,
            body: response.body_mut().read_to_string().unwrap_or_default(),
        }
    }

    fn keep(&self, origin: &str, set_cookie: &str) {
        let mut parts = set_cookie.split(';').map(str::trim);
        let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else { return };
        let mut path = "/".to_owned();
        let mut gone = value.is_empty();
        for attribute in parts {
            let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
            match key.to_ascii_lowercase().as_str() {
                "path" => path = val.to_owned(),
                "max-age" => gone |= val.parse::<i64>().is_ok_and(|age| age <= 0),
                "expires" => gone |= val.contains("1970"),
                _ => {}
            }
        }
        let key = (origin.to_owned(), path, name.to_owned());
        let mut cookies = self.cookies.lock().unwrap();
        if gone {
            cookies.remove(&key);
        } else {
            cookies.insert(key, value.to_owned());
        }
    }
}
