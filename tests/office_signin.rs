//! Case workers sign in at their office's own OpenID Connect provider: the runtime against
//! oidc-provider from npm (tests/oidc_idp) with clients for two offices, Bremen's public (PKCE
//! only) and Cuxhaven's confidential (its secret in the runtime's secret store), walked through
//! by a browser without JavaScript. Every refusal is a page that says why, and leaves no session.

use serde_json::{Value, json};
use system_tests::Runtime;
use system_tests::oidc_idp::{Browser, Page, TestProvider};
use system_tests::saml_idp::free_port;

const BREMEN: &str = "jugendamt-bremen";
const CUXHAVEN: &str = "jugendamt-cuxhaven";

struct Setup {
    runtime: Runtime,
    provider: TestProvider,
    _dir: tempfile::TempDir,
}

fn tenant(id: &str, name: &str, postcode: &str, ags: &str, provider: Value) -> Value {
    json!({
        "id": id, "name": name,
        "address": {"street": "Am Amt", "house_number": "1", "postcode": postcode, "city": name},
        "phone": "+49 421 000000", "email": format!("{id}@example.org"),
        "municipalities": [{"ags": ags}], "connected": true, "auto_issue": true, "retention_days": 365,
        "staff_identity_provider": provider
    })
}

/// The runtime with the demo offices, Bremen and Cuxhaven signing in at the test provider.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let service = format!("http://127.0.0.1:{port}");
    let provider = TestProvider::start(&service);
    let runtime = Runtime::start_with(dir.path(), &[("PORT", &port.to_string())]);
    assert_eq!(runtime.url, service);
    let admin = runtime.login("admin");
    let offices = [
        tenant(
            BREMEN,
            "Jugendamt Bremen",
            "28195",
            "04011000",
            json!({"issuer": provider.issuer, "client_id": "sorgeregister-bremen"}),
        ),
        tenant(
            CUXHAVEN,
            "Jugendamt Landkreis Cuxhaven",
            "27472",
            "03352011",
            json!({"issuer": provider.issuer, "client_id": "sorgeregister-cuxhaven", "client_secret": "cuxhaven-geheim"}),
        ),
    ];
    for office in &offices {
        let uri = format!("/api/v1/tenants/{}", office["id"].as_str().unwrap());
        let saved = runtime.send("PUT", &uri, Some(&admin), Some(office));
        assert_eq!(saved.status, 200, "{}", saved.body);
        assert!(!saved.body.to_string().contains("cuxhaven-geheim"), "the secret is not in the record");
    }
    Setup { runtime, provider, _dir: dir }
}

impl Setup {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.runtime.url)
    }

    /// Starts signing in at `office` and signs in at its provider as `user`: the redirect back
    /// to the service's callback, not yet followed.
    fn at_provider(&self, browser: &Browser, office: &str, user: &str) -> String {
        let started = browser.get(&self.url(&format!("/amt/anmelden?office={office}")));
        assert_eq!(started.status, 303, "{}", started.body);
        assert!(started.location.as_deref().unwrap().starts_with(&self.provider.issuer), "{started:?}");
        let form = browser.follow(started, None);
        let action = form.attribute_after("/login", "action").unwrap_or_else(|| panic!("a login form: {}", form.body));
        let signed_in =
            browser.post(&format!("{}{action}", self.provider.issuer), &[("login", user), ("password", "x")]);
        let back = browser.follow(signed_in, Some(&self.url("/amt/anmelden/callback")));
        let location = back.location.expect("back to the service");
        assert!(location.starts_with(&self.url("/amt/anmelden/callback?")), "{location}");
        location
    }

    /// Signs in fully: the page the service lands on.
    fn sign_in(&self, browser: &Browser, office: &str, user: &str) -> Page {
        let callback = self.at_provider(browser, office, user);
        browser.follow(browser.get(&callback), None)
    }

    fn session(&self, browser: &Browser) -> Option<String> {
        browser.cookie(&self.runtime.url, "amt_session")
    }

    /// A request of the mother, routed to Bremen.
    fn bremen_request(&self) -> String {
        let mother = self.runtime.login("mother");
        let document = self.runtime.get("/api/v1/openapi.json", None).body;
        let example = &document["components"]["schemas"]["SubmissionBody"]["example"];
        let created = self.runtime.send("POST", "/api/v1/requests", Some(&mother), Some(example));
        assert_eq!(created.status, 202, "{}", created.body);
        created.body["id"].as_str().unwrap().to_owned()
    }
}

