//! Public verification of a certificate (`GET /api/v1/verify/{code}?birth_date=`, and the page
//! `/pruefen/{code}` the certificate's QR code leads to), for a Kita, a school or a bank. Only
//! with the child's date of birth as the paper shows it does a code say anything: valid or
//! revoked, when and by which office it was issued, and the child's first name to compare with
//! the paper. Without the date or with a wrong one the answer is the one an unknown code gets
//! (`shared::domain::verification`). Each client has a limited number of checks a minute.

use std::sync::LazyLock;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use shared::domain::office::Office;
use shared::domain::values::parse_date;
use shared::domain::verification::{Answer, VerificationRecord};
use shared::http::{ApiError, Client, OfficeContact};
use shared::input::FieldErrors;
use shared::openapi::tag;
use shared::ports::StoreError;
use shared::records::{self, Versioned};
use shared::services::Services;
use shared::texts::Lang;
use shared::throttle::PerClient;
use time::{Date, Duration, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub mod pages;

/// The operations of the API this function serves, documented.
pub fn api() -> OpenApiRouter<Services> {
    OpenApiRouter::new().routes(routes!(verify))
}

/// The API and the check page.
pub fn router() -> Router<Services> {
    Router::from(api()).merge(pages::router())
}

/// Checks of one certificate at the same moment take turns counting; after this many a check is
/// answered uncounted rather than refused.
const COUNT_ATTEMPTS: usize = 3;

/// Characters of a certificate code (100 bits in Crockford base32).
pub const CODE_LENGTH: usize = 20;

/// The code as printed, read forgivingly: groups, case, and the letters Crockford base32 maps
/// (O→0, I/L→1) do not matter.
pub fn normalize_code(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

/// Checks a client may make a minute, in each process: plenty for a Kita checking papers, few
/// for someone trying dates of birth (who is stopped per certificate as well).
pub const CHECKS_PER_MINUTE: u32 = 20;

static CHECKS: LazyLock<PerClient> = LazyLock::new(|| PerClient::new(CHECKS_PER_MINUTE, Duration::minutes(1)));

/// What a check found, with the office that issued the certificate.
pub struct Checked {
    pub answer: Answer,
    pub record: Option<VerificationRecord>,
    pub office: Option<Office>,
}

impl Checked {
    fn unknown() -> Checked {
        Checked { answer: Answer::Unknown, record: None, office: None }
    }
}

/// Too many checks from this client: 429 with `Retry-After`.
pub struct TooMany(pub Duration);

/// Checks a printed code with the child's date of birth (the API and the check page), and
/// counts the check on the certificate.
pub async fn check(
    services: &Services,
    client: &Client,
    raw_code: &str,
    birth_date: Option<Date>,
) -> Result<Result<Checked, TooMany>, StoreError> {
    let now = services.clock.now();
    if let Err(wait) = CHECKS.allow(client.0, now) {
        return Ok(Err(TooMany(wait)));
    }
    let code = normalize_code(raw_code);
    if code.len() != CODE_LENGTH {
        return Ok(Ok(Checked::unknown()));
    }
    let store = &*services.store;
    let mut checked = None;
    // Someone checking the same certificate at the same moment: count on what they left.
    for _ in 0..COUNT_ATTEMPTS {
        let Some(Versioned { value: mut record, version }) = records::certificate(store, &code).await? else {
            // The same read and write as for a genuine code: how long an answer takes tells nothing.
            records::count_check_of_nothing(store, &code).await?;
            return Ok(Ok(Checked::unknown()));
        };
        let answer = record.check(&code, birth_date, now).answer();
        let counted = records::count_check(store, &code, &record, version).await;
        checked = Some((answer, record));
        match counted {
            Err(StoreError::ConditionFailed) => continue,
            Err(error) => return Err(error),
            Ok(()) => break,
        }
    }
    let Some((answer, record)) = checked else { return Ok(Ok(Checked::unknown())) };
    if answer == Answer::Unknown {
        return Ok(Ok(Checked::unknown()));
    }
    let office = services.directory.get().await?.get(&record.office_id).cloned();
    Ok(Ok(Checked { answer, record: Some(record), office }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct VerifyQuery {
    /// The child's date of birth as the certificate shows it (`YYYY-MM-DD`). Without it, or
    /// with another date, the answer is the one an unknown code gets.
    birth_date: Option<String>,
}

/// What a certificate check says.
#[derive(Serialize, ToSchema)]
pub struct Verification {
    /// Genuine and not revoked.
    pub valid: bool,
    pub status: VerificationStatus,
    #[serde(skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub issued_at: Option<OffsetDateTime>,
    /// When the office revoked it: from then on it proves nothing.
    #[serde(skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office: Option<OfficeContact>,
    /// The child's first name(s), to compare with the paper (not after the request's retention).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_given_names: Option<String>,
}

/// `unknown` also for a wrong or missing date of birth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    Valid,
    Revoked,
    Unknown,
}

impl From<&Checked> for Verification {
    fn from(checked: &Checked) -> Self {
        let status = match checked.answer {
            Answer::Valid => VerificationStatus::Valid,
            Answer::Revoked => VerificationStatus::Revoked,
            Answer::Unknown => VerificationStatus::Unknown,
        };
        let record = checked.record.as_ref();
        Verification {
            valid: status == VerificationStatus::Valid,
            status,
            issued_at: record.map(|r| r.issued_at),
            revoked_at: record.and_then(|r| r.revoked_at),
            office: checked.office.as_ref().map(OfficeContact::from),
            child_given_names: record.and_then(|r| r.child_given_names.clone()),
        }
    }
}

/// The date of birth of a check, if given: 422 for one that is no date (whatever the code).
pub fn birth_date_of(raw: Option<&str>) -> Result<Option<Date>, FieldErrors> {
    let Some(raw) = raw.map(str::trim).filter(|raw| !raw.is_empty()) else { return Ok(None) };
    parse_date(raw).map(Some).map_err(|problem| {
        let mut errors = FieldErrors::default();
        errors.add("birth_date", problem);
        errors
    })
}

/// Checks the code printed on a certificate with the child's date of birth (groups, case and
/// the letters O, I, L of the code do not matter).
#[utoipa::path(get, operation_id = "verifyCertificate", path = "/api/v1/verify/{code}", tag = tag::PUBLIC,
    params(("code" = String, Path, description = "As printed, e.g. `7K3Q-9XPA-M2RD-4TVE-HW8N`."), VerifyQuery),
    responses(
        (status = 200, description = "`valid` or `revoked` only for a genuine code with the child's date of \
            birth; `unknown` for a code no certificate has, and for a missing or wrong date.", body = Verification),
        (status = 422, description = "`birth_date` is no date (`YYYY-MM-DD`).", body = shared::http::ErrorBody),
        (status = 429, description = "Too many checks from this client; `Retry-After` says when to try again.",
            body = shared::http::ErrorBody),
    ))]
async fn verify(
    State(services): State<Services>,
    lang: Lang,
    client: Client,
    Path(code): Path<String>,
    Query(query): Query<VerifyQuery>,
) -> Result<Response, ApiError> {
    let birth_date = birth_date_of(query.birth_date.as_deref()).map_err(|errors| ApiError::invalid(lang, &errors))?;
    match check(&services, &client, &code, birth_date).await.map_err(|e| ApiError::store(lang, e))? {
        Ok(checked) => Ok(Json(Verification::from(&checked)).into_response()),
        Err(TooMany(wait)) => {
            Ok(too_many(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", lang).into_response(), wait))
        }
    }
}

/// `response` with `Retry-After` (whole seconds, at least one).
pub fn too_many(mut response: Response, wait: Duration) -> Response {
    let seconds = wait.whole_seconds().max(1);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}
