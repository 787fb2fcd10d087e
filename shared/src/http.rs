//! What every API function shares: the error format of the
//! contract (`{"error": {"code", "message", "fields"?}}`), and extractors for the caller's
//! language, JSON bodies and verified identities.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::auth::{AuthError, CitizenClaims, Principal, StaffClaims};
use crate::domain::office::{Office, PostalAddress};
use crate::domain::places::{Ags, Municipality};
use crate::input::FieldErrors;
use crate::ports::StoreError;
use crate::services::Services;
use crate::texts::{Lang, text};

/// An error as the contract shapes it; the message is in the caller's language.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    lang: Lang,
    fields: Option<BTreeMap<String, String>>,
    details: Option<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, lang: Lang) -> Self {
        Self { status, code, lang, fields: None, details: None }
    }
    pub fn unauthorized(lang: Lang) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", lang)
    }
    pub fn forbidden(lang: Lang) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", lang)
    }
    pub fn not_found(lang: Lang) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", lang)
    }
    pub fn internal(lang: Lang) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", lang)
    }
    /// 422 naming every invalid field.
    pub fn invalid(lang: Lang, errors: &FieldErrors) -> Self {
        let fields = Some(field_messages(lang, errors));
        Self { fields, ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", lang) }
    }
    /// Adds machine-readable details (e.g. which office an area overlaps with).
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }
    /// A store failure: logged for operators (ids only), a plain 500 for the caller.
    pub fn store(lang: Lang, error: StoreError) -> Self {
        tracing::error!(%error, "state store failed");
        Self::internal(lang)
    }
    pub fn status(&self) -> StatusCode {
        self.status
    }
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = ErrorDetail {
            code: self.code.to_owned(),
            message: text(self.lang, &format!("error.{}", self.code)).to_owned(),
            fields: self.fields,
            details: self.details,
        };
        let mut response = (self.status, Json(ErrorBody { error })).into_response();
        response.headers_mut().insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(self.lang.tag()));
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// What is wrong with each field, by its path, in the caller's language.
pub fn field_messages(lang: Lang, errors: &FieldErrors) -> BTreeMap<String, String> {
    errors
        .iter()
        .map(|(path, problem)| (path.to_owned(), text(lang, &format!("problem.{}", problem.code())).to_owned()))
        .collect()
}

/// The address a request came from as the front door saw it (API Gateway's `sourceIp`, the
/// local runtime's peer), put into the request's extensions there: for per-client limits only,
/// never stored or logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub std::net::IpAddr);

/// The caller's [`ClientAddress`], where the front door told it.
pub struct Client(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Client(parts.extensions.get::<ClientAddress>().map(|address| address.0)))
    }
}

/// Every error of the API, as the contract shapes it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"error": {"code": "invalid_input", "message": "Bitte prüfen Sie Ihre Angaben.",
    "fields": {"child.birth_date": "Bitte geben Sie ein Datum im Format TT.MM.JJJJ an."}}}))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, for programs: `invalid_input`, `not_found`, `unauthorized`, `conflict`, …
    pub code: String,
    /// For people, in the caller's language (`?lang=`, the `lang` cookie or `Accept-Language`).
    pub message: String,
    /// With `invalid_input`: what is wrong with each field, by its path (`mother.address.postcode`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
    /// Machine-readable details: the municipalities to choose from (`choices`), the offices an
    /// area overlaps with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// An office's public contact data, as the pre-check, the office list and the status show it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OfficeContact {
    pub id: String,
    pub name: String,
    pub address: PostalAddress,
    pub phone: String,
    pub email: String,
    pub opening_hours: Option<String>,
    /// Whether the office takes requests through this service.
    pub connected: bool,
}

impl From<&Office> for OfficeContact {
    fn from(office: &Office) -> Self {
        OfficeContact {
            id: office.id.clone(),
            name: office.name.clone(),
            address: office.address.clone(),
            phone: office.phone.clone(),
            email: office.email.clone(),
            opening_hours: office.opening_hours.clone(),
            connected: office.connected,
        }
    }
}