fn query_value(url: &str, name: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap_or_default()
}

#[test]
fn a_case_worker_signs_in_at_her_offices_provider_and_sees_only_its_requests() {
    let setup = setup();
    let id = setup.bremen_request();

    let meyer = Browser::new();
    let callback = meyer.get(&setup.at_provider(&meyer, BREMEN, "k.meyer"));
    assert_eq!((callback.status, callback.location.as_deref()), (303, Some("/amt")), "{}", callback.body);
    let cookie = callback.set_cookies.iter().find(|c| c.starts_with("amt_session=")).expect("a session");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/amt", "Max-Age=1800"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let inbox = meyer.follow(callback, None);
    assert_eq!((inbox.status, inbox.url.as_str()), (200, setup.url("/amt").as_str()), "{}", inbox.body);
    assert!(inbox.body.contains("Jugendamt Bremen"), "her office's inbox");
    assert!(inbox.body.contains(&id), "with the request");
    assert!(inbox.body.contains("/amt/sitzung"), "the page keeps her session");
    assert_eq!(meyer.get(&setup.url(&format!("/amt/antraege/{id}"))).status, 200, "she opens it");

    // Cuxhaven's case worker, signed in at the same provider with Cuxhaven's confidential client.
    let schulz = Browser::new();
    let inbox = setup.sign_in(&schulz, CUXHAVEN, "b.schulz");
    assert_eq!(inbox.status, 200, "{}", inbox.body);
    assert!(inbox.body.contains("Landkreis Cuxhaven") && !inbox.body.contains(&id), "another office, other requests");
    assert_eq!(schulz.get(&setup.url(&format!("/amt/antraege/{id}"))).status, 404, "Bremen's is not found");

    // Bremen's session is Bremen's only.
    let session = setup.session(&meyer).unwrap();
    let api = setup.runtime.get(&format!("/api/v1/staff/requests/{id}"), Some(&session));
    assert_eq!(api.status, 200, "the session token is Bremen's staff: {}", api.body);
    let as_cuxhaven = Browser::new();
    as_cuxhaven.set_cookie(&setup.runtime.url, "/amt", "amt_session", &session);
    assert!(as_cuxhaven.get(&setup.url("/amt")).body.contains("Jugendamt Bremen"), "never Cuxhaven's");
}

/// The callback answers `page` with a refusal of `kind`, and no session.
fn assert_refused(page: &Page, status: u16, kind: &str) {
    assert_eq!(page.status, status, "{}", page.body);
    assert!(page.body.contains(&format!("<code>{kind}</code>")), "refused as {kind}: {}", page.body);
    assert!(!page.sets_cookie("amt_session"), "no session: {:?}", page.set_cookies);
}

#[test]
fn a_sign_in_that_is_not_this_browsers_own_is_refused() {
    let setup = setup();
    let browser = Browser::new();
    let callback = setup.at_provider(&browser, BREMEN, "k.meyer");
    let code = query_value(&callback, "code");

    // No state, another state, no cookie (another browser).
    assert_refused(&browser.get(&setup.url(&format!("/amt/anmelden/callback?code={code}"))), 403, "unknown");
    assert_refused(&browser.get(&setup.url(&format!("/amt/anmelden/callback?code={code}&state=x"))), 403, "unknown");
    assert_refused(&Browser::new().get(&callback), 403, "unknown");

    // Its own answer counts once.
    let landed = browser.follow(browser.get(&callback), None);
    assert_eq!(landed.status, 200, "{}", landed.body);
    assert_refused(&browser.get(&callback), 403, "unknown");

    // The code again, in a sign-in of its own: the provider does not redeem it twice.
    let fresh = Browser::new();
    let started = fresh.get(&setup.url(&format!("/amt/anmelden?office={BREMEN}")));
    let state = query_value(started.location.as_deref().unwrap(), "state");
    let reused = fresh.get(&setup.url(&format!("/amt/anmelden/callback?code={code}&state={state}")));
    assert_refused(&reused, 403, "code");
}

