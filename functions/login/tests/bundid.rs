//! The BundID login against an independent SAML identity provider: pysaml2 with xmlsec1
//! (tests/saml_idp/idp.py), started on loopback with keys it makes at start. Every login runs
//! the whole way: our signed AuthnRequest by redirect, the IdP's answer posted to our ACS.
//! Hostile answers are the IdP's genuine ones, changed as an attacker would.

use std::sync::Arc;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use login::{BundIdConfig, BundIdLogin};
use shared::auth::Principal;
use shared::domain::request::TrustLevel;
use shared::embedded::FsSecretStore;
use shared::ports::Clock;
use shared::testing::{PageResponse, TestApp};
use system_tests::saml_idp::{TestIdp, form_value};

/// The service under test, with a real listener serving its metadata to the IdP.
struct Harness {
    app: TestApp,
    login: Arc<BundIdLogin>,
    sp_base: String,
    idp: TestIdp,
    agent: ureq::Agent,
}

async fn harness() -> Harness {
    let sp_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sp_base = format!("http://{}", sp_listener.local_addr().unwrap());
    let idp = TestIdp::start(&format!("{sp_base}/saml/metadata"));

    let config = BundIdConfig {
        public_base_url: sp_base.clone(),
        idp_metadata: login::MetadataSource::File(idp.metadata_path()),
        default_level: TrustLevel::Substantiell,
    };
    let secrets_dir = tempfile::tempdir().unwrap();
    let login = Arc::new(BundIdLogin::load(&config, &FsSecretStore::new(secrets_dir.path().to_owned())).await.unwrap());
    let metadata = login.sp.metadata_xml().unwrap();
    tokio::spawn(async move {
        let app = axum::Router::new().route("/saml/metadata", axum::routing::get(move || async move { metadata }));
        axum::serve(sp_listener, app).await.unwrap();
    });
    let app = TestApp::trusting(login::router(login.clone(), true), vec![login.trusted_issuer()]).await;
    let agent = ureq::Agent::config_builder().max_redirects(0).http_status_as_error(false).build().into();
    Harness { app, login, sp_base, idp, agent }
}

/// What the IdP sent back: the form it would post to our ACS.
struct IdpAnswer {
    saml_response: String,
    relay_state: String,
    /// The browser's cookies for our site (the binding cookie of the login it started).
    cookies: String,
}

impl IdpAnswer {
    fn xml(&self) -> String {
        String::from_utf8(STANDARD.decode(&self.saml_response).unwrap()).unwrap()
    }

    fn with_xml(&self, xml: &str) -> IdpAnswer {
        IdpAnswer {
            saml_response: STANDARD.encode(xml),
            relay_state: self.relay_state.clone(),
            cookies: self.cookies.clone(),
        }
    }
}

impl Harness {
    /// Starts a login at `level` and lets the IdP answer, with `idp_options` (`variant=…` etc.).
    async fn login_at_idp(&self, level: &str, idp_options: &str) -> IdpAnswer {
        let start = self.app.page_get(&format!("/saml/login?level={level}&next=/antrag"), "").await;
        assert_eq!(start.status, StatusCode::SEE_OTHER);
        let location = start.location().unwrap().to_owned();
        assert!(location.starts_with(&format!("{}/sso?SAMLRequest=", self.idp.base)), "{location}");
        let cookies = start.cookies().join("; ");
        assert!(cookies.starts_with("saml_request=_"), "the login is bound to this browser: {cookies}");
        let url = if idp_options.is_empty() { location } else { format!("{location}&{idp_options}") };
        self.idp_page(&url, cookies).await
    }

    async fn idp_page(&self, url: &str, cookies: String) -> IdpAnswer {
        let agent = self.agent.clone();
        let url = url.to_owned();
        let (status, html) = tokio::task::spawn_blocking(move || {
            let mut response = agent.get(&url).call().expect("the IdP answers");
            (response.status().as_u16(), response.body_mut().read_to_string().unwrap())
        })
        .await
        .unwrap();
        assert_eq!(status, 200, "the IdP accepted our AuthnRequest: {html}");
        let saml_response = form_value(&html, "SAMLResponse").unwrap_or_else(|| panic!("no SAMLResponse: {html}"));
        IdpAnswer { saml_response, relay_state: form_value(&html, "RelayState").unwrap_or_default(), cookies }
    }

