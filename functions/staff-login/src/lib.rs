//! The office's sign-in (`/amt/anmelden`): case workers sign in at their office's own OpenID
//! Connect provider (code flow with PKCE, [`shared::oidc`]) and get our own session for the
//! office's pages.
//!
//! `GET /amt/anmelden` lists the offices that have a provider (search by name or postcode);
//! `?office=` sends the browser to that office's provider with `state`, `nonce` and the PKCE
//! challenge, remembered in the store and bound to the browser by a cookie. The provider sends
//! it back to `/amt/anmelden/callback`, which redeems the code once, verifies the ID token fully
//! and takes the roles from the office's roles claim; without a known role there is no session.
//! The session is a short-lived token of ours (ES256, `amt_session`, HttpOnly, `/amt` only),
//! renewed while they are active (`/amt/sitzung`, which every office page loads) up to
//! [`SESSION_MAX`] after the sign-in, with a record that signing out deletes
//! (`POST /amt/abmelden`, which also ends the session at the provider where it offers that).

mod setup;

use std::sync::{Arc, LazyLock};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::auth::{AuthError, Principal, SessionSigner, StaffClaims, TrustedIssuer, Verifier};
use shared::domain::office::{Office, StaffIdentityProvider, client_secret_name};
use shared::office_idp::{OfficeIdentityProviders, staff_of};
use shared::oidc::{Authorization, Discovery, OidcError, check_id_token, end_session_url, redeem};
use shared::ports::{Condition, Item, Key, SecretStore, StoreError, Write};
use shared::records::{self, StaffSession};
use shared::services::Services;
use shared::web::{self, Page, PageError, PageResult, STAFF_SESSION_COOKIE, Templates, context};
use time::{Duration, OffsetDateTime};

pub use setup::SetupError;

/// Without activity a session ends after this.
pub const SESSION_IDLE: Duration = Duration::minutes(30);
/// A working day: how long after the sign-in at the provider a session may be renewed.
pub const SESSION_MAX: Duration = Duration::hours(10);
/// How long a started sign-in may take at the provider.
const SIGN_IN_LIFETIME: Duration = Duration::minutes(10);
/// Binds the provider's answer to the browser that started the sign-in.
const SIGN_IN_COOKIE: &str = "amt_login";
const CALLBACK_PATH: &str = "/amt/anmelden/callback";
const SIGNED_OUT_PATH: &str = "/amt/abgemeldet";

/// The office sign-in with the key that signs staff sessions.
pub struct StaffLogin {
    base: String,
    session: SessionSigner,
    /// Verifies this function's own sessions only.
    sessions: Verifier,
    discovery: Arc<Discovery>,
    providers: Arc<OfficeIdentityProviders>,
    secrets: Arc<dyn SecretStore>,
    /// Local mode: the sign-in page points to the development personas too.
    personas: bool,
}

impl StaffLogin {
    /// The issuer the office's functions trust for staff sessions.
    pub fn trusted_issuer(&self) -> TrustedIssuer {
        self.session.trusted()
    }

    fn redirect_uri(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.base)
    }
}

static TEMPLATES: LazyLock<Templates> = LazyLock::new(|| {
    Templates::new(&[
        ("amt-anmelden.html", include_str!("../templates/amt-anmelden.html")),
        ("amt-abgelehnt.html", include_str!("../templates/amt-abgelehnt.html")),
        ("amt-abgemeldet.html", include_str!("../templates/amt-abgemeldet.html")),
    ])
});

pub fn router(login: Arc<StaffLogin>) -> Router<Services> {
    let pages = Router::new()
        .route("/amt/anmelden", get(sign_in))
        .route(CALLBACK_PATH, get(callback))
        .route("/amt/abmelden", post(sign_out))
        .route(SIGNED_OUT_PATH, get(signed_out));
    Router::new()
        .route("/amt/anmelden/jwks.json", get(jwks))
        .route("/amt/sitzung", get(keep_session))
        .merge(web::pages(pages))
        .layer(Extension(login))
}

async fn jwks(Extension(login): Extension<Arc<StaffLogin>>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(login.session.jwks()).expect("JWKS serialise"))
}

// --- starting ---------------------------------------------------------------------------------

#[derive(Deserialize)]
struct SignInQuery {
    office: Option<String>,
    #[serde(default)]
    q: String,
    next: Option<String>,
    abgelaufen: Option<String>,
}

#[derive(Serialize)]
struct OfficeLink {
    name: String,
    href: String,
}