#[test]
fn a_code_of_another_client_is_refused() {
    let setup = setup();
    let bremen = Browser::new();
    let started = bremen.get(&setup.url(&format!("/amt/anmelden?office={BREMEN}")));
    let state = query_value(started.location.as_deref().unwrap(), "state");
    let cuxhaven_code = query_value(&setup.at_provider(&Browser::new(), CUXHAVEN, "b.schulz"), "code");
    let page = bremen.get(&setup.url(&format!("/amt/anmelden/callback?code={cuxhaven_code}&state={state}")));
    assert_refused(&page, 403, "code");
}

#[test]
fn hostile_id_tokens_are_refused() {
    let setup = setup();
    for mode in ["tampered", "alg_none", "wrong_aud", "expired", "wrong_nonce", "foreign_key"] {
        let browser = Browser::new();
        let callback = setup.at_provider(&browser, BREMEN, "k.meyer");
        setup.provider.tamper_next(mode);
        let page = browser.get(&callback);
        assert_refused(&page, 403, "token");
        assert!(setup.session(&browser).is_none(), "{mode}: no session");
        assert_eq!(browser.get(&setup.url("/amt")).status, 303, "{mode}: the inbox is closed");
    }
}

#[test]
fn without_a_known_role_there_is_no_access() {
    let setup = setup();
    let browser = Browser::new();
    let page = browser.get(&setup.at_provider(&browser, BREMEN, "ohne.rolle"));
    assert_refused(&page, 403, "no_role");
    assert!(page.body.contains("keine Rolle"), "the page says why: {}", page.body);
}

#[test]
fn signing_out_ends_the_session_here_and_at_the_provider() {
    let setup = setup();
    let browser = Browser::new();
    assert_eq!(setup.sign_in(&browser, BREMEN, "k.meyer").status, 200);
    let session = setup.session(&browser).unwrap();

    let signed_out = browser.post(&setup.url("/amt/abmelden"), &[]);
    assert_eq!(signed_out.status, 303);
    let at_provider = signed_out.location.clone().unwrap();
    assert!(at_provider.starts_with(&format!("{}/session/end?", setup.provider.issuer)), "{at_provider}");
    assert!(!query_value(&at_provider, "id_token_hint").is_empty(), "with the ID token as hint");
    assert!(setup.session(&browser).is_none(), "the cookie is gone");
    let confirm = browser.follow(signed_out, None);
    let action = confirm.attribute_after("op.logoutForm", "action").expect("the provider asks");
    let xsrf = confirm.attribute_after("name=\"xsrf\"", "value").expect("with its xsrf token");
    let done = browser.post(&action, &[("xsrf", &xsrf), ("logout", "yes")]);
    let back = browser.follow(done, None);
    assert_eq!((back.status, back.url.as_str()), (200, setup.url("/amt/abgemeldet").as_str()), "{}", back.body);
    assert!(back.body.contains("Sie sind abgemeldet"));

    // The old session token counts no more, wherever it is kept.
    let copied = Browser::new();
    copied.set_cookie(&setup.runtime.url, "/amt", "amt_session", &session);
    let refused = copied.get(&setup.url("/amt"));
    assert_eq!(refused.status, 303);
    assert!(refused.location.unwrap().contains("abgelaufen=1"), "the sign-in says it ran out");
    // And the provider asks for her password again.
    let again = browser.follow(browser.get(&setup.url(&format!("/amt/anmelden?office={BREMEN}"))), None);
    assert!(again.body.contains("Benutzername"), "a new login at the provider: {}", again.body);
}

#[test]
fn the_sign_in_page_lists_the_offices_with_a_provider() {
    let setup = setup();
    let browser = Browser::new();
    let all = browser.get(&setup.url("/amt/anmelden"));
    assert_eq!(all.status, 200);
    assert!(all.body.contains("Jugendamt Bremen") && all.body.contains("Jugendamt Landkreis Cuxhaven"));
    assert!(!all.body.contains("Berlin"), "Berlin has no provider of its own");
    let found = browser.get(&setup.url("/amt/anmelden?q=27472"));
    assert!(found.body.contains("Cuxhaven") && !found.body.contains("Jugendamt Bremen"), "by postcode");
    let hostile = browser.get(&setup.url("/amt/anmelden?q=%3Cscript%3Ealert(1)%3C/script%3E"));
    assert_eq!(hostile.status, 200);
    assert!(!hostile.body.contains("<script>alert(1)"), "the query is text");
    assert_eq!(browser.get(&setup.url("/amt/anmelden?office=jugendamt-berlin")).status, 404);
    assert_eq!(browser.get(&setup.url("/amt/anmelden?office=..%2F..")).status, 404);
}