    /// Posts the answer to our ACS as the browser does: from the IdP's site.
    async fn post_to_acs(&self, answer: &IdpAnswer) -> PageResponse {
        let body =
            serde_urlencoded::to_string([("SAMLResponse", &answer.saml_response), ("RelayState", &answer.relay_state)])
                .unwrap()
                .into_bytes();
        let headers = [("cookie", answer.cookies.as_str()), ("sec-fetch-site", "cross-site")];
        self.app.page_send("POST", "/saml/acs", &headers, Some(("application/x-www-form-urlencoded", body))).await
    }

    /// What `GET /sitzung` answers a page that carries the session `token`.
    async fn renewal(&self, token: String) -> PageResponse {
        self.app.page_get("/sitzung", &format!("session={token}")).await
    }

    /// The citizen the session cookie of `response` signs in.
    async fn session_citizen(&self, response: &PageResponse) -> shared::auth::CitizenClaims {
        let cookie = response.cookies().into_iter().find(|c| c.starts_with("session=")).expect("a session cookie");
        let token = cookie.trim_start_matches("session=");
        match self.app.services.verifier.verify(token).await {
            Ok(Principal::Citizen(claims)) => claims,
            other => panic!("the session is no citizen's: {other:?}"),
        }
    }
}

/// A refusal: a page saying so with the code, and no session.
fn assert_refused(response: &PageResponse, code: &str) {
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.html);
    assert!(response.text().contains(&format!("<code>{code}</code>")), "refused as {code}: {}", response.text());
    assert!(response.text().contains("href=\"/anmelden\""), "offers to log in again");
    assert!(!response.cookies().iter().any(|c| c.starts_with("session=") && c.len() > "session=".len()));
}

#[tokio::test]
async fn login_at_each_trust_level_signs_her_in_with_her_bundid_data() {
    let h = harness().await;
    for (level, trust) in [
        ("STORK-QAA-Level-1", TrustLevel::Basis),
        ("STORK-QAA-Level-3", TrustLevel::Substantiell),
        ("STORK-QAA-Level-4", TrustLevel::Hoch),
    ] {
        let answer = h.login_at_idp(level, "").await;
        let response = h.post_to_acs(&answer).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{level}: {}", response.html);
        assert_eq!(response.location(), Some("/antrag"), "back to where she was");
        let set_cookies: Vec<&str> =
            response.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
        let session = set_cookies.iter().find(|c| c.starts_with("session=")).unwrap();
        for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Max-Age=1800"] {
            assert!(session.contains(attribute), "{session} lacks {attribute}");
        }
        let citizen = h.session_citizen(&response).await;
        assert_eq!(citizen.trust_level, trust);
        assert_eq!(citizen.sub, "bundid-test-sophia");
        assert_eq!((citizen.given_name.as_str(), citizen.family_name.as_str()), ("Sophia", "Beispiel"));
        assert_eq!(citizen.birthdate.as_deref(), Some("1994-05-02"));
        assert_eq!(citizen.email.as_deref(), Some("sophia@example.org"), "BundID's mail attribute, through pysaml2");
        let address = citizen.address.unwrap();
        assert_eq!((address.street.as_str(), address.house_number.as_str()), ("Am Markt", "1"));
        assert_eq!((address.postcode.as_str(), address.city.as_str()), ("28195", "Bremen"));
    }
}

#[tokio::test]
async fn signed_response_and_encrypted_assertion_are_accepted_too() {
    let h = harness().await;
    for variant in [
        "variant=response-signed",
        "variant=both-signed",
        "variant=encrypted-gcm,response-signed",
        "variant=encrypted-gcm,both-signed",
    ] {
        let answer = h.login_at_idp("STORK-QAA-Level-4", variant).await;
        if variant.contains("encrypted") {
            assert!(answer.xml().contains("EncryptedAssertion") && !answer.xml().contains(">Sophia<"));
        }
        let response = h.post_to_acs(&answer).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{variant}: {}", response.html);
        assert_eq!(h.session_citizen(&response).await.given_name, "Sophia");
    }
}