/// A municipality as the API names it: its key, official name, Kreis and Land, and the label
/// that tells municipalities of one name apart.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MunicipalityView {
    pub ags: Ags,
    pub name: String,
    pub kreis: String,
    pub land: String,
    /// `Neustadt in Holstein, Stadt — Ostholstein, Schleswig-Holstein`
    pub label: String,
}

impl From<&Municipality> for MunicipalityView {
    fn from(municipality: &Municipality) -> Self {
        MunicipalityView {
            ags: municipality.ags.clone(),
            name: municipality.name.clone(),
            kreis: municipality.kreis.clone(),
            land: municipality.land.clone(),
            label: municipality.label(),
        }
    }
}

/// The municipalities to choose from, by the field that asks for one (the `details.choices`
/// of a 422).
pub fn choices_detail<'a, M>(choices: impl IntoIterator<Item = (&'a str, M)>) -> Value
where
    M: IntoIterator<Item = &'a Municipality>,
{
    let by_field = choices.into_iter().map(|(field, list)| {
        let views: Vec<MunicipalityView> = list.into_iter().map(MunicipalityView::from).collect();
        (field.to_owned(), json!(views))
    });
    json!({ "choices": Value::Object(by_field.collect()) })
}

/// Every error under `/api/` in the contract's format, whatever produced it: the handlers'
/// own [`ApiError`]s pass unchanged, while a rejection of one of axum's extractors (a path or
/// query that does not parse, a form or JSON of the wrong type), a body over a limit, and a
/// panicking handler answer `{"error": {"code", "message"}}` in the caller's language instead
/// of plain text or a dropped connection. Wraps a function's whole router (API and pages).
pub fn contract_errors(router: axum::Router) -> axum::Router {
    router
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }))
        .layer(axum::middleware::from_fn(api_error_layer))
}

async fn api_error_layer(request: Request, next: axum::middleware::Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let Ok(lang) = Lang::from_request_parts(&mut parts, &()).await;
    let is_api = parts.uri.path().starts_with("/api/");
    let response = next.run(Request::from_parts(parts, body)).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let code = match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_input",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        status if status.is_client_error() => "bad_request",
        _ => "internal",
    };
    ApiError::new(status, code, lang).into_response()
}

/// 404 in the contract's format for paths no function serves.
pub async fn not_found(lang: Lang) -> ApiError {
    ApiError::not_found(lang)
}

/// 405 in the contract's format.
pub async fn method_not_allowed(lang: Lang) -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", lang)
}

/// The caller's language: `?lang=`, else the `lang` cookie, else `Accept-Language`, else German.
impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        #[derive(Deserialize)]
        struct LangQuery {
            lang: Option<String>,
        }
        let from_query =
            Query::<LangQuery>::try_from_uri(&parts.uri).ok().and_then(|q| q.0.lang).and_then(|l| Lang::parse(&l));
        let from_cookie = crate::web::cookie(&parts.headers, crate::web::LANG_COOKIE).and_then(Lang::parse);
        let from_header =
            parts.headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(|accepted| {
                accepted.split(',').find_map(|tag| Lang::parse(tag.split(['-', ';']).next().unwrap_or_default()))
            });
        Ok(from_query.or(from_cookie).or(from_header).unwrap_or_default())
    }
}

/// Largest JSON body any endpoint takes.
pub const MAX_BODY_BYTES: usize = 128 * 1024;

/// A JSON request body; malformed input is the caller's fault (4xx), never a 500.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let Ok(lang) = Lang::from_request_parts(&mut parts, state).await;
        let is_json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", lang));
        }
        let bytes = read_within(body, MAX_BODY_BYTES)
            .await
            .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", lang))?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", lang))
    }
}

