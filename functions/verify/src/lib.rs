//! Public verification of a certificate code (`GET /api/v1/verify/{code}`, and the page
//! `/pruefen/{code}` the certificate's QR code leads to), for a Kita, a school or a bank. It
//! says whether the code is genuine, when and by which office it was issued — nothing about the
//! child.

use axum::extract::{Path, State};
use axum::{Json, Router};
use serde::Serialize;
use shared::domain::office::Office;
use shared::http::{ApiError, OfficeContact};
use shared::openapi::tag;
use shared::ports::StoreError;
use shared::records::{self, CertificateRecord};
use shared::services::Services;
use shared::texts::Lang;
use time::OffsetDateTime;
use utoipa::ToSchema;
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

/// A certificate found by its code, with the office that issued it.
pub struct Verified {
    pub record: CertificateRecord,
    pub office: Option<Office>,
}

/// Looks a printed code up (the API and the check page): `None` if no certificate has it.
pub async fn lookup(services: &Services, raw_code: &str) -> Result<Option<Verified>, StoreError> {
    let store = &*services.store;
    let code = normalize_code(raw_code);
    if code.len() != CODE_LENGTH {
        return Ok(None);
    }
    let Some(record) = records::certificate(store, &code).await? else { return Ok(None) };
    let office = services.directory.get().await?.get(&record.office_id).cloned();
    Ok(Some(Verified { record, office }))
}

/// What a certificate code says: genuine or not, and if so when and by which office it was
/// issued — nothing about the child.
#[derive(Serialize, ToSchema)]
pub struct Verification {
    /// Genuine and not revoked.
    pub valid: bool,
    /// Genuine, but the office revoked it then: it proves nothing any more.
    #[serde(skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub issued_at: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office: Option<OfficeContact>,
}

/// Checks the code printed on a certificate (groups, case and the letters O, I, L do not matter).
#[utoipa::path(get, operation_id = "verifyCertificate", path = "/api/v1/verify/{code}", tag = tag::PUBLIC,
    params(("code" = String, Path, description = "As printed, e.g. `7K3Q-9XPA-M2RD-4TVE-HW8N`.")),
    responses((status = 200, description = "`valid: false` for a code no certificate has, and, with \
        `revoked_at`, for a certificate its office revoked.", body = Verification)))]
async fn verify(
    State(services): State<Services>,
    lang: Lang,
    Path(code): Path<String>,
) -> Result<Json<Verification>, ApiError> {
    let Some(verified) = lookup(&services, &code).await.map_err(|e| ApiError::store(lang, e))? else {
        return Ok(Json(Verification { valid: false, revoked_at: None, issued_at: None, office: None }));
    };
    Ok(Json(Verification {
        valid: verified.record.revoked_at.is_none(),
        revoked_at: verified.record.revoked_at,
        issued_at: Some(verified.record.issued_at),
        office: verified.office.as_ref().map(OfficeContact::from),
    }))
}