#[tokio::test]
async fn missing_attributes_are_absent_and_hostile_text_stays_text() {
    let h = harness().await;
    let answer = h
        .login_at_idp("STORK-QAA-Level-3", "omit=urn:oid:2.5.4.16&given_name=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    let citizen = h.session_citizen(&h.post_to_acs(&answer).await).await;
    assert_eq!(citizen.given_name, "<script>alert(1)</script>", "kept literally; pages escape it");
    assert_eq!(citizen.address, None, "no street line, no address");
}

#[tokio::test]
async fn tampered_signature_is_refused() {
    let h = harness().await;
    let answer = h.login_at_idp("STORK-QAA-Level-4", "").await;
    let tampered = answer.xml().replace(">Sophia<", ">Mallory<");
    assert_refused(&h.post_to_acs(&answer.with_xml(&tampered)).await, "refused");
}

#[tokio::test]
async fn unsigned_assertion_is_refused() {
    let h = harness().await;
    let answer = h.login_at_idp("STORK-QAA-Level-4", "variant=unsigned").await;
    assert_refused(&h.post_to_acs(&answer).await, "refused");
}

/// The signed assertion, and a forged one: same content, another subject, no signature.
fn assertion_parts(xml: &str) -> (String, String) {
    let start = xml.find("<saml:Assertion").unwrap();
    let end = xml.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    let signed = xml[start..end].to_owned();
    let signature_start = signed.find("<ds:Signature").unwrap();
    let signature_end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let id_start = signed.find(" ID=\"").unwrap() + 5;
    let id = &signed[id_start..id_start + signed[id_start..].find('"').unwrap()];
    let forged = format!("{}{}", &signed[..signature_start], &signed[signature_end..])
        .replace(id, "_forged")
        .replace("bundid-test-sophia", "bundid-victim");
    (signed, forged)
}

#[tokio::test]
async fn signature_wrapping_is_refused() {
    let h = harness().await;
    // The forged assertion where the signed one was, the signed one moved into Extensions.
    let answer = h.login_at_idp("STORK-QAA-Level-4", "").await;
    let xml = answer.xml();
    let (signed, forged) = assertion_parts(&xml);
    let moved = xml
        .replace(&signed, &forged)
        .replace("<samlp:Status>", &format!("<samlp:Extensions>{signed}</samlp:Extensions><samlp:Status>"));
    assert_refused(&h.post_to_acs(&answer.with_xml(&moved)).await, "refused");

    // The signed assertion inside the forged one (as if it were advice).
    let answer = h.login_at_idp("STORK-QAA-Level-4", "").await;
    let xml = answer.xml();
    let (signed, forged) = assertion_parts(&xml);
    let nested = forged.replace("</saml:Assertion>", &format!("<saml:Advice>{signed}</saml:Advice></saml:Assertion>"));
    assert_refused(&h.post_to_acs(&answer.with_xml(&xml.replace(&signed, &nested))).await, "refused");

    // Duplicated: the signed assertion twice, and a forged one with the signed one's id.
    let answer = h.login_at_idp("STORK-QAA-Level-4", "").await;
    let xml = answer.xml();
    let (signed, _) = assertion_parts(&xml);
    let twice = xml.replace(&signed, &format!("{signed}{signed}"));
    assert_refused(&h.post_to_acs(&answer.with_xml(&twice)).await, "refused");
}

#[tokio::test]
async fn comment_injected_into_the_name_id_is_refused() {
    let h = harness().await;
    let answer = h.login_at_idp("STORK-QAA-Level-4", "").await;
    // Exclusive c14n drops comments, so the signature would still hold over "bundid-test-sophia".
    let injected = answer.xml().replace(">bundid-test-sophia<", ">bundid-test<!-- -->-sophia.evil<");
    assert_refused(&h.post_to_acs(&answer.with_xml(&injected)).await, "refused");
}

#[tokio::test]
async fn nothing_is_decrypted_that_the_idp_did_not_sign_and_cbc_is_refused() {
    let h = harness().await;
    // Encrypted inside an unsigned Response: refused before decrypting, whatever the cipher.
    for variant in ["variant=encrypted-gcm", "variant=encrypted"] {
        let answer = h.login_at_idp("STORK-QAA-Level-4", variant).await;
        assert_refused(&h.post_to_acs(&answer).await, "refused");
    }
    // AES-CBC, though signed: our IdP offers AES-GCM, so CBC is refused (no padding oracle).
    let answer = h.login_at_idp("STORK-QAA-Level-4", "variant=encrypted,response-signed").await;
    assert!(answer.xml().contains("xmlenc#aes256-cbc"));
    assert_refused(&h.post_to_acs(&answer).await, "refused");
    // Altered ciphertext in a signed Response: the signature fails before the cipher sees it.
    let answer = h.login_at_idp("STORK-QAA-Level-4", "variant=encrypted-gcm,response-signed").await;
    let xml = answer.xml();
    let start = xml.rfind("<xenc:CipherValue>").unwrap() + "<xenc:CipherValue>".len();
    let flipped = if &xml[start..start + 1] == "A" { "B" } else { "A" };
    let altered = format!("{}{flipped}{}", &xml[..start], &xml[start + 1..]);
    assert_refused(&h.post_to_acs(&answer.with_xml(&altered)).await, "refused");
}

#[tokio::test]
async fn every_forged_or_altered_answer_gets_the_very_same_refusal() {
    let h = harness().await;
    let mut pages = Vec::new();
    for alter in [
        |xml: &str| xml.replace(">Sophia<", ">Mallory<"),
        |xml: &str| xml.replace(">bundid-test-sophia<", ">bundid-test<!-- -->-sophia.evil<"),
        |xml: &str| xml.replace("<samlp:Status>", "<!-- x --><samlp:Status>"),
        |xml: &str| xml.replace("<saml:Assertion", "<saml:Assertion foo=\"\"").replacen("<saml:Assertion", "<x", 0),
        |xml: &str| xml[..xml.len() / 2].to_owned(),
    ] {
        let answer = h.login_at_idp("STORK-QAA-Level-4", "").await;
        let response = h.post_to_acs(&answer.with_xml(&alter(&answer.xml()))).await;
        assert_refused(&response, "refused");
        pages.push(response.text());
    }
    for variant in ["variant=unsigned", "variant=encrypted-gcm", "variant=encrypted,response-signed"] {
        let answer = h.login_at_idp("STORK-QAA-Level-4", variant).await;
        let response = h.post_to_acs(&answer).await;
        assert_refused(&response, "refused");
        pages.push(response.text());
    }
    assert!(pages.windows(2).all(|pair| pair[0] == pair[1]), "one indistinguishable page for every failure");
}

#[tokio::test]
async fn a_login_she_cancelled_at_bundid_says_so() {
    let h = harness().await;
    let answer = h.login_at_idp("STORK-QAA-Level-4", "variant=denied,response-signed").await;
    let response = h.post_to_acs(&answer).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.html);
    assert!(response.text().contains("<code>cancelled</code>"));
}

