//! Test support for the function crates: a function's router wired to the embedded adapters
//! on a temporary database, a manual clock, and a test identity provider.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use tower::ServiceExt;

use crate::audit_keys::AuditKeys;
use crate::auth::{PrincipalKind, SigningKey, TrustedIssuer, Verifier};
use crate::domain::audit::AuditKey;
use crate::domain::office::{AreaMunicipality, Office, PostalAddress};
use crate::domain::places::Ags;
use crate::embedded::{Database, FsDocumentStore, QueueSettings, SqliteQueue, SqliteStateStore};
use crate::ports::{ManualClock, RandomIds, UploadForm};
use crate::records;
use crate::services::Services;
use crate::upload_policy::Refusal;

const ISSUER: &str = "urn:sorgeregister:test-idp";
const CITIZEN_AUDIENCE: &str = "citizen";
const STAFF_AUDIENCE: &str = "staff";

pub struct TestApp {
    pub services: Services,
    pub clock: Arc<ManualClock>,
    router: Router,
    key: SigningKey,
    /// The document store as the runtime's `POST /documents` reaches it.
    documents: Arc<FsDocumentStore>,
    _dir: tempfile::TempDir,
}

/// A connected office of the municipalities `keys` (AGS) at `postcode`, with example contact
/// data.
pub fn office(id: &str, postcode: &str, city: &str, keys: &[&str]) -> Office {
    Office {
        id: id.into(),
        name: format!("Jugendamt {city}"),
        address: PostalAddress {
            street: "Amtsweg".into(),
            house_number: "1".into(),
            postcode: postcode.into(),
            city: city.into(),
        },
        phone: "+49 000 000".into(),
        email: format!("{id}@example.org"),
        opening_hours: None,
        postcodes: vec![],
        municipalities: keys
            .iter()
            .map(|key| AreaMunicipality { ags: Ags::parse(key).expect("an AGS"), name: format!("{city}, Stadt") })
            .collect(),
        connected: true,
        auto_issue: true,
        required_documents: vec![],
        retention_days: 365,
        keeps_register_for_born_abroad: false,
        staff_identity_provider: None,
        letterhead: None,
    }
}

/// Offices of the tests: Bremen (connected), Hamburg (not connected), Berlin (register for
/// children born abroad).
pub fn offices() -> Vec<Office> {
    let hamburg = Office { connected: false, ..office("jugendamt-hamburg", "20095", "Hamburg", &["02000000"]) };
    let berlin =
        Office { keeps_register_for_born_abroad: true, ..office("jugendamt-berlin", "10117", "Berlin", &["11000000"]) };
    vec![office("jugendamt-bremen", "28195", "Bremen", &["04011000"]), hamburg, berlin]
}

impl TestApp {
    pub async fn new(router: Router<Services>) -> TestApp {
        Self::trusting(router, Vec::new()).await
    }

    /// Like [`TestApp::new`], also trusting `issuers` (e.g. the login's own session issuer).
    pub async fn trusting(router: Router<Services>, issuers: Vec<TrustedIssuer>) -> TestApp {
        let dir = tempfile::tempdir().expect("temporary directory");
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let database = Database::open(&dir.path().join("state.sqlite3")).expect("database");
        let key = SigningKey::generate().expect("test key");
        let trusted = |audience: &str, kind| TrustedIssuer {
            issuer: ISSUER.into(),
            audience: audience.into(),
            kind,
            keys: key.jwks().into(),
        };
        let documents = Arc::new(FsDocumentStore::new(dir.path().join("documents"), clock.clone()));
        let services = Services::new(
            Arc::new(SqliteStateStore::new(database.clone(), clock.clone())),
            documents.clone(),
            Arc::new(SqliteQueue::new(database, clock.clone(), Arc::new(RandomIds), QueueSettings::default())),
            clock.clone(),
            Arc::new(RandomIds),
            Arc::new(Verifier::new(
                [trusted(CITIZEN_AUDIENCE, PrincipalKind::Citizen), trusted(STAFF_AUDIENCE, PrincipalKind::Staff)]
                    .into_iter()
                    .chain(issuers)
                    .collect(),
            )),
        )
        .with_audit_keys(Arc::new(AuditKeys::fixed(AuditKey::new(b"the tests' audit key"))));
        let router = crate::http::contract_errors(router.with_state(services.clone()));
        let app = TestApp { services, clock, router, key, documents, _dir: dir };
        for office in offices() {
            app.put_office(&office).await;
        }
        app
    }

    /// Stores an office (new or changed) as the tenants API would: it counts at once.
    pub async fn put_office(&self, office: &Office) {
        records::put_office(&*self.services.store, office, false).await.expect("office stored");
        self.services.directory.invalidate();
    }