/// A sign-in the browser started and the provider has yet to answer.
#[derive(Serialize, Deserialize)]
struct PendingSignIn {
    office_id: String,
    issuer: String,
    client_id: String,
    nonce: String,
    code_verifier: String,
    next: String,
}

fn pending_key(state: &str) -> Key {
    Key::new(format!("STAFFLOGIN#{state}"), "STAFFLOGIN")
}

/// Only the office's pages are followed after signing in.
fn next_page(next: Option<&str>) -> String {
    web::same_site_path(next)
        .filter(|next| web::is_staff_path(next.split('?').next().unwrap_or_default()))
        .unwrap_or_else(|| web::STAFF_PATH.to_owned())
}

async fn sign_in(
    State(services): State<Services>,
    Extension(login): Extension<Arc<StaffLogin>>,
    page: Page,
    Query(query): Query<SignInQuery>,
) -> PageResult {
    let directory = services.directory.get().await?;
    let next = next_page(query.next.as_deref());
    let Some(office_id) = query.office.as_deref() else {
        let with_next = |office: &Office| {
            serde_urlencoded::to_string([("office", office.id.as_str()), ("next", next.as_str())])
                .map(|q| format!("/amt/anmelden?{q}"))
                .expect("plain pairs encode")
        };
        let offices: Vec<OfficeLink> = directory
            .offices_signing_in(&query.q)
            .into_iter()
            .map(|office| OfficeLink { name: office.name.clone(), href: with_next(office) })
            .collect();
        let ran_out = query.abgelaufen.is_some();
        // Local mode: the development personas' login, coming back to the same page.
        let personas = login.personas.then(|| {
            let query = serde_urlencoded::to_string([("next", next.as_str())]).expect("plain pairs encode");
            format!("/anmelden?{query}")
        });
        let context = context! { offices, q => query.q, next, ran_out, personas };
        return TEMPLATES.render(&page, "amt-anmelden.html", context);
    };
    let office = directory.get(office_id).ok_or_else(PageError::not_found)?;
    let provider = office.staff_identity_provider.as_ref().ok_or_else(PageError::not_found)?;
    let metadata = match login.discovery.get(&provider.issuer).await {
        Ok(metadata) => metadata,
        Err(error) => return refused(&page, Refusal::Unavailable(error)),
    };
    let authorization = Authorization::new();
    let pending = PendingSignIn {
        office_id: office.id.clone(),
        issuer: provider.issuer.clone(),
        client_id: provider.client_id.clone(),
        nonce: authorization.nonce.clone(),
        code_verifier: authorization.code_verifier.clone(),
        next,
    };
    let now = services.clock.now();
    let mut item = Item::new(pending_key(&authorization.state), json!(pending));
    item.expires_at = Some(now + SIGN_IN_LIFETIME);
    services.store.write(vec![Write::Put { item, condition: Condition::Absent }]).await?;
    tracing::info!(office_id = %office.id, "staff sign-in started");
    let mut response =
        Redirect::to(&authorization.url(&metadata, &provider.client_id, &login.redirect_uri())).into_response();
    let cookie = web::set_cookie_at(
        SIGN_IN_COOKIE,
        &authorization.state,
        CALLBACK_PATH,
        web::SameSite::Lax,
        Some(SIGN_IN_LIFETIME.whole_seconds()),
    );
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

// --- the provider's answer --------------------------------------------------------------------

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Why a sign-in was refused: each says so on its page, with a code for the help desk.
#[derive(Debug)]
enum Refusal {
    /// The provider says they cancelled or may not sign in.
    Cancelled,
    /// The answer belongs to no sign-in this browser started (or it was used already).
    UnknownSignIn,
    /// The provider would not redeem the code (used, expired, another client's).
    CodeRefused,
    /// The ID token failed a check.
    Token(AuthError),
    /// The token names no role the office knows.
    NoRole,
    /// The provider cannot be reached or answered nonsense.
    Unavailable(OidcError),
}

impl Refusal {
    fn kind(&self) -> &'static str {
        match self {
            Refusal::Cancelled => "cancelled",
            Refusal::UnknownSignIn => "unknown",
            Refusal::CodeRefused => "code",
            Refusal::Token(_) => "token",
            Refusal::NoRole => "no_role",
            Refusal::Unavailable(_) => "unavailable",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Refusal::Cancelled => StatusCode::OK,
            Refusal::Unavailable(_) => StatusCode::BAD_GATEWAY,
            _ => StatusCode::FORBIDDEN,
        }
    }
}

