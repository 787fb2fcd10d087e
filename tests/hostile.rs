//! The runtime as an attacker meets it: redirects that must stay on this site, requests that
//! axum's extractors refuse, bodies over every limit — all answered in the contract's format,
//! never a 5xx, never a dropped connection.

use base64::Engine as _;
use serde_json::{Value, json};
use system_tests::Runtime;

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Signs in as `mother` through the login form with `next` as sent by a hostile link.
fn login_with_next(runtime: &Runtime, next: &str) -> (u16, Option<String>) {
    let form = serde_urlencoded::to_string([("persona", "mother"), ("next", next)]).unwrap();
    let (status, headers, _) = runtime.exchange(
        "POST",
        "/dev/login",
        &[("content-type", "application/x-www-form-urlencoded"), ("sec-fetch-site", "same-origin")],
        form.into_bytes(),
    );
    (status, header(&headers, "location").map(str::to_owned))
}

#[test]
fn a_next_that_a_browser_would_read_as_another_site_falls_back_to_the_start() {
    let data = tempfile::tempdir().unwrap();
    let runtime = Runtime::start(data.path());
    assert_eq!(login_with_next(&runtime, "/antrag/kind"), (303, Some("/antrag/kind".into())));
    for hostile in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/%2F/evil.example",
        "https://evil.example",
        "javascript:alert(1)",
        " //evil.example",
        "/\u{7}/evil.example",
    ] {
        let (status, location) = login_with_next(&runtime, hostile);
        assert_eq!((status, location.as_deref()), (303, Some("/antrag")), "{hostile:?}");
    }
    // Control characters around it are dropped, as a browser drops them.
    assert_eq!(login_with_next(&runtime, "/amt\u{0}"), (303, Some("/amt".into())));
}

/// The contract's error: a JSON object `{"error": {"code", "message"}}`, with its language.
fn assert_contract_error(
    runtime: &Runtime,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
    status: u16,
) {
    let (got, response_headers, bytes) = runtime.exchange(method, path, headers, body);
    assert_eq!(got, status, "{method} {path}: {}", String::from_utf8_lossy(&bytes));
    assert!(
        header(&response_headers, "content-type").is_some_and(|v| v.starts_with("application/json")),
        "{method} {path}: {response_headers:?}"
    );
    let error: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert!(error["error"]["code"].is_string() && error["error"]["message"].is_string(), "{path}: {error}");
    assert!(header(&response_headers, "content-language").is_some(), "{path}");
}

#[test]
fn every_refusal_under_api_has_the_contract_s_shape() {
    let data = tempfile::tempdir().unwrap();
    let runtime = Runtime::start(data.path());
    let staff = format!("Bearer {}", runtime.login("staff-bremen"));
    let mother = format!("Bearer {}", runtime.login("mother"));
    let json = ("content-type", "application/json");
    assert_contract_error(&runtime, "GET", "/api/v1/nowhere", &[], vec![], 404);
    assert_contract_error(&runtime, "DELETE", "/api/v1/precheck", &[], vec![], 405);
    assert_contract_error(&runtime, "POST", "/api/v1/precheck", &[("content-type", "text/plain")], b"hi".to_vec(), 415);
    assert_contract_error(&runtime, "POST", "/api/v1/precheck", &[json], b"{\"applicant\": ".to_vec(), 400);
    // axum's own extractors: a query that does not deserialise, a path segment that is no UTF-8.
    assert_contract_error(&runtime, "GET", "/api/v1/offices?postcode=1&postcode=2", &[], vec![], 400);
    let staff_headers = [("authorization", staff.as_str())];
    assert_contract_error(
        &runtime,
        "GET",
        "/api/v1/staff/requests?status=new&status=issued",
        &staff_headers,
        vec![],
        400,
    );
    assert_contract_error(
        &runtime,
        "GET",
        "/api/v1/requests/%FF%FE",
        &[("authorization", mother.as_str())],
        vec![],
        400,
    );
    assert_contract_error(
        &runtime,
        "GET",
        "/api/v1/staff/requests",
        &[("authorization", "Bearer forged")],
        vec![],
        401,
    );
}

