//! The BundID login: a SAML 2.0 service provider (`/saml/*`) and the citizen's session.
//!
//! `/saml/login` sends her to BundID with a signed AuthnRequest at the trust level she chose;
//! `/saml/acs` takes the answer, which must verify (see the `saml` crate), answer a request
//! this browser started, not have been used before and reach the requested level. She then
//! gets our own short-lived session token (ES256) in an HttpOnly cookie, and by
//! `/saml/session` as a bearer token for the API. While she is active the session is renewed
//! (`/sitzung`, which every page of a signed-in citizen loads), up to [`SESSION_MAX`] after
//! she signed in at BundID.

mod claims;
mod setup;

use std::sync::{Arc, LazyLock};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use saml::{AuthnRequest, IdpMetadata, LogoutRequest, ServiceProvider, verify_response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::auth::{CitizenClaims, Principal, SessionSigner, TrustedIssuer, Verifier};
use shared::domain::request::TrustLevel;
use shared::ports::{Condition, Item, Key, StoreError, Write};
use shared::services::Services;
use shared::texts::{Lang, text};
use shared::web::{self, Page, PageResult, SESSION_COOKIE, Templates, context};
use time::{Duration, OffsetDateTime};

pub use claims::citizen_claims;
pub use setup::{BundIdConfig, MetadataSource, SetupError};

/// The audience of citizen session tokens.
pub const SESSION_AUDIENCE: &str = "sorgeregister-citizen";
/// Short on purpose: the form saves every step, and logging in again keeps the draft.
pub const SESSION_LIFETIME: Duration = Duration::minutes(30);
/// How long after her BundID login a session may be renewed: BundID's own session (its
/// `SessionNotOnOrAfter`) is shorter than a day, and the form takes minutes, not hours.
pub const SESSION_MAX: Duration = Duration::hours(2);
/// How long a started login may take at BundID.
const REQUEST_LIFETIME: Duration = Duration::minutes(10);
/// Binds the answer to the browser that started the login (the IdP posts cross-site, so this
/// cookie is `SameSite=None`; it is useless to anyone else and lives ten minutes).
const REQUEST_COOKIE: &str = "saml_request";
/// Kept past an assertion's end for the clock skew the verification tolerates.
const REPLAY_MARGIN: Duration = Duration::minutes(2);

/// The service provider with its IdP and the key that signs sessions.
pub struct BundIdLogin {
    pub sp: ServiceProvider,
    pub idp: IdpMetadata,
    session: SessionSigner,
    /// Verifies our own sessions only (not the personas' or staff's).
    sessions: Verifier,
    default_level: TrustLevel,
}

impl BundIdLogin {
    /// The issuer the API functions trust for citizen sessions.
    pub fn trusted_issuer(&self) -> TrustedIssuer {
        self.session.trusted()
    }

    pub fn mint(&self, claims: &CitizenClaims, now: OffsetDateTime) -> (String, OffsetDateTime) {
        self.session.sign(claims, now)
    }
}

/// The BundID choice on the login page: one link per trust level.
#[derive(Debug, Serialize)]
pub struct LevelLink {
    pub href: String,
    pub label: &'static str,
    pub hint: &'static str,
}

pub fn level_links(lang: Lang, next: Option<&str>) -> Vec<LevelLink> {
    TrustLevel::ALL
        .into_iter()
        .map(|level| {
            let mut query = vec![("level", level.as_str())];
            query.extend(next.map(|n| ("next", n)));
            let (label, hint) = match level {
                TrustLevel::Hoch => ("bundid.level.hoch", "bundid.level.hoch_hint"),
                TrustLevel::Substantiell => ("bundid.level.substantiell", "bundid.level.substantiell_hint"),
                TrustLevel::Basis => ("bundid.level.basis", "bundid.level.basis_hint"),
            };
            LevelLink {
                href: format!("/saml/login?{}", serde_urlencoded::to_string(&query).expect("plain pairs encode")),
                label: text(lang, label),
                hint: text(lang, hint),
            }
        })
        .collect()
}

/// The BundID part of the login page, for every page that offers the login.
pub const BUNDID_TEMPLATE: (&str, &str) = ("bundid.html", include_str!("../templates/bundid.html"));

static TEMPLATES: LazyLock<Templates> = LazyLock::new(|| {
    Templates::new(&[
        ("anmelden.html", include_str!("../templates/anmelden.html")),
        ("abgelehnt.html", include_str!("../templates/abgelehnt.html")),
        BUNDID_TEMPLATE,
    ])
});

/// The SAML endpoints; with `login_page`, also `/anmelden` (outside local mode, where the
/// development login page offers BundID beside the personas).
pub fn router(login: Arc<BundIdLogin>, login_page: bool) -> Router<Services> {
    let mut pages = Router::new().route("/saml/login", get(start)).route("/abmelden", post(logout));
    if login_page {
        pages = pages.route("/anmelden", get(login_page_handler));
    }
    Router::new()
        .route("/saml/metadata", get(metadata))
        .route("/saml/jwks.json", get(jwks))
        .route("/saml/.well-known/openid-configuration", get(discovery))
        .route("/saml/session", get(session_token))
        .route("/sitzung", get(keep_session))
        // The IdP posts from its own site: outside the page layer's cross-site refusal.
        .route("/saml/acs", post(acs))
        .route("/saml/logout", get(logged_out))
        .merge(web::pages(pages))
        .layer(Extension(login))
}

async fn metadata(Extension(login): Extension<Arc<BundIdLogin>>) -> Response {
    match login.sp.metadata_xml() {
        Ok(xml) => ([(header::CONTENT_TYPE, "application/samlmetadata+xml")], xml).into_response(),
        Err(error) => {
            tracing::error!(%error, "SAML metadata");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn jwks(Extension(login): Extension<Arc<BundIdLogin>>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(login.session.jwks()).expect("JWKS serialise"))
}

/// Where API Gateway's JWT authorizer finds the session keys (it reads `{issuer}/.well-known/
/// openid-configuration`); only what a resource server needs, no login by OpenID Connect.
async fn discovery(Extension(login): Extension<Arc<BundIdLogin>>) -> Json<serde_json::Value> {
    let issuer = login.session.issuer();
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/jwks.json"),
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login_page_handler(page: Page, Query(query): Query<LoginQuery>) -> PageResult {
    let next = web::same_site_path(query.next.as_deref());
    let bundid = level_links(page.lang, next.as_deref());
    TEMPLATES.render(&page, "anmelden.html", context! { bundid })
}

#[derive(Deserialize)]
struct StartQuery {
    level: Option<String>,
    next: Option<String>,
}

/// A login the browser started and the IdP has yet to answer.
#[derive(Serialize, Deserialize)]
struct PendingLogin {
    level: TrustLevel,
    next: String,
}

fn pending_key(request_id: &str) -> Key {
    Key::new(format!("SAML#REQUEST#{request_id}"), "SAML#REQUEST")
}

fn used_assertion_key(idp: &str, assertion_id: &str) -> Key {
    Key::new(format!("SAML#ASSERTION#{idp}#{assertion_id}"), "SAML#ASSERTION")
}

async fn start(
    State(services): State<Services>,
    Extension(login): Extension<Arc<BundIdLogin>>,
    Query(query): Query<StartQuery>,
) -> PageResult {
    let level = match query.level.as_deref() {
        None | Some("") => login.default_level,
        Some(name) => TrustLevel::parse(name).ok_or_else(web::PageError::bad_request)?,
    };
    // Only paths of this site are followed after the login.
    let next = web::same_site_path(query.next.as_deref()).unwrap_or_else(|| "/antrag".to_owned());
    let now = services.clock.now();
    let request = AuthnRequest::new(level.as_str(), now);
    let mut item = Item::new(pending_key(&request.id), json!(PendingLogin { level, next }));
    item.expires_at = Some(now + REQUEST_LIFETIME);
    services.store.write(vec![Write::Put { item, condition: Condition::Absent }]).await?;
    let url = request.redirect_url(&login.sp, &login.idp, &request.id).map_err(|error| {
        tracing::error!(%error, "signing the AuthnRequest");
        web::PageError::internal()
    })?;
    tracing::info!(request = %request.id, level = level.as_str(), "BundID login started");
    let mut response = Redirect::to(&url).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        web::set_cookie_at(
            REQUEST_COOKIE,
            &request.id,
            "/saml/acs",
            web::SameSite::None,
            Some(REQUEST_LIFETIME.whole_seconds()),
        ),
    );
    Ok(response)
}

#[derive(Deserialize)]
struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: String,
}

/// Why a login was refused, beyond what the `saml` crate checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoginRefusal {
    /// The `saml` crate's refusal: what operators read in the log, what the browser is told.
    Saml {
        code: &'static str,
        public: &'static str,
    },
    /// The IdP says she cancelled or could not log in.
    Cancelled,
    /// The answer belongs to no login this browser started (or it was already used).
    UnknownRequest,
    Replay,
    LevelTooLow,
}

impl LoginRefusal {
    fn code(self) -> &'static str {
        match self {
            LoginRefusal::Saml { code, .. } => code,
            LoginRefusal::Cancelled => "cancelled",
            LoginRefusal::UnknownRequest => "unknown_request",
            LoginRefusal::Replay => "replay",
            LoginRefusal::LevelTooLow => "level_too_low",
        }
    }

    /// What the browser is told (shown for the help desk): one code for every response that
    /// did not prove to be BundID's, so that none tells an attacker which check failed.
    fn public_code(self) -> &'static str {
        match self {
            LoginRefusal::Saml { public, .. } => public,
            other => other.code(),
        }
    }

    /// What the page tells her.
    fn page_kind(self) -> &'static str {
        match self.public_code() {
            "cancelled" => "cancelled",
            "expired" => "expired",
            "replay" => "replay",
            "level_too_low" => "level",
            "unknown_request" | "unsolicited" => "unknown",
            _ => "unsafe",
        }
    }
}

