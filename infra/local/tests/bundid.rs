//! The local runtime pointed at a SAML identity provider (`BUNDID_IDP_METADATA`, here the test
//! IdP of tests/saml_idp) logs her in through real SAML beside the personas; without it, the
//! personas sign out by themselves.

use serde_json::Value;
use system_tests::Runtime;
use system_tests::saml_idp::{TestIdp, form_value, free_port};

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

/// The cookies set, as `name=value`.
fn cookies(headers: &[(String, String)]) -> Vec<String> {
    headers
        .iter()
        .filter(|(key, _)| key == "set-cookie")
        .filter_map(|(_, value)| value.split(';').next())
        .map(str::to_owned)
        .collect()
}

const SAME_ORIGIN: (&str, &str) = ("sec-fetch-site", "same-origin");

#[test]
fn pointed_at_a_saml_idp_the_local_runtime_logs_her_in_through_bundid() {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let idp = TestIdp::start(&format!("{base}/saml/metadata"));
    let data = tempfile::tempdir().unwrap();
    let metadata = idp.metadata_path();
    let port = port.to_string();
    let runtime =
        Runtime::start_with(data.path(), &[("PORT", &port), ("BUNDID_IDP_METADATA", metadata.to_str().unwrap())]);

    let (status, _, page) = runtime.exchange("GET", "/anmelden", &[], Vec::new());
    let page = String::from_utf8(page).unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("STORK-QAA-Level-4") && page.contains("STORK-QAA-Level-1"), "BundID is offered");
    assert!(page.contains("value=\"mother\""), "beside the personas");

    // Her browser: our signed AuthnRequest to the IdP, its answer posted back to us.
    let (status, headers, _) =
        runtime.exchange("GET", "/saml/login?level=STORK-QAA-Level-3&next=/antrag", &[], Vec::new());
    assert_eq!(status, 303);
    let to_idp = header(&headers, "location").unwrap();
    assert!(to_idp.starts_with(&format!("{}/sso?SAMLRequest=", idp.base)), "{to_idp}");
    let binding = cookies(&headers).join("; ");
    let html = ureq::get(to_idp).call().expect("the IdP accepts our request").body_mut().read_to_string().unwrap();
    let form = serde_urlencoded::to_string([
        ("SAMLResponse", form_value(&html, "SAMLResponse").expect("the IdP answers")),
        ("RelayState", form_value(&html, "RelayState").unwrap_or_default()),
    ])
    .unwrap();
    let (status, headers, _) = runtime.exchange(
        "POST",
        "/saml/acs",
        &[
            ("cookie", &binding),
            ("sec-fetch-site", "cross-site"),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        form.into_bytes(),
    );
    assert_eq!((status, header(&headers, "location")), (303, Some("/antrag")), "back to the form");
    let session = cookies(&headers).into_iter().find(|c| c.starts_with("session=") && c.len() > 8).unwrap();

    // Signed in for the pages and, with the bearer token, for the API.
    let (status, headers, _) = runtime.exchange("GET", "/antrag", &[("cookie", &session)], Vec::new());
    assert_eq!((status, header(&headers, "location")), (303, Some("/antrag/antragsteller")), "not sent to log in");
    let (_, _, body) = runtime.exchange("GET", "/saml/session", &[("cookie", &session)], Vec::new());
    let token = serde_json::from_slice::<Value>(&body).unwrap()["token"].as_str().unwrap().to_owned();
    let drafts = runtime.get("/api/v1/drafts/web-1", Some(&token));
    assert_eq!(drafts.status, 404, "her token is accepted (no draft yet): {}", drafts.body);

    // Signing out ends her BundID session too.
    let (status, headers, _) = runtime.exchange("POST", "/abmelden", &[("cookie", &session), SAME_ORIGIN], Vec::new());
    assert_eq!(status, 303);
    assert!(header(&headers, "location").unwrap().starts_with(&format!("{}/slo?SAMLRequest=", idp.base)));
    assert!(cookies(&headers).contains(&"session=".to_owned()));
}

#[test]
fn without_bundid_a_persona_signs_out_here() {
    let data = tempfile::tempdir().unwrap();
    let runtime = Runtime::start(data.path());
    let (_, _, page) = runtime.exchange("GET", "/anmelden", &[], Vec::new());
    assert!(!String::from_utf8(page).unwrap().contains("STORK-QAA"), "no BundID offered without its metadata");
    let session = format!("session={}", runtime.login("mother"));
    let cross_site =
        runtime.exchange("POST", "/abmelden", &[("cookie", &session), ("sec-fetch-site", "cross-site")], Vec::new());
    assert_eq!(cross_site.0, 403, "no other site signs her out");
    let (status, headers, _) = runtime.exchange("POST", "/abmelden", &[("cookie", &session), SAME_ORIGIN], Vec::new());
    assert_eq!((status, header(&headers, "location")), (303, Some("/")));
    assert!(cookies(&headers).contains(&"session=".to_owned()));
}
