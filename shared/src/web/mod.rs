//! What every function's web pages share: server-rendered HTML in the three languages, one
//! layout, the session cookie, and the protections every page gets.
//!
//! - [`Templates`]: minijinja with the shared layout and form macros; `t(key, name=value)` reads
//!   the text catalogue in the page's language and fails on a missing key.
//! - [`Page`]: the language and address of the request (for the language switch).
//! - [`SignedIn`]: the citizen from the `session` cookie, else a redirect to `/anmelden`;
//!   [`SignedInUntil`] also says until when her session holds.
//! - [`OfficeStaff`]: likewise a staff member of an office; anyone else signed in is refused.
//! - [`pages`]: wraps a function's page routes: refuses cross-site form posts (CSRF), remembers
//!   `?lang=` in a cookie, sets security headers, and turns every error (even a panic) into a
//!   styled page in the right language — never a raw 500.
//! - [`router`]: the stylesheet and sign-out; [`fallback`]: HTML 404 outside `/api/`.

pub mod form;

use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use minijinja::value::{Kwargs, merge_maps};
use minijinja::{Environment, Error, ErrorKind, State};
// Pages build their template context with these.
pub use minijinja::{Value, context};
use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::auth::{CitizenClaims, Principal, StaffClaims};
use crate::domain::message::{Author, Message};
use crate::domain::office::Office;
use crate::domain::upload::{self, FileType, MAX_UPLOAD_BYTES, UploadProblem};
use crate::domain::values::in_germany;
use crate::http::{self, ApiError, Services};
use crate::ports::{DocumentError, StoreError};
use crate::texts::{Lang, lookup, text};

/// The cookie that carries the citizen's token for pages (HttpOnly, SameSite=Lax).
pub const SESSION_COOKIE: &str = "session";
/// The cookie that remembers the chosen language.
pub const LANG_COOKIE: &str = "lang";

/// The value of cookie `name`, from any `Cookie` header.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// A `Set-Cookie` value for a cookie of the whole site that only the server reads.
pub fn set_cookie(name: &str, value: &str, max_age_seconds: Option<i64>) -> HeaderValue {
    set_cookie_at(name, value, "/", "Lax", max_age_seconds)
}

/// Like [`set_cookie`], for `path` only and with the given `SameSite`. Always `Secure`
/// (browsers count http://localhost and 127.0.0.1 as secure, so local mode keeps working).
pub fn set_cookie_at(
    name: &str,
    value: &str,
    path: &str,
    same_site: &str,
    max_age_seconds: Option<i64>,
) -> HeaderValue {
    let max_age = max_age_seconds.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    HeaderValue::from_str(&format!("{name}={value}; Path={path}; HttpOnly; Secure; SameSite={same_site}{max_age}"))
        .expect("cookie values are plain ASCII")
}

/// Back to `to`, signed out: the session cookie is cleared.
pub fn signed_out(to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", Some(0)));
    response
}

// --- the request as a page sees it ------------------------------------------------------------

/// The language and the address of a page request.
#[derive(Debug, Clone)]
pub struct Page {
    pub lang: Lang,
    path: String,
    query: Vec<(String, String)>,
    signed_in: bool,
}

impl Page {
    fn from_parts(parts: &Parts, lang: Lang) -> Page {
        let query = parts.uri.query().and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
        Page {
            lang,
            path: parts.uri.path().to_owned(),
            query,
            signed_in: cookie(&parts.headers, SESSION_COOKIE).is_some_and(|token| !token.is_empty()),
        }
    }

    /// The same page as reached by `path` (a form posted elsewhere shows the page it belongs to).
    pub fn at(mut self, path: &str) -> Page {
        self.path = path.to_owned();
        self.query.clear();
        self
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// A query parameter of the request.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The links of the language switch: this page with `lang=` set, the rest of the query kept.
    fn languages(&self) -> Vec<LanguageLink> {
        Lang::ALL
            .into_iter()
            .map(|lang| {
                let mut query: Vec<(&str, &str)> =
                    self.query.iter().filter(|(k, _)| k != "lang").map(|(k, v)| (k.as_str(), v.as_str())).collect();
                query.push(("lang", lang.code()));
                let query = serde_urlencoded::to_string(&query).expect("plain pairs encode");
                LanguageLink {
                    href: format!("{}?{query}", self.path),
                    label: lookup(lang, &format!("common.lang_{}", lang.code())).unwrap_or(lang.code()),
                    tag: lang.tag(),
                    current: lang == self.lang,
                }
            })
            .collect()
    }
}

#[derive(Serialize)]
struct LanguageLink {
    href: String,
    label: &'static str,
    tag: &'static str,
    current: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(lang) = Lang::from_request_parts(parts, state).await;
        Ok(Page::from_parts(parts, lang))
    }
}