async fn acs(
    State(services): State<Services>,
    Extension(login): Extension<Arc<BundIdLogin>>,
    page: Page,
    headers: HeaderMap,
    Form(form): Form<AcsForm>,
) -> Response {
    let page = page.at("/saml/acs");
    let result = accept(&services, &login, &headers, &form.saml_response).await;
    let response = match result {
        Ok((token, next)) => {
            let mut response = Redirect::to(&next).into_response();
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                web::set_cookie(SESSION_COOKIE, &token, Some(SESSION_LIFETIME.whole_seconds())),
            );
            headers.append(
                header::SET_COOKIE,
                web::set_cookie_at(REQUEST_COOKIE, "", "/saml/acs", web::SameSite::None, Some(0)),
            );
            Ok(response)
        }
        Err(Refused::Login(refusal)) => {
            tracing::warn!(refusal = refusal.code(), "BundID login refused");
            let (kind, code) = (refusal.page_kind(), refusal.public_code());
            let status = if refusal == LoginRefusal::Cancelled { StatusCode::OK } else { StatusCode::FORBIDDEN };
            TEMPLATES.render_with_status(status, &page, "abgelehnt.html", context! { kind, code })
        }
        Err(Refused::Store(error)) => Err(error.into()),
    };
    web::finish(&page, response)
}