fn refused(page: &Page, refusal: Refusal) -> PageResult {
    match &refusal {
        Refusal::Token(reason) => tracing::warn!(%reason, "staff sign-in refused: ID token"),
        Refusal::Unavailable(error) => tracing::error!(%error, "staff sign-in: provider unavailable"),
        other => tracing::warn!(refusal = other.kind(), "staff sign-in refused"),
    }
    let kind = refusal.kind();
    let mut response = TEMPLATES.render_with_status(refusal.status(), page, "amt-abgelehnt.html", context! { kind })?;
    response.headers_mut().append(header::SET_COOKIE, web::set_staff_cookie("", Some(0)));
    Ok(response)
}

async fn callback(
    State(services): State<Services>,
    Extension(login): Extension<Arc<StaffLogin>>,
    page: Page,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> PageResult {
    match accept(&services, &login, &headers, query).await {
        Ok((token, next)) => {
            let mut response = Redirect::to(&next).into_response();
            let cookies = response.headers_mut();
            cookies.append(header::SET_COOKIE, web::set_staff_cookie(&token, Some(SESSION_IDLE.whole_seconds())));
            cookies.append(
                header::SET_COOKIE,
                web::set_cookie_at(SIGN_IN_COOKIE, "", CALLBACK_PATH, web::SameSite::Lax, Some(0)),
            );
            Ok(response)
        }
        Err(Failed::Refused(refusal)) => refused(&page, refusal),
        Err(Failed::Store(error)) => Err(error.into()),
    }
}

enum Failed {
    Refused(Refusal),
    Store(StoreError),
}

impl From<Refusal> for Failed {
    fn from(refusal: Refusal) -> Self {
        Failed::Refused(refusal)
    }
}

impl From<StoreError> for Failed {
    fn from(error: StoreError) -> Self {
        Failed::Store(error)
    }
}

/// The session token (for [`SESSION_IDLE`]) and where to go, for the provider's answer to a
/// sign-in this browser started.
async fn accept(
    services: &Services,
    login: &StaffLogin,
    headers: &HeaderMap,
    query: CallbackQuery,
) -> Result<(String, String), Failed> {
    let state = query.state.filter(|state| !state.is_empty()).ok_or(Refusal::UnknownSignIn)?;
    if web::cookie(headers, SIGN_IN_COOKIE) != Some(state.as_str()) {
        return Err(Refusal::UnknownSignIn.into());
    }
    let key = pending_key(&state);
    let pending_item = services.store.get(&key).await?.ok_or(Refusal::UnknownSignIn)?;
    // Used up before anything else: a second answer to the same sign-in finds nothing.
    match services.store.write(vec![Write::Delete { key, condition: Condition::Version(pending_item.version) }]).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed) => return Err(Refusal::UnknownSignIn.into()),
        Err(error) => return Err(error.into()),
    }
    if query.error.is_some() {
        return Err(Refusal::Cancelled.into());
    }
    let code = query.code.filter(|code| !code.is_empty()).ok_or(Refusal::UnknownSignIn)?;
    let pending: PendingSignIn =
        serde_json::from_value(pending_item.body).map_err(|e| StoreError::Backend(e.to_string()))?;
    // The office's provider as it is now: a sign-in started before a change does not count.
    let directory = services.directory.get().await?;
    let provider = directory
        .get(&pending.office_id)
        .and_then(|office| office.staff_identity_provider.as_ref())
        .filter(|provider| provider.issuer == pending.issuer && provider.client_id == pending.client_id)
        .ok_or(Refusal::UnknownSignIn)?;
    let metadata = login.discovery.get(&provider.issuer).await.map_err(Refusal::Unavailable)?;
    let secret = client_secret(login, &pending.office_id, provider).await?;
    let redirect_uri = login.redirect_uri();
    let redeemed = redeem(
        login.discovery.client(),
        &metadata,
        provider,
        &code,
        &pending.code_verifier,
        &redirect_uri,
        secret.as_deref(),
    )
    .await;
    let id_token = match redeemed {
        Ok(id_token) => id_token,
        Err(OidcError::CodeRefused(_)) => return Err(Refusal::CodeRefused.into()),
        Err(error) => return Err(Refusal::Unavailable(error).into()),
    };
    let now = services.clock.now();
    let jwks_url = login.providers.jwks_url(provider).await.ok_or(Refusal::Token(AuthError::UnknownKey))?;
    let claims = login
        .providers
        .keys()
        .verify(&jwks_url, |keys| check_id_token(&id_token, provider, keys, &pending.nonce, now))
        .await
        .map_err(Refusal::Token)?;
    let mut staff = match staff_of(&pending.office_id, provider, &claims) {
        Ok(staff) => staff,
        Err(AuthError::NoRole) => return Err(Refusal::NoRole.into()),
        Err(reason) => return Err(Refusal::Token(reason).into()),
    };
    let sid = Authorization::new().state;
    let session = StaffSession { office_id: pending.office_id.clone(), id_token };
    records::start_staff_session(&*services.store, &sid, &session, now + SESSION_MAX).await?;
    staff.sid = Some(sid);
    staff.auth_time = Some(now.unix_timestamp());
    let (token, _) = login.session.sign(&staff, now);
    tracing::info!(office_id = %pending.office_id, roles = ?staff.roles, "staff signed in");
    Ok((token, pending.next))
}

