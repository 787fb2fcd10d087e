//! Cookies and who is signed in: the citizen's or staff member's session from the `session`
//! cookie, and the way to `/anmelden` and back for everyone else.

use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::{Cookie, SameSite};
use time::OffsetDateTime;

use super::errors::error_page_of_kind;
use super::page::Page;
use crate::auth::{CitizenClaims, Principal, StaffClaims};
use crate::http::Call;
use crate::services::Services;
use crate::texts::Lang;

/// The cookie that carries the citizen's token for pages (HttpOnly, SameSite=Lax).
pub const SESSION_COOKIE: &str = "session";
/// The cookie that carries a staff member's session, sent to the office's pages only.
pub const STAFF_SESSION_COOKIE: &str = "amt_session";
/// Where the office's pages are, and so the staff cookie.
pub const STAFF_PATH: &str = "/amt";
/// The cookie that remembers the chosen language.
pub const LANG_COOKIE: &str = "lang";

/// The value of cookie `name`, from any `Cookie` header.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .and_then(|cookie| cookie.value_raw())
}

/// A `Set-Cookie` value for a cookie of the whole site that only the server reads.
pub fn set_cookie(name: &str, value: &str, max_age_seconds: Option<i64>) -> HeaderValue {
    set_cookie_at(name, value, "/", SameSite::Lax, max_age_seconds)
}

/// Like [`set_cookie`], for `path` only and with the given `SameSite`. Always `Secure`
/// (browsers count http://localhost and 127.0.0.1 as secure, so local mode keeps working).
pub fn set_cookie_at(
    name: &str,
    value: &str,
    path: &str,
    same_site: SameSite,
    max_age_seconds: Option<i64>,
) -> HeaderValue {
    let mut cookie = Cookie::build((name, value)).path(path).http_only(true).secure(true).same_site(same_site).build();
    if let Some(seconds) = max_age_seconds {
        cookie.set_max_age(time::Duration::seconds(seconds));
    }
    HeaderValue::from_str(&cookie.to_string()).expect("cookie values are plain ASCII")
}

/// The `Set-Cookie` value of a staff session (HttpOnly, Secure, SameSite=Lax, `/amt` only).
pub fn set_staff_cookie(token: &str, max_age_seconds: Option<i64>) -> HeaderValue {
    set_cookie_at(STAFF_SESSION_COOKIE, token, STAFF_PATH, SameSite::Lax, max_age_seconds)
}

/// Back to `to`, signed out: the session cookie is cleared.
pub fn signed_out(to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", Some(0)));
    response
}

/// Back to `to`, signed out of the office's pages: the staff cookie is cleared.
pub fn staff_signed_out(to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(header::SET_COOKIE, set_staff_cookie("", Some(0)));
    response
}

/// Whether a page is one of the office's (their own session, sign-in and sign-out).
pub fn is_staff_path(path: &str) -> bool {
    path == STAFF_PATH || path.starts_with("/amt/")
}

/// The session cookie a page at `path` reads.
fn session_cookie_of(path: &str) -> &'static str {
    if is_staff_path(path) { STAFF_SESSION_COOKIE } else { SESSION_COOKIE }
}

/// Whether the request carries a (not necessarily valid) session: the layout offers sign-out.
pub(super) fn has_session(headers: &HeaderMap, path: &str) -> bool {
    cookie(headers, session_cookie_of(path)).is_some_and(|token| !token.is_empty())
}

/// The citizen signed in by the `session` cookie. Anyone else is sent to `/anmelden` and comes
/// back here afterwards.
pub struct SignedIn(pub CitizenClaims);

impl FromRequestParts<Services> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, services: &Services) -> Result<Self, Self::Rejection> {
        match session(parts, services).await {
            Some(Principal::Citizen(claims)) => Ok(SignedIn(claims)),
            // A form cannot be replayed after signing in; she continues with the form.
            _ => Err(sign_in(parts, "/antrag")),
        }
    }
}

/// Like [`SignedIn`], with the moment her session ends (the verified `exp` of the session
/// token), for pages that tell her until when she is signed in.
pub struct SignedInUntil(pub CitizenClaims, pub OffsetDateTime);