enum Refused {
    Login(LoginRefusal),
    Store(StoreError),
}

impl From<LoginRefusal> for Refused {
    fn from(refusal: LoginRefusal) -> Self {
        Refused::Login(refusal)
    }
}

impl From<StoreError> for Refused {
    fn from(error: StoreError) -> Self {
        Refused::Store(error)
    }
}

/// The session token and where to go, for a verified answer to a login this browser started.
async fn accept(
    services: &Services,
    login: &BundIdLogin,
    headers: &HeaderMap,
    saml_response: &str,
) -> Result<(String, String), Refused> {
    let now = services.clock.now();
    let assertion = verify_response(saml_response, &login.sp, &login.idp, now).map_err(|refusal| match refusal {
        saml::Refusal::Status(code) if code.ends_with(":AuthnFailed") || code.ends_with(":RequestDenied") => {
            LoginRefusal::Cancelled
        }
        other => LoginRefusal::Saml { code: other.code(), public: other.public_code() },
    })?;
    let used_key = used_assertion_key(&login.idp.entity_id, &assertion.assertion_id);
    if services.store.get(&used_key).await?.is_some() {
        return Err(LoginRefusal::Replay.into());
    }
    if web::cookie(headers, REQUEST_COOKIE) != Some(assertion.in_response_to.as_str()) {
        return Err(LoginRefusal::UnknownRequest.into());
    }
    let pending_key = pending_key(&assertion.in_response_to);
    let pending = services.store.get(&pending_key).await?.ok_or(LoginRefusal::UnknownRequest)?;
    let PendingLogin { level: requested, next } =
        serde_json::from_value(pending.body.clone()).map_err(|e| StoreError::Backend(e.to_string()))?;
    let achieved = TrustLevel::parse(&assertion.authn_context).ok_or(LoginRefusal::LevelTooLow)?;
    if achieved < requested {
        return Err(LoginRefusal::LevelTooLow.into());
    }
    // One transaction: the request is answered once, the assertion used once.
    let mut used = Item::new(used_key, json!({}));
    used.expires_at = Some(assertion.valid_until + REPLAY_MARGIN);
    let writes = vec![
        Write::Delete { key: pending_key, condition: Condition::Version(pending.version) },
        Write::Put { item: used, condition: Condition::Absent },
    ];
    match services.store.write(writes).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed) => return Err(LoginRefusal::Replay.into()),
        Err(e) => return Err(e.into()),
    }
    let claims = CitizenClaims { auth_time: Some(now.unix_timestamp()), ..citizen_claims(&assertion, achieved) };
    let (token, _) = login.mint(&claims, now);
    tracing::info!(request = %assertion.in_response_to, level = %assertion.authn_context, "BundID login accepted");
    Ok((token, next))
}