#[tokio::test]
async fn expired_wrong_audience_and_wrong_destination_are_refused() {
    let h = harness().await;
    for (variant, code) in [
        ("variant=expired", "expired"),
        ("variant=wrong-audience", "wrong_audience"),
        ("variant=wrong-destination", "wrong_destination"),
    ] {
        let answer = h.login_at_idp("STORK-QAA-Level-4", variant).await;
        assert_refused(&h.post_to_acs(&answer).await, code);
    }
}

#[tokio::test]
async fn a_replayed_assertion_is_refused() {
    let h = harness().await;
    let answer = h.login_at_idp("STORK-QAA-Level-4", "").await;
    assert_eq!(h.post_to_acs(&answer).await.status, StatusCode::SEE_OTHER);
    assert_refused(&h.post_to_acs(&answer).await, "replay");
}

#[tokio::test]
async fn answers_to_unknown_or_foreign_requests_are_refused() {
    let h = harness().await;
    // InResponseTo names a request we never sent.
    let answer = h.login_at_idp("STORK-QAA-Level-4", "variant=unknown-request").await;
    assert_refused(&h.post_to_acs(&answer).await, "unknown_request");
    // IdP-initiated (unsolicited).
    let acs = serde_urlencoded::to_string([("acs", format!("{}/saml/acs", h.sp_base))]).unwrap();
    let unsolicited = h.idp_page(&format!("{}/sso/unsolicited?{acs}", h.idp.base), String::new()).await;
    assert_refused(&h.post_to_acs(&unsolicited).await, "unsolicited");
    // A genuine answer to a login another browser started (no binding cookie here).
    let answer = h.login_at_idp("STORK-QAA-Level-4", "").await;
    let elsewhere = IdpAnswer { cookies: String::new(), ..answer };
    assert_refused(&h.post_to_acs(&elsewhere).await, "unknown_request");
}