#[test]
fn a_body_over_every_limit_gets_a_413_not_a_reset() {
    let data = tempfile::tempdir().unwrap();
    let runtime = Runtime::start(data.path());
    let seven_megabytes = json!({"applicant": "x".repeat(7 * 1024 * 1024)}).to_string().into_bytes();
    assert_contract_error(
        &runtime,
        "POST",
        "/api/v1/precheck",
        &[("content-type", "application/json")],
        seven_megabytes,
        413,
    );
}

/// What Lambda would refuse, the runtime refuses: a 4.8 MB form post with a photo is 6.4 MB
/// once API Gateway has base64-encoded it. (The form's files go straight to the document
/// store; only a client that ignores the form sends one through a function.)
#[test]
fn a_form_post_over_lambdas_payload_limit_gets_the_413_page() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::start(dir.path());
    let cookie = format!("session={}", runtime.login("mother"));
    let mut body = b"--grenze\r\nContent-Disposition: form-data; name=\"upload.geburtsurkunde\"; \
        filename=\"foto.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff"
        .to_vec();
    body.resize(body.len() + 48 * 1024 * 1024 / 10, b'a');
    body.extend_from_slice(b"\r\n--grenze--\r\n");
    let headers = [
        ("cookie", cookie.as_str()),
        ("sec-fetch-site", "same-origin"),
        ("content-type", "multipart/form-data; boundary=grenze"),
    ];
    let (status, headers, page) = runtime.exchange("POST", "/antrag/kind", &headers, body);
    assert_eq!(status, 413);
    assert!(header(&headers, "content-type").is_some_and(|t| t.starts_with("text/html")));
    assert!(String::from_utf8_lossy(&page).contains("<title>"), "the styled error page");
}

/// The local document store's upload endpoint refuses, as S3 does, a post whose policy is not
/// the service's: forged, unsigned, without a file, or not a form at all; and stores nothing.
#[test]
fn the_local_document_store_refuses_posts_it_did_not_sign() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::start(dir.path());
    let policy = base64::engine::general_purpose::STANDARD
        .encode(json!({"expiration": "2099-01-01T00:00:00Z", "conditions": [["starts-with", "$key", ""]]}).to_string());
    let forged = shared::ports::UploadForm {
        action: "/documents".into(),
        fields: [
            ("key", "state.sqlite3"),
            ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
            ("x-amz-credential", "local/20261202/local/s3/aws4_request"),
            ("policy", policy.as_str()),
            ("x-amz-signature", "00"),
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .to_vec(),
    };
    let post = |form: &shared::ports::UploadForm| {
        let (content_type, body) = shared::testing::upload_body(form, "x.pdf", b"%PDF-1.7 overwritten");
        runtime.exchange("POST", "/documents", &[("content-type", &content_type)], body)
    };
    let (status, headers, body) = post(&forged);
    assert_eq!(status, 403);
    assert_eq!(header(&headers, "content-type"), Some("application/xml"));
    assert!(String::from_utf8_lossy(&body).contains("<Code>SignatureDoesNotMatch</Code>"));
    let unsigned = shared::ports::UploadForm { fields: forged.fields[..1].to_vec(), ..forged.clone() };
    let (status, _, body) = post(&unsigned);
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let no_file = runtime.exchange(
        "POST",
        "/documents",
        &[("content-type", "multipart/form-data; boundary=x")],
        b"--x--\r\n".to_vec(),
    );
    assert_eq!(no_file.0, 400);
    let not_a_form = runtime.exchange("POST", "/documents", &[("content-type", "text/plain")], b"key=x".to_vec());
    assert_eq!(not_a_form.0, 400);
    assert!(!dir.path().join("documents/state.sqlite3").exists(), "nothing stored");
}