/// The signed-in citizen's session token, for API clients of the same site.
async fn session_token(State(services): State<Services>, headers: HeaderMap) -> Response {
    let token = web::cookie(&headers, SESSION_COOKIE).unwrap_or_default();
    match services.verifier.verify(token).await {
        Ok(Principal::Citizen(_)) => {
            let mut response = Json(json!({"token": token})).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        _ => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// `GET /sitzung`, which every page of a signed-in citizen loads: renews her BundID session
/// while she is active ([`BundIdLogin::renewed`]). Always empty and never cached; anyone else's
/// session, or none, is left as it is.
async fn keep_session(
    State(services): State<Services>,
    Extension(login): Extension<Arc<BundIdLogin>>,
    headers: HeaderMap,
) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let token = web::cookie(&headers, SESSION_COOKIE).unwrap_or_default();
    if let Ok((Principal::Citizen(claims), until)) = login.sessions.verify_until(token).await {
        let now = services.clock.now();
        if let Some((token, expires_at)) = login.session.renewed(&claims, claims.auth_time, until, now) {
            let cookie = web::set_cookie(SESSION_COOKIE, &token, Some((expires_at - now).whole_seconds()));
            response.headers_mut().insert(header::SET_COOKIE, cookie);
        }
    }
    response
}

/// `POST /abmelden` from every page: ends our session and, for a BundID session where BundID
/// offers single logout, hers there too (any other session, a persona's or staff's, just ends).
async fn logout(
    State(services): State<Services>,
    Extension(login): Extension<Arc<BundIdLogin>>,
    headers: HeaderMap,
) -> Response {
    let token = web::cookie(&headers, SESSION_COOKIE).unwrap_or_default();
    let bundid_logout = login.sessions.verify(token).await.ok().and_then(|principal| match principal {
        Principal::Citizen(claims) => {
            let request = LogoutRequest::new(&claims.sub, services.clock.now());
            request.redirect_url(&login.sp, &login.idp, "/").ok().flatten()
        }
        _ => None,
    });
    web::signed_out(bundid_logout.as_deref().unwrap_or("/"))
}

/// Where BundID returns after single logout: our session is already gone.
async fn logged_out() -> Response {
    web::signed_out("/")
}