impl FromRequestParts<Services> for SignedInUntil {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, services: &Services) -> Result<Self, Self::Rejection> {
        match session_until(parts, services).await {
            Some((Principal::Citizen(claims), until)) => Ok(SignedInUntil(claims, until)),
            _ => Err(sign_in(parts, "/antrag")),
        }
    }
}

/// A staff member of an office, signed in by the staff cookie (see the `staff-login`
/// function) for a session that has not been ended. Without one the page sends to the office's
/// sign-in (saying so when a session ran out); a citizen's or an operator's token there is
/// refused (403).
pub struct OfficeStaff(pub StaffClaims);

impl FromRequestParts<Services> for OfficeStaff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, services: &Services) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, STAFF_SESSION_COOKIE).unwrap_or_default();
        let verified = services.verifier.verify_until(token).await;
        let verified = verified.inspect_err(|reason| tracing::info!(%reason, "staff session refused")).ok();
        match verified {
            Some((Principal::Staff(claims), _)) if claims.office_id.is_some() => {
                if session_ended(services, &claims).await {
                    return Err(staff_sign_in(parts, true));
                }
                Ok(OfficeStaff(claims))
            }
            None => Err(staff_sign_in(parts, !token.is_empty())),
            Some(_) => {
                let Ok(lang) = Lang::from_request_parts(parts, services).await;
                Err(error_page_of_kind(&Page::from_parts(parts, lang), StatusCode::FORBIDDEN, "staff_only"))
            }
        }
    }
}

/// Whether the sign-in a session token belongs to was ended (signed out) or cannot be checked.
async fn session_ended(services: &Services, claims: &StaffClaims) -> bool {
    let Some(sid) = &claims.sid else { return false };
    match crate::records::staff_session(&*services.store, sid).await {
        Ok(Some(session)) => claims.office_id.as_deref() != Some(session.office_id.as_str()),
        Ok(None) => true,
        Err(error) => {
            tracing::error!(%error, "staff session not readable");
            true
        }
    }
}

/// The way to the office's sign-in and back here afterwards; `ran_out`: a session was there
/// and is over (the sign-in page says so).
fn staff_sign_in(parts: &Parts, ran_out: bool) -> Response {
    let next = if parts.method == Method::GET || parts.method == Method::HEAD {
        parts.uri.path_and_query().map_or(STAFF_PATH, |p| p.as_str()).to_owned()
    } else {
        form_page(parts).unwrap_or_else(|| STAFF_PATH.to_owned())
    };
    let mut query = vec![("next", next)];
    if ran_out {
        query.push(("abgelaufen", "1".to_owned()));
    }
    let query = serde_urlencoded::to_string(query).expect("plain pairs encode");
    Redirect::to(&format!("/amt/anmelden?{query}")).into_response()
}

/// A page request of a signed-in citizen: the services and her claims as a [`Call`], the page,
/// and the end of her session. Anyone else is sent to `/anmelden`, as with [`SignedIn`].
pub struct CitizenPage {
    pub call: Call<CitizenClaims>,
    pub page: Page,
    pub until: OffsetDateTime,
}

impl FromRequestParts<Services> for CitizenPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, services: &Services) -> Result<Self, Self::Rejection> {
        let SignedInUntil(who, until) = SignedInUntil::from_request_parts(parts, services).await?;
        let Ok(page) = Page::from_request_parts(parts, services).await;
        Ok(CitizenPage { call: Call { services: services.clone(), lang: page.lang, who }, page, until })
    }
}

/// A page request of a staff member of an office, as [`OfficeStaff`] admits them: the services
/// and their claims as a [`Call`], and the page.
pub struct StaffPage {
    pub call: Call<StaffClaims>,
    pub page: Page,
}

impl FromRequestParts<Services> for StaffPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, services: &Services) -> Result<Self, Self::Rejection> {
        let OfficeStaff(who) = OfficeStaff::from_request_parts(parts, services).await?;
        let Ok(page) = Page::from_request_parts(parts, services).await;
        Ok(StaffPage { call: Call { services: services.clone(), lang: page.lang, who }, page })
    }
}