// --- sign-in --------------------------------------------------------------------------------

/// The citizen signed in by the `session` cookie. Anyone else is sent to `/anmelden` and comes
/// back here afterwards.
pub struct SignedIn(pub CitizenClaims);

impl FromRequestParts<Services> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, services: &Services) -> Result<Self, Self::Rejection> {
        match session(parts, services) {
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
        match session_until(parts, services) {
            Some((Principal::Citizen(claims), until)) => Ok(SignedInUntil(claims, until)),
            _ => Err(sign_in(parts, "/antrag")),
        }
    }
}

/// A staff member of an office, signed in by the `session` cookie. Without a session the page
/// sends to `/anmelden`; a citizen or an operator without an office is refused (403).
pub struct OfficeStaff(pub StaffClaims);

impl FromRequestParts<Services> for OfficeStaff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, services: &Services) -> Result<Self, Self::Rejection> {
        match session(parts, services) {
            Some(Principal::Staff(claims)) if claims.office_id.is_some() => Ok(OfficeStaff(claims)),
            None => Err(sign_in(parts, "/amt")),
            Some(_) => {
                let Ok(lang) = Lang::from_request_parts(parts, services).await;
                Err(error_page_of_kind(&Page::from_parts(parts, lang), StatusCode::FORBIDDEN, "staff_only"))
            }
        }
    }
}

/// Whoever the `session` cookie signs in, if anyone.
fn session(parts: &Parts, services: &Services) -> Option<Principal> {
    session_until(parts, services).map(|(principal, _)| principal)
}

/// Whoever the `session` cookie signs in, and until when.
fn session_until(parts: &Parts, services: &Services) -> Option<(Principal, OffsetDateTime)> {
    let token = cookie(&parts.headers, SESSION_COOKIE).unwrap_or_default();
    services.verifier.verify_until(token).inspect_err(|reason| tracing::info!(%reason, "page session refused")).ok()
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
    same_site_path(Some(referer.path_and_query()?.as_str())).map(str::to_owned)
}

/// `next` if it is a path of this site: browsers follow `//host` and `/\host` elsewhere.
pub fn same_site_path(next: Option<&str>) -> Option<&str> {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\"))
}

// --- forms ----------------------------------------------------------------------------------

/// An `application/x-www-form-urlencoded` body as field → value (the first value of a name).
pub struct FormData(pub BTreeMap<String, String>);

impl FormData {
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Form(pairs) =
            Form::<Vec<(String, String)>>::from_request(request, state).await.map_err(IntoResponse::into_response)?;
        let mut fields = BTreeMap::new();
        for (name, value) in pairs {
            fields.entry(name).or_insert(value);
        }
        Ok(FormData(fields))
    }
}

/// A file of a multipart form post, read up to [`MAX_UPLOAD_BYTES`] (the rest is read and
/// dropped, so that she gets an answer rather than a broken connection).
pub struct ReceivedFile {
    /// The name on her device, without control characters, at most 100 characters.
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub too_large: bool,
}

impl ReceivedFile {
    /// The file of `field`; `None` for a file input left empty.
    pub async fn read(mut field: Field<'_>) -> Result<Option<ReceivedFile>, MultipartError> {
        let file_name: String =
            field.file_name().unwrap_or_default().chars().filter(|c| !c.is_control()).take(100).collect();
        let mut bytes = Vec::new();
        let mut too_large = false;
        while let Some(chunk) = field.chunk().await? {
            if bytes.len() + chunk.len() > MAX_UPLOAD_BYTES {
                too_large = true;
                bytes.clear();
            } else if !too_large {
                bytes.extend_from_slice(&chunk);
            }
        }
        // A file input left empty arrives as a part without name and content.
        let empty = file_name.is_empty() && bytes.is_empty() && !too_large;
        Ok((!empty).then_some(ReceivedFile { file_name, bytes, too_large }))
    }

    /// Whether we take the file: by its size and content (see [`upload::check`]).
    pub fn check(&self) -> Result<FileType, UploadProblem> {
        if self.too_large { Err(UploadProblem::TooLarge) } else { upload::check(&self.bytes) }
    }
}

// --- errors ---------------------------------------------------------------------------------

/// A page that cannot be shown; [`pages`] renders it as a styled error page.
#[derive(Debug)]
pub struct PageError(StatusCode);