/// The secret of a confidential client, from the secret store; an office marked confidential
/// without one stored is an operator's matter.
async fn client_secret(
    login: &StaffLogin,
    office_id: &str,
    provider: &StaffIdentityProvider,
) -> Result<Option<String>, Refusal> {
    if !provider.confidential {
        return Ok(None);
    }
    let unavailable =
        |reason: String| Refusal::Unavailable(OidcError::Unavailable { issuer: provider.issuer.clone(), reason });
    let secret = login.secrets.get(&client_secret_name(office_id)).await.map_err(|e| unavailable(e.to_string()))?;
    let secret = secret.ok_or_else(|| unavailable("no client secret in the secret store".into()))?;
    String::from_utf8(secret).map(Some).map_err(|_| unavailable("the client secret is not text".into()))
}

// --- while signed in --------------------------------------------------------------------------

/// The session of the staff cookie, if it is one of ours and has not been ended.
async fn current_session(
    services: &Services,
    login: &StaffLogin,
    headers: &HeaderMap,
) -> Option<(StaffClaims, OffsetDateTime, StaffSession)> {
    let token = web::cookie(headers, STAFF_SESSION_COOKIE)?;
    let Ok((Principal::Staff(claims), until)) = login.sessions.verify_until(token).await else { return None };
    let session = records::staff_session(&*services.store, claims.sid.as_deref()?).await.ok()??;
    Some((claims, until, session))
}

/// `GET /amt/sitzung`, which every office page loads: renews the session while they are active
/// ([`StaffLogin::renewed`]). Always empty and never cached.
async fn keep_session(
    State(services): State<Services>,
    Extension(login): Extension<Arc<StaffLogin>>,
    headers: HeaderMap,
) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some((claims, until, _)) = current_session(&services, &login, &headers).await {
        let now = services.clock.now();
        if let Some((token, expires_at)) = login.session.renewed(&claims, claims.auth_time, until, now) {
            let cookie = web::set_staff_cookie(&token, Some((expires_at - now).whole_seconds()));
            response.headers_mut().insert(header::SET_COOKIE, cookie);
        }
    }
    response
}

/// `POST /amt/abmelden`: ends the session here (its record, so the token counts nowhere any
/// more) and at the provider, where it offers RP-initiated logout.
async fn sign_out(
    State(services): State<Services>,
    Extension(login): Extension<Arc<StaffLogin>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some((claims, _, session)) = current_session(&services, &login, &headers).await else {
        return Ok(web::staff_signed_out(SIGNED_OUT_PATH));
    };
    let sid = claims.sid.as_deref().expect("a current session has its sign-in");
    records::end_staff_session(&*services.store, sid).await?;
    tracing::info!(office_id = %session.office_id, "staff signed out");
    let directory = services.directory.get().await?;
    let provider = directory.get(&session.office_id).and_then(|office| office.staff_identity_provider.as_ref());
    let back = format!("{}{SIGNED_OUT_PATH}", login.base);
    let at_provider = match provider {
        Some(provider) => match login.discovery.get(&provider.issuer).await {
            Ok(metadata) => end_session_url(&metadata, &provider.client_id, &session.id_token, &back),
            Err(error) => {
                tracing::warn!(%error, "the provider's session could not be ended");
                None
            }
        },
        None => None,
    };
    Ok(web::staff_signed_out(at_provider.as_deref().unwrap_or(SIGNED_OUT_PATH)))
}

async fn signed_out(page: Page) -> PageResult {
    TEMPLATES.render(&page, "amt-abgemeldet.html", context! {})
}