/// Whoever the `session` cookie signs in, if anyone.
async fn session(parts: &Parts, services: &Services) -> Option<Principal> {
    session_until(parts, services).await.map(|(principal, _)| principal)
}

/// Whoever the `session` cookie signs in, and until when.
async fn session_until(parts: &Parts, services: &Services) -> Option<(Principal, OffsetDateTime)> {
    let token = cookie(&parts.headers, SESSION_COOKIE).unwrap_or_default();
    let verified = services.verifier.verify_until(token).await;
    verified.inspect_err(|reason| tracing::info!(%reason, "page session refused")).ok()
}

/// The way to `/anmelden` and back here afterwards. A form post cannot be replayed: she comes
/// back to the page the form was on (its `Referer`, when that is a page of this site), else to
/// `after_post`.
fn sign_in(parts: &Parts, after_post: &str) -> Response {
    let next = if parts.method == Method::GET || parts.method == Method::HEAD {
        parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned()
    } else {
        form_page(parts).unwrap_or_else(|| after_post.to_owned())
    };
    let query = serde_urlencoded::to_string([("next", next)]).expect("plain pairs encode");
    Redirect::to(&format!("/anmelden?{query}")).into_response()
}

/// The path (and query) of the page a form was posted from, if that page is on this host.
fn form_page(parts: &Parts) -> Option<String> {
    let header = |name| parts.headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let referer: axum::http::Uri = header(header::REFERER)?.parse().ok()?;
    let host = header(header::HOST)?;
    if referer.authority().map(|a| a.as_str()) != Some(host) {
        return None;
    }
    same_site_path(Some(referer.path_and_query()?.as_str()))
}

/// `next` (a `next` parameter, a `RelayState`, a referer's path) if a browser would read it as a
/// path of this site, as a value fit for a `Location` header; else `None` (the caller goes to
/// its start page). Browsers drop tabs and line breaks anywhere in a URL, trim control
/// characters and spaces, read `\` as `/`, and a later decoding may turn `%2F` or `%5C` into
/// one: `/%09/evil.example` is `//evil.example`, another host. So the check runs on what the
/// browser will read, and the answer is what a URL parser makes of it.
pub fn same_site_path(next: Option<&str>) -> Option<String> {
    let next = next?;
    let read: String = next.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    let read = read.trim_matches(|c: char| c.is_ascii_control() || c == ' ').replace('\\', "/");
    if read.chars().any(|c| c.is_control()) {
        return None;
    }
    let decoded = ["%2f", "%2F", "%5c", "%5C"].iter().fold(read.clone(), |text, encoded| text.replace(encoded, "/"));
    if !decoded.starts_with('/') || decoded.starts_with("//") {
        return None;
    }
    let base = url::Url::parse("https://this-site.invalid/").expect("a valid base");
    let joined = base.join(&read).ok()?;
    if joined.origin() != base.origin() {
        return None;
    }
    let query = joined.query().map(|q| format!("?{q}")).unwrap_or_default();
    Some(format!("{}{query}", joined.path()))
}

#[cfg(test)]
mod tests {
    use super::same_site_path;

    #[test]
    fn paths_of_this_site_are_followed() {
        assert_eq!(
            same_site_path(Some("/antrag/kind?zurueck=pruefen")).as_deref(),
            Some("/antrag/kind?zurueck=pruefen")
        );
        assert_eq!(same_site_path(Some("/amt")).as_deref(), Some("/amt"));
        assert_eq!(same_site_path(Some("/a b")).as_deref(), Some("/a%20b"), "encoded for the header");
    }

    #[test]
    fn whatever_a_browser_reads_as_another_site_is_not() {
        for hostile in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "\t//evil.example",
            " //evil.example",
            "/%2F/evil.example",
            "/%5c/evil.example",
            "\\\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "",
            "/\u{7f}/x",
            "/a\u{0}b",
        ] {
            assert_eq!(same_site_path(Some(hostile)), None, "{hostile:?}");
        }
        assert_eq!(same_site_path(None), None);
    }
}