#[test]
fn after_signing_in_she_goes_where_she_wanted_on_the_offices_pages_only() {
    let setup = setup();
    for (next, lands) in [("/amt?status=issued", "/amt?status=issued"), ("//evil.example", "/amt"), ("/antrag", "/amt")]
    {
        let browser = Browser::new();
        let query = serde_urlencoded::to_string([("office", BREMEN), ("next", next)]).unwrap();
        let started = browser.get(&setup.url(&format!("/amt/anmelden?{query}")));
        let form = browser.follow(started, None);
        let action = form.attribute_after("/login", "action").unwrap();
        let signed_in = browser.post(&format!("{}{action}", setup.provider.issuer), &[("login", "k.meyer")]);
        let back = browser.follow(signed_in, Some(&setup.url("/amt/anmelden/callback")));
        let callback = browser.get(&back.location.unwrap());
        assert_eq!(callback.location.as_deref(), Some(lands), "next={next}");
    }
}

/// The runtime's staff session key, to make sessions of other ages than now.
fn session_key(setup: &Setup) -> shared::auth::SigningKey {
    let pkcs8 = std::fs::read(setup._dir.path().join("secrets/staff-session-signing-key")).unwrap();
    shared::auth::SigningKey::from_pkcs8(&pkcs8).unwrap()
}

fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap();
    serde_json::from_slice(&payload).unwrap()
}

fn max_age(page: &Page) -> Option<i64> {
    let cookie = page.set_cookies.iter().find(|c| c.starts_with("amt_session="))?;
    cookie.split(';').find_map(|part| part.trim().strip_prefix("Max-Age=")).and_then(|age| age.parse().ok())
}

#[test]
fn the_session_is_renewed_while_she_works_for_ten_hours_at_most_and_ends_after_thirty_idle_minutes() {
    use time::{Duration, OffsetDateTime};
    let setup = setup();
    let browser = Browser::new();
    setup.sign_in(&browser, BREMEN, "k.meyer");
    let mut claims = claims_of(&setup.session(&browser).unwrap());
    let (issuer, audience) = (claims["iss"].as_str().unwrap().to_owned(), claims["aud"].as_str().unwrap().to_owned());
    for name in ["iss", "aud", "iat", "nbf", "exp"] {
        claims.as_object_mut().unwrap().remove(name);
    }
    let key = session_key(&setup);
    let now = OffsetDateTime::now_utc();
    let session = |claims: &Value, issued: OffsetDateTime| {
        let token = key.sign(claims.clone(), &issuer, &audience, issued, Duration::minutes(30)).0;
        let browser = Browser::new();
        browser.set_cookie(&setup.runtime.url, "/amt", "amt_session", &token);
        browser
    };

    // Active 25 minutes after the last renewal: 30 minutes more.
    let renewed = session(&claims, now - Duration::minutes(25)).get(&setup.url("/amt/sitzung"));
    assert_eq!(renewed.status, 204);
    assert!(max_age(&renewed).is_some_and(|age| (1790..=1800).contains(&age)), "{:?}", renewed.set_cookies);
    // Signed in at the provider 9 h 45 min ago: a quarter of an hour more, not thirty minutes.
    claims["auth_time"] = json!((now - Duration::minutes(585)).unix_timestamp());
    let capped = session(&claims, now - Duration::minutes(25)).get(&setup.url("/amt/sitzung"));
    assert!(max_age(&capped).is_some_and(|age| (890..=900).contains(&age)), "{:?}", capped.set_cookies);
    // Thirty minutes without a page: over, and the sign-in says so.
    let idle = session(&claims, now - Duration::minutes(31));
    let refused = idle.get(&setup.url("/amt"));
    assert_eq!(refused.status, 303);
    let sign_in = idle.follow(refused, None);
    assert!(sign_in.body.contains("Ihre Sitzung ist abgelaufen"), "{}", sign_in.body);
    assert!(max_age(&idle.get(&setup.url("/amt/sitzung"))).is_none(), "an ended session is not renewed");
}
