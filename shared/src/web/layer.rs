//! What every page router gets: the refusal of cross-site form posts (CSRF), the language
//! cookie for `?lang=`, the security headers, and a styled page for every error — a panic
//! included, never a raw 500. Also the routes every site has: the stylesheet and the fallbacks.

use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;

use super::errors::{PageError, PageResult, error_page};
use super::page::Page;
use super::post::is_cross_site;
use super::session::{LANG_COOKIE, set_cookie};
use super::upload::FormTargets;
use crate::http;
use crate::services::Services;
use crate::texts::Lang;

/// Headers of every page: no caching of personal data, no framing, no foreign content.
/// A page whose forms post to the document store (uploads) allows that origin too.
pub(super) fn with_page_headers(mut response: Response) -> Response {
    let targets = response.extensions().get::<FormTargets>().map(|targets| targets.0.join(" ")).unwrap_or_default();
    let policy = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' {targets}; \
         frame-ancestors 'none'; base-uri 'none'"
    )
    .replace(" ;", ";");
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_str(&policy).expect("origins are plain ASCII"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Paths carry request ids and certificate codes; they stay on this site.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn page_layer(request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let Ok(lang) = Lang::from_request_parts(&mut parts, &()).await;
    let page = Page::from_parts(&parts, lang);
    let changes = !matches!(parts.method, Method::GET | Method::HEAD);
    if changes && is_cross_site(&parts) {
        tracing::warn!(path = %parts.uri.path(), "cross-site form post refused");
        return error_page(&page, StatusCode::FORBIDDEN);
    }
    let chosen_lang = page.query("lang").and_then(Lang::parse);
    let response = next.run(Request::from_parts(parts, body)).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let status = response.status();
    let mut response = if (status.is_client_error() || status.is_server_error()) && !is_html {
        error_page(&page, status)
    } else {
        with_page_headers(response)
    };
    if let Some(lang) = chosen_lang {
        const ONE_YEAR: i64 = 365 * 24 * 60 * 60;
        response.headers_mut().append(header::SET_COOKIE, set_cookie(LANG_COOKIE, lang.code(), Some(ONE_YEAR)));
    }
    response
}

/// A panicking handler answers a bare 500, which the page layer turns into the error page.
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("page handler panicked");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// A page answered outside [`pages`] (a route that also speaks JSON): the page headers, and a
/// styled page for an error.
pub fn finish(page: &Page, result: PageResult) -> Response {
    match result {
        Ok(response) => with_page_headers(response),
        Err(PageError(status)) => error_page(page, status),
    }
}

/// Gives a function's page routes what every page needs (see the module comment).
pub fn pages(router: Router<Services>) -> Router<Services> {
    router.layer(CatchPanicLayer::custom(panicked)).layer(middleware::from_fn(page_layer))
}

const STYLESHEET: &str = include_str!("../../static/site.css");

/// `/static/site.css`. (`POST /abmelden`, in every page's header, belongs to the login.)
pub fn router() -> Router<Services> {
    Router::new().route("/static/site.css", get(stylesheet))
}

async fn stylesheet() -> Response {
    let mut response = STYLESHEET.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// 404 for paths nobody serves: the contract's JSON under `/api/`, a page elsewhere.
pub async fn fallback(page: Page) -> Response {
    if page.path().starts_with("/api/") {
        http::not_found(page.lang).await.into_response()
    } else {
        error_page(&page, StatusCode::NOT_FOUND)
    }
}

/// 405 likewise.
pub async fn method_not_allowed(page: Page) -> Response {
    if page.path().starts_with("/api/") {
        http::method_not_allowed(page.lang).await.into_response()
    } else {
        error_page(&page, StatusCode::METHOD_NOT_ALLOWED)
    }
}