impl PageError {
    pub fn not_found() -> PageError {
        PageError(StatusCode::NOT_FOUND)
    }
    pub fn bad_request() -> PageError {
        PageError(StatusCode::BAD_REQUEST)
    }
    pub fn internal() -> PageError {
        PageError(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "state store failed");
        PageError::internal()
    }
}

/// An API error of a function whose pages act through the same code: its status.
impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        PageError(error.status())
    }
}

impl From<DocumentError> for PageError {
    fn from(error: DocumentError) -> Self {
        tracing::error!(%error, "document store failed");
        PageError::internal()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

pub type PageResult = Result<Response, PageError>;

// --- templates ------------------------------------------------------------------------------

const LAYOUT: &str = include_str!("../../templates/layout.html");
const MACROS: &str = include_str!("../../templates/macros.html");
const ERROR_PAGE: &str = include_str!("../../templates/error.html");

/// The templates of one function: the shared layout and macros plus the function's pages.
pub struct Templates {
    environment: Environment<'static>,
}

impl Templates {
    /// `pages` are `(name, source)` pairs; names end in `.html`, which turns on HTML escaping.
    pub fn new(pages: &[(&'static str, &'static str)]) -> Templates {
        let mut environment = Environment::new();
        environment.add_function("t", translate);
        for (name, source) in [("layout.html", LAYOUT), ("macros.html", MACROS), ("error.html", ERROR_PAGE)]
            .into_iter()
            .chain(pages.iter().copied())
        {
            environment.add_template(name, source).unwrap_or_else(|e| panic!("template {name}: {e:#}"));
        }
        Templates { environment }
    }

    /// Renders `template` with `context` and the layout's values, answered with 200.
    pub fn render(&self, page: &Page, template: &str, context: Value) -> PageResult {
        self.render_with_status(StatusCode::OK, page, template, context)
    }

    /// Renders with another status (422 for a form with errors).
    pub fn render_with_status(&self, status: StatusCode, page: &Page, template: &str, context: Value) -> PageResult {
        let html = self.html(page, template, context).map_err(|error| {
            tracing::error!(error = %format!("{error:#}"), template, "page failed to render");
            PageError::internal()
        })?;
        Ok((status, Html(html)).into_response())
    }

    fn html(&self, page: &Page, template: &str, context: Value) -> Result<String, Error> {
        let base = context! {
            lang => page.lang.code(),
            lang_tag => page.lang.tag(),
            languages => page.languages(),
            signed_in => page.signed_in,
        };
        self.environment.get_template(template)?.render(merge_maps([base, context]))
    }
}

/// `t(key, name=value, …)`: the text in the page's language, `{name}` filled in.
fn translate(state: &State, key: &str, kwargs: Kwargs) -> Result<String, Error> {
    let lang = state.lookup("lang").and_then(|code| code.as_str().and_then(Lang::parse)).unwrap_or_default();
    let mut filled = lookup(lang, key)
        .ok_or_else(|| Error::new(ErrorKind::UndefinedError, format!("text {key} is missing in {}", lang.code())))?
        .to_owned();
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        filled = filled.replace(&format!("{{{name}}}"), &value.to_string());
    }
    Ok(filled)
}

/// A catalogue text with `{name}` placeholders filled in.
pub fn fill(lang: Lang, key: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(text(lang, key).to_owned(), |filled, (name, value)| filled.replace(&format!("{{{name}}}"), value))
}

/// A date as the language writes it: `23. Dezember 2026`, `23 December 2026`.
pub fn format_date(lang: Lang, date: Date) -> String {
    let month = text(lang, "common.months").split(',').nth(usize::from(u8::from(date.month())) - 1).unwrap_or("");
    fill(
        lang,
        "common.date",
        &[("day", &date.day().to_string()), ("month", month.trim()), ("year", &date.year().to_string())],
    )
}

/// An instant in German local time: `23. November 2026, 10:15 Uhr`.
pub fn format_date_time(lang: Lang, at: OffsetDateTime) -> String {
    let local = in_germany(at);
    let time = format!("{:02}:{:02}", local.hour(), local.minute());
    fill(lang, "common.date_time", &[("date", &format_date(lang, local.date())), ("time", &time)])
}

/// A file size as people read it: `1,2 MB`, `340 KB`.
pub fn file_size(lang: Lang, bytes: u64) -> String {
    let kilobytes = bytes.div_ceil(1024);
    if kilobytes < 1024 {
        return format!("{kilobytes} KB");
    }
    let megabytes = format!("{:.1}", bytes as f64 / (1024.0 * 1024.0));
    format!("{} MB", megabytes.replace('.', text(lang, "common.decimal_separator")))
}

/// A certificate code in groups of four, as printed: `K7QM 2XWA 9TZP 4HBN 3XYZ`.
pub fn code_groups(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    chars.chunks(4).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

/// An office's contact data as pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct OfficeView {
    pub name: String,
    pub street: String,
    pub city: String,
    pub phone: String,
    /// The number for a `tel:` link: `+` and digits only.
    pub phone_href: String,
    pub email: String,
    pub opening_hours: Option<String>,
}

impl From<&Office> for OfficeView {
    fn from(office: &Office) -> Self {
        let address = &office.address;
        OfficeView {
            name: office.name.clone(),
            street: format!("{} {}", address.street, address.house_number),
            city: format!("{} {}", address.postcode, address.city),
            phone: office.phone.clone(),
            // Only the number itself: what follows in brackets is a remark.
            phone_href: office
                .phone
                .split('(')
                .next()
                .unwrap_or_default()
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '+')
                .collect(),
            email: office.email.clone(),
            opening_hours: office.opening_hours.clone(),
        }
    }
}