/// The body if it has at most `limit` bytes. A larger one is still read to its end (up to a
/// bound), so that the caller gets the 413 rather than a connection reset mid-upload.
pub async fn read_within(body: axum::body::Body, limit: usize) -> Result<axum::body::Bytes, ()> {
    use http_body_util::BodyExt;
    const DRAINED_AT_MOST: usize = 16 * 1024 * 1024;
    let mut body = body;
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return Err(()) };
        let Ok(data) = frame.into_data() else { continue };
        seen += data.len();
        if seen <= limit {
            kept.extend_from_slice(&data);
        } else if seen > DRAINED_AT_MOST {
            break;
        }
    }
    if seen > limit { Err(()) } else { Ok(kept.into()) }
}

fn bearer(parts: &Parts) -> Result<&str, AuthError> {
    let authorization = parts.headers.get(header::AUTHORIZATION).ok_or(AuthError::Missing)?;
    let token = authorization
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .ok_or(AuthError::Malformed)?;
    Ok(token.trim())
}

/// The platform's issuers verify their own tokens; any other issuer may be an office's provider,
/// as the offices are configured right now.
async fn verified(token: &str, services: &Services, lang: Lang) -> Result<Result<Principal, AuthError>, ApiError> {
    let Some(offices) = services.verifier.office_providers(token) else {
        return Ok(services.verifier.verify(token).await);
    };
    let directory = services.directory.get().await.map_err(|e| ApiError::store(lang, e))?;
    Ok(offices.verify(token, &directory).await.map(Principal::Staff))
}

async fn principal(parts: &mut Parts, services: &Services) -> Result<(Principal, Lang), ApiError> {
    let Ok(lang) = Lang::from_request_parts(parts, services).await;
    let verified = match bearer(parts) {
        Ok(token) => verified(token, services, lang).await?,
        Err(missing) => Err(missing),
    };
    match verified {
        Ok(principal) => Ok((principal, lang)),
        Err(reason) => {
            tracing::info!(%reason, "bearer token refused");
            Err(ApiError::unauthorized(lang))
        }
    }
}

/// One API call of a verified caller: the services the function is wired to, the caller's
/// language, and who calls — [`CitizenCall`] for the mother or her representative,
/// [`StaffCall`] for a case worker, a machine client of an office, or an operator. The other kind
/// of caller is refused (403), a missing or invalid token too (401).
#[derive(Clone)]
pub struct Call<Who> {
    pub services: Services,
    pub lang: Lang,
    pub who: Who,
}

pub type CitizenCall = Call<CitizenClaims>;
pub type StaffCall = Call<StaffClaims>;

impl<Who> Call<Who> {
    /// A store result as the contract answers it: a failure is logged and a plain 500.
    pub fn store<T>(&self, result: Result<T, StoreError>) -> Result<T, ApiError> {
        result.map_err(|error| ApiError::store(self.lang, error))
    }

    /// 422 naming every invalid field.
    pub fn invalid(&self, errors: &FieldErrors) -> ApiError {
        ApiError::invalid(self.lang, errors)
    }

    pub fn error(&self, status: StatusCode, code: &'static str) -> ApiError {
        ApiError::new(status, code, self.lang)
    }

    pub fn not_found(&self) -> ApiError {
        ApiError::not_found(self.lang)
    }

    pub fn forbidden(&self) -> ApiError {
        ApiError::forbidden(self.lang)
    }
}

/// Which principal a call is made by.
trait Caller: Sized {
    fn of(principal: Principal) -> Option<Self>;
}

impl Caller for CitizenClaims {
    fn of(principal: Principal) -> Option<Self> {
        match principal {
            Principal::Citizen(claims) => Some(claims),
            Principal::Staff(_) => None,
        }
    }
}

impl Caller for StaffClaims {
    fn of(principal: Principal) -> Option<Self> {
        match principal {
            Principal::Staff(claims) => Some(claims),
            Principal::Citizen(_) => None,
        }
    }
}

impl<Who: Caller> FromRequestParts<Services> for Call<Who> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, services: &Services) -> Result<Self, Self::Rejection> {
        let (principal, lang) = principal(parts, services).await?;
        let who = Who::of(principal).ok_or_else(|| ApiError::forbidden(lang))?;
        Ok(Call { services: services.clone(), lang, who })
    }
}