    fn token(&self, claims: Value, audience: &str) -> String {
        self.key.sign(claims, ISSUER, audience, OffsetDateTime::now_utc(), Duration::hours(1)).0
    }

    /// A citizen token with the given subject and trust level (`STORK-QAA-Level-1|3|4`).
    pub fn citizen(
        &self,
        sub: &str,
        given_name: &str,
        family_name: &str,
        birthdate: &str,
        trust_level: &str,
    ) -> String {
        self.token(
            json!({"sub": sub, "given_name": given_name, "family_name": family_name, "birthdate": birthdate, "trust_level": trust_level}),
            CITIZEN_AUDIENCE,
        )
    }

    /// A citizen token with exactly `claims` (as the identity provider states her), issued at
    /// `issued_at` for `lifetime`: an account with more data, a session that has ended.
    pub fn citizen_token(&self, claims: Value, issued_at: OffsetDateTime, lifetime: Duration) -> String {
        self.key.sign(claims, ISSUER, CITIZEN_AUDIENCE, issued_at, lifetime).0
    }

    /// Sophia Beispiel, logged in with her eID card.
    pub fn mother(&self) -> String {
        self.citizen("sophia", "Sophia", "Beispiel", "1994-05-02", "STORK-QAA-Level-4")
    }

    /// Another woman.
    pub fn other_mother(&self) -> String {
        self.citizen("lena", "Lena", "Muster", "1990-09-14", "STORK-QAA-Level-4")
    }

    /// A case worker of `office_id` (Anna Meyer).
    pub fn staff(&self, office_id: &str) -> String {
        self.staff_in_roles(office_id, "staff", "Anna Meyer", &["case_worker"])
    }

    /// Another case worker of `office_id` (Jonas Weber), for two-person cases.
    pub fn other_staff(&self, office_id: &str) -> String {
        self.staff_in_roles(office_id, "staff-2", "Jonas Weber", &["case_worker"])
    }

    /// A supervisor of `office_id`'s case workers.
    pub fn supervisor(&self, office_id: &str) -> String {
        self.staff_in_roles(office_id, "supervisor", "Petra Schulte", &["supervisor"])
    }

    /// The keeper of `office_id`'s custody register.
    pub fn office_admin(&self, office_id: &str) -> String {
        self.staff_in_roles(office_id, "office-admin", "Karl Brandt", &["office_admin"])
    }

    fn staff_in_roles(&self, office_id: &str, who: &str, name: &str, roles: &[&str]) -> String {
        let claims = json!({"sub": format!("{who}-{office_id}"), "name": name, "office_id": office_id, "roles": roles});
        self.token(claims, STAFF_AUDIENCE)
    }

    /// A case-management system (Fachverfahren) of `office_id`.
    pub fn machine(&self, office_id: &str) -> String {
        self.token(
            json!({"sub": format!("machine-{office_id}"), "office_id": office_id, "role": "machine"}),
            STAFF_AUDIENCE,
        )
    }

    /// An operator of the platform.
    pub fn admin(&self) -> String {
        self.token(json!({"sub": "admin", "role": "admin"}), STAFF_AUDIENCE)
    }

    /// Sends a request with an optional bearer token and JSON body; returns status and JSON.
    pub async fn call(&self, method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        self.call_with_headers(method, uri, token, body, &[]).await
    }