#[tokio::test]
async fn a_lower_level_than_requested_is_refused() {
    let h = harness().await;
    let answer = h.login_at_idp("STORK-QAA-Level-4", "level=STORK-QAA-Level-1").await;
    assert_refused(&h.post_to_acs(&answer).await, "level_too_low");
}

#[tokio::test]
async fn our_metadata_and_request_are_what_bundid_expects() {
    let h = harness().await;
    let metadata = h.app.page_get("/saml/metadata", "").await;
    assert_eq!(metadata.status, StatusCode::OK);
    for part in [
        "use=\"signing\"",
        "use=\"encryption\"",
        "AuthnRequestsSigned=\"true\"",
        "WantAssertionsSigned=\"true\"",
        "/saml/acs",
    ] {
        assert!(metadata.html.contains(part), "metadata lacks {part}");
    }
    assert!(!metadata.html.contains("PRIVATE"), "no private key in the metadata");
    // An unknown level is a bad request, not a login at some other level.
    assert_eq!(h.app.page_get("/saml/login?level=STORK-QAA-Level-2", "").await.status, StatusCode::BAD_REQUEST);
    // Only paths of this site are followed after the login.
    let answer = {
        let start = h.app.page_get("/saml/login?level=STORK-QAA-Level-4&next=//evil.example/", "").await;
        let cookies = start.cookies().join("; ");
        h.idp_page(start.location().unwrap(), cookies).await
    };
    assert_eq!(h.post_to_acs(&answer).await.location(), Some("/antrag"));
}

#[tokio::test]
async fn signing_out_ends_the_session_here_and_at_bundid() {
    let h = harness().await;
    let answer = h.login_at_idp("STORK-QAA-Level-3", "").await;
    let session = h.post_to_acs(&answer).await.cookies().into_iter().find(|c| c.starts_with("session=")).unwrap();

    let cross_site = [("cookie", session.as_str()), ("sec-fetch-site", "cross-site")];
    let cross_site = h.app.page_send("POST", "/abmelden", &cross_site, None).await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN, "no other site signs her out");
    let out = h.app.page_post("/abmelden", &session, &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.cookies().contains(&"session=".to_owned()), "our session cookie is cleared");
    let slo = out.location().unwrap();
    assert!(slo.starts_with(&format!("{}/slo?SAMLRequest=", h.idp.base)), "a signed LogoutRequest: {slo}");

    // The IdP verifies our request, ends her session there and sends her back to us.
    let agent = h.agent.clone();
    let slo = slo.to_owned();
    let (status, back) = tokio::task::spawn_blocking(move || {
        let response = agent.get(&slo).call().expect("the IdP answers");
        let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
        (response.status().as_u16(), location)
    })
    .await
    .unwrap();
    assert_eq!(status, 302, "the IdP accepted our LogoutRequest");
    let back = back.unwrap();
    let path = back.strip_prefix(&h.sp_base).unwrap_or_else(|| panic!("back to us: {back}"));
    assert!(path.starts_with("/saml/logout?SAMLResponse="), "{path}");
    let home = h.app.page_get(path, "").await;
    assert_eq!(home.location(), Some("/"));

    // A session that is not BundID's (a development persona's) just ends here.
    let other = h.app.page_post("/abmelden", &shared::testing::session(&h.app.mother()), &[]).await;
    assert_eq!(other.location(), Some("/"));
    assert!(other.cookies().contains(&"session=".to_owned()));
}