/// A message between the office and the mother, as both sides' pages show it (`from` in the
/// words of the side reading it).
#[derive(Debug, Clone, Serialize)]
pub struct MessageView {
    pub from: String,
    pub from_office: bool,
    pub at: String,
    pub text: String,
    /// The document the office asks for with it.
    pub asks_for: Option<String>,
}

impl MessageView {
    /// `office_key` and `citizen_key` name the authors in the catalogue.
    pub fn new(lang: Lang, message: &Message, office_key: &str, citizen_key: &str) -> MessageView {
        let from_office = matches!(message.author, Author::Office { .. });
        MessageView {
            from: text(lang, if from_office { office_key } else { citizen_key }).to_owned(),
            from_office,
            at: format_date_time(lang, message.at),
            text: message.text.as_str().to_owned(),
            asks_for: message.asks_for.map(|kind| text(lang, &format!("nachweise.kind.{}", kind.code())).to_owned()),
        }
    }
}

// --- the layer every page router gets ----------------------------------------------------------

/// The shared layout's own templates, for error pages.
static SHARED: LazyLock<Templates> = LazyLock::new(|| Templates::new(&[]));

/// A styled error page for `status` in the page's language, with the page headers.
pub fn error_page(page: &Page, status: StatusCode) -> Response {
    let kind = match status {
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => "not_found",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        status if status.is_client_error() => "bad_request",
        _ => "internal",
    };
    error_page_of_kind(page, status, kind)
}

/// The error page with the texts `errorpage.{kind}.*`.
fn error_page_of_kind(page: &Page, status: StatusCode, kind: &str) -> Response {
    let response = SHARED
        .render_with_status(status, page, "error.html", context! { kind })
        .unwrap_or_else(|_| (status, Html(text(page.lang, "errorpage.internal.text").to_owned())).into_response());
    with_page_headers(response)
}

/// Headers of every page: no caching of personal data, no framing, no foreign content.
fn with_page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Paths carry request ids and certificate codes; they stay on this site.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Whether a request that changes something comes from another site. Browsers say so in
/// `Sec-Fetch-Site`; older ones send `Origin`, which must be this host.
fn is_cross_site(parts: &Parts) -> bool {
    let header = |name| parts.headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if let Some(site) = header(header::HeaderName::from_static("sec-fetch-site")) {
        return !matches!(site, "same-origin" | "none");
    }
    match (header(header::ORIGIN), header(header::HOST)) {
        (None, _) => false,
        (Some(origin), Some(host)) => origin != format!("http://{host}") && origin != format!("https://{host}"),
        (Some(_), None) => true,
    }
}

/// Polls a future, turning a panic into an error value (a panicking handler still gets a page).
struct CatchPanic<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.0.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
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
    let response = match CatchPanic(Box::pin(next.run(Request::from_parts(parts, body)))).await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(path = %page.path(), "page handler panicked");
            return error_page(&page, StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
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
    router.layer(middleware::from_fn(page_layer))
}

// --- shared routes --------------------------------------------------------------------------

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_sizes_read_naturally() {
        assert_eq!(file_size(Lang::De, 300), "1 KB");
        assert_eq!(file_size(Lang::De, 1_300_000), "1,2 MB");
        assert_eq!(file_size(Lang::En, 1_300_000), "1.2 MB");
    }
}