    /// Sends raw bytes with a content type (imports, uploads).
    pub async fn call_raw(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri).header(header::CONTENT_TYPE, content_type);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(request.body(Body::from(body)).expect("valid test request")).await
    }

    /// A document (PDF, XML) as bytes, with a bearer token.
    pub async fn get_bytes(&self, uri: &str, token: &str) -> (StatusCode, Vec<u8>) {
        let request = Request::builder()
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .expect("valid test request");
        let response = self.router.clone().oneshot(request).await.expect("router answers");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        (status, bytes.to_vec())
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.router.clone().oneshot(request).await.expect("router answers");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, json)
    }

    /// Posts `bytes` with one of a page's upload forms (see [`upload_forms`]) as a browser does,
    /// to the local document store's endpoint; answers where the browser goes next.
    pub async fn post_upload(&self, form: &UploadForm, bytes: &[u8]) -> Result<String, Refusal> {
        assert_eq!(form.action, "/documents", "a form to the local document store");
        let received = self.documents.receive_upload(&form.fields, bytes.to_vec()).await.expect("the store works");
        received.map(|next| next.expect("the form names where to go"))
    }

    /// A page as a browser asks for it, with `cookies` (`name=value; …`).
    pub async fn page_get(&self, uri: &str, cookies: &str) -> PageResponse {
        self.page_send("GET", uri, &[(header::COOKIE.as_str(), cookies)], None).await
    }

    /// A form posted from one of the service's own pages.
    pub async fn page_post(&self, uri: &str, cookies: &str, form: &[(&str, &str)]) -> PageResponse {
        let body = serde_urlencoded::to_string(form).expect("form pairs encode").into_bytes();
        let headers = [(header::COOKIE.as_str(), cookies), ("sec-fetch-site", "same-origin")];
        self.page_send("POST", uri, &headers, Some(("application/x-www-form-urlencoded", body))).await
    }

    /// Any page request: headers as given, and a body with its content type.
    pub async fn page_send(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> PageResponse {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers.iter().filter(|(_, value)| !value.is_empty()) {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some((content_type, bytes)) => request.header(header::CONTENT_TYPE, content_type).body(Body::from(bytes)),
            None => request.body(Body::empty()),
        }
        .expect("valid test request");
        let response = self.router.clone().oneshot(request).await.expect("router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        PageResponse { status, headers, html: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn call_with_headers(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some(body) => request.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .expect("valid test request");
        self.send(request).await
    }
}

/// A page's answer.
pub struct PageResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub html: String,
}

impl PageResponse {
    /// The HTML with the escapes of harmless characters undone (`/` in links, quotes), for
    /// comparing with what a browser shows.
    pub fn text(&self) -> String {
        self.html.replace("&#x2f;", "/").replace("&#x27;", "'").replace("&quot;", "\"")
    }

    /// Where a redirect leads.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The cookies set, as `name=value` (without attributes).
    pub fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .map(str::to_owned)
            .collect()
    }
}

/// The forms of a page that upload a file straight into the document store, as a browser
/// would post them: the address and the hidden fields, in order (the file goes last).
pub fn upload_forms(html: &str) -> Vec<UploadForm> {
    let attribute = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let value = &tag[start..start + tag[start..].find('"')?];
        Some(quick_xml::escape::unescape(value).expect("escaped as HTML").into_owned())
    };
    html.split("<form ")
        .skip(1)
        .filter_map(|form| form.split_once("</form>").map(|(inside, _)| inside))
        .filter(|form| form.contains("enctype=\"multipart/form-data\""))
        .map(|form| UploadForm {
            action: attribute(form, "action").expect("a form has an action"),
            fields: form
                .split("<input ")
                .skip(1)
                .filter(|tag| tag.starts_with("type=\"hidden\""))
                .filter_map(|tag| Some((attribute(tag, "name")?, attribute(tag, "value")?)))
                .collect(),
        })
        .collect()
}

/// The body of an upload form's post with `bytes` as the file `file_name` (the file last, as S3
/// requires), and its content type.
pub fn upload_body(form: &UploadForm, file_name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----grenze7d3f";
    let mut body = Vec::with_capacity(bytes.len() + 4096);
    for (name, value) in &form.fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            .bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The citizen's form, step by step, as a browser posts it: the demo mother and child of Bremen.
pub const FORM: [(&str, &[(&str, &str)]); 4] = [
    ("antragsteller", &[("applicant.role", "mother")]),
    (
        "mutter",
        &[
            ("mother.given_names", "Sophia"),
            ("mother.family_name", "Beispiel"),
            ("mother.birth_date.day", "2"),
            ("mother.birth_date.month", "5"),
            ("mother.birth_date.year", "1994"),
            ("mother.birth_place", "Bremen"),
            ("mother.address.street", "Am Markt"),
            ("mother.address.house_number", "1"),
            ("mother.address.postcode", "28195"),
            ("mother.address.city", "Bremen"),
        ],
    ),
    (
        "kind",
        &[
            ("child.given_names", "Mia"),
            ("child.family_name", "Beispiel"),
            ("child.birth_date.day", "14"),
            ("child.birth_date.month", "3"),
            ("child.birth_date.year", "2021"),
            ("child.born_abroad", "no"),
            ("child.birth_place", "Bremen"),
        ],
    ),
    ("zustellung", &[("delivery", "download"), ("contact.email", "sophia.beispiel@example.org")]),
];

/// The cookie of a citizen signed in with `token`, as pages carry it.
pub fn session(token: &str) -> String {
    format!("{}={token}", crate::web::SESSION_COOKIE)
}

/// The cookie of a staff member signed in with `token`, as the office's pages carry it.
pub fn staff_session(token: &str) -> String {
    format!("{}={token}", crate::web::STAFF_SESSION_COOKIE)
}