/// API Gateway's JWT authorizer trusts `{base}/saml` and reads its keys by OIDC discovery.
#[tokio::test]
async fn the_session_issuer_publishes_its_keys_for_the_api_gateway() {
    let h = harness().await;
    let (status, discovery) = h.app.call("GET", "/saml/.well-known/openid-configuration", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let issuer = format!("{}/saml", h.sp_base);
    assert_eq!(discovery["issuer"], issuer.as_str());
    assert_eq!(discovery["jwks_uri"], format!("{issuer}/jwks.json"));
    let (_, jwks) = h.app.call("GET", "/saml/jwks.json", None, None).await;
    assert_eq!(jwks["keys"][0]["alg"], "ES256");

    let answer = h.login_at_idp("STORK-QAA-Level-4", "").await;
    let session = h.post_to_acs(&answer).await.cookies().into_iter().find(|c| c.starts_with("session=")).unwrap();
    let (status, bearer) = h.app.call_with_headers("GET", "/saml/session", None, None, &[("cookie", &session)]).await;
    assert_eq!(status, StatusCode::OK);
    let token = bearer["token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["iss"], issuer.as_str(), "the tokens name the issuer the authorizer trusts");
}

/// The renewal every page of hers loads: a session she keeps using lives on, 30 minutes from
/// her last page, but not past two hours after the BundID login; nobody else's is touched.
#[tokio::test]
async fn an_active_session_is_renewed_up_to_two_hours_after_the_bundid_login() {
    let h = harness().await;
    let response = h.post_to_acs(&h.login_at_idp("STORK-QAA-Level-4", "").await).await;
    let mut claims = h.session_citizen(&response).await;
    let now = h.app.clock.now();
    assert_eq!(claims.auth_time, Some(now.unix_timestamp()), "the session knows when she signed in");
    let session_of = |response: &PageResponse| {
        response.cookies().into_iter().find(|c| c.starts_with("session=")).map(|c| c["session=".len()..].to_owned())
    };

    // Just signed in: nothing to renew yet.
    let fresh = session_of(&response).unwrap();
    let answer = h.renewal(fresh).await;
    assert_eq!((answer.status, session_of(&answer)), (StatusCode::NO_CONTENT, None));
    assert_eq!(answer.headers["cache-control"], "no-store");

    // Her last page 20 minutes ago: 30 minutes from now.
    let (older, _) = h.login.mint(&claims, now - time::Duration::minutes(20));
    let answer = h.renewal(older).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let renewed = session_of(&answer).expect("a renewed session");
    let (principal, until) = h.app.services.verifier.verify_until(&renewed).await.unwrap();
    assert!(matches!(&principal, Principal::Citizen(c) if c.sub == claims.sub && c.auth_time == claims.auth_time));
    assert_eq!(until.unix_timestamp(), (now + login::SESSION_LIFETIME).unix_timestamp());
    let set_cookie = answer.headers["set-cookie"].to_str().unwrap();
    assert!(set_cookie.contains("Max-Age=1800") && set_cookie.contains("HttpOnly"), "{set_cookie}");

    // Signed in at BundID 1 h 45 min ago: renewed up to the two hours, not beyond.
    claims.auth_time = Some((now - time::Duration::minutes(105)).unix_timestamp());
    let (long_ago, _) = h.login.mint(&claims, now - time::Duration::minutes(20));
    let (_, until) =
        h.app.services.verifier.verify_until(&session_of(&h.renewal(long_ago).await).unwrap()).await.unwrap();
    assert_eq!(until.unix_timestamp(), (now + time::Duration::minutes(15)).unix_timestamp());
    claims.auth_time = Some((now - login::SESSION_MAX).unix_timestamp());
    let (at_the_limit, _) = h.login.mint(&claims, now - time::Duration::minutes(20));
    assert_eq!(session_of(&h.renewal(at_the_limit).await), None, "past the limit she signs in again");

    // Sessions of other issuers, broken and missing ones stay as they are.
    for other in [h.app.mother(), h.app.staff("jugendamt-bremen"), "garbage".to_owned(), String::new()] {
        let answer = h.renewal(other).await;
        assert_eq!((answer.status, session_of(&answer)), (StatusCode::NO_CONTENT, None));
    }
}
