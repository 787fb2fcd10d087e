//! Public verification of a certificate code (`GET /api/v1/verify/{code}`, and the page
//! `/pruefen/{code}` the certificate's QR code leads to), for a Kita, a school or a bank. It
//! says whether the code is genuine, when and by which office it was issued — nothing about the
//! child.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use shared::domain::office::Office;
use shared::http::{ApiError, office_contact};
use shared::ports::StoreError;
use shared::records::{self, CertificateRecord};
use shared::services::Services;
use shared::texts::Lang;
use time::format_description::well_known::Rfc3339;

pub mod pages;

/// The API and the check page.
pub fn router() -> Router<Services> {
    Router::new().route("/api/v1/verify/{code}", get(verify)).merge(pages::router())
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

async fn verify(
    State(services): State<Services>,
    lang: Lang,
    Path(code): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let Some(verified) = lookup(&services, &code).await.map_err(|e| ApiError::store(lang, e))? else {
        return Ok(Json(json!({"valid": false})));
    };
    Ok(Json(json!({
        "valid": true,
        "issued_at": verified.record.issued_at.format(&Rfc3339).expect("timestamps format"),
        "office": verified.office.as_ref().map(office_contact),
    })))
}
