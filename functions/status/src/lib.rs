//! The status of a request for its owner (`GET /api/v1/requests/{id}`) and the download of
//! its certificate (`GET /api/v1/requests/{id}/certificate`).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use shared::auth::CitizenClaims;
use shared::domain::request::Request;
use shared::http::{ApiError, Citizen, Services, office_contact};
use shared::ports::DocumentError;
use shared::records;
use shared::texts::{Lang, text};
use time::Duration;

mod messages;
pub mod pages;

pub fn router() -> Router<Services> {
    Router::new()
        .route("/api/v1/requests/{id}", get(status))
        .route("/api/v1/requests/{id}/certificate", get(certificate))
        .route("/api/v1/requests/{id}/messages", get(messages::list).post(messages::send))
        .merge(pages::router())
}

/// How long a download link works: long enough to follow the redirect, too short to pass on.
const DOWNLOAD_LINK_LIFETIME: Duration = Duration::seconds(60);

/// The citizen's own request; someone else's is answered like a missing one, so its existence
/// is not disclosed.
async fn own_request(services: &Services, lang: Lang, citizen: &CitizenClaims, id: &str) -> Result<Request, ApiError> {
    let request = records::request(&*services.store, id).await.map_err(|e| ApiError::store(lang, e))?;
    request.map(|r| r.value).filter(|r| r.is_owned_by(&citizen.sub)).ok_or_else(|| ApiError::not_found(lang))
}

async fn status(
    State(services): State<Services>,
    lang: Lang,
    Citizen(citizen): Citizen,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = &*services.store;
    let request = own_request(&services, lang, &citizen, &id).await?;
    let directory = records::directory(store).await.map_err(|e| ApiError::store(lang, e))?;
    let timeline: Vec<Value> = request
        .timeline
        .iter()
        .map(|entry| {
            json!({
                "at": entry.at.format(&time::format_description::well_known::Rfc3339).expect("timestamps format"),
                "status": entry.status,
                "text": text(lang, &format!("status.{}", entry.status.as_str())),
            })
        })
        .collect();
    Ok(Json(json!({
        "id": request.id,
        "status": request.status,
        "status_text": text(lang, &format!("status.{}", request.status.as_str())),
        "office": directory.get(&request.office_id).map(office_contact),
        "timeline": timeline,
        "rejection_reason": request.rejection_reason,
        "certificate": request.certificate.as_ref().map(|c| json!({
            "url": format!("/api/v1/requests/{}/certificate", request.id),
            "code": c.code,
        })),
    })))
}

/// Redirects to a short-lived link to the certificate PDF.
async fn certificate(
    State(services): State<Services>,
    lang: Lang,
    Citizen(citizen): Citizen,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let request = own_request(&services, lang, &citizen, &id).await?;
    match certificate_download(&services, &request).await {
        Ok(Some(response)) => Ok(response),
        Ok(None) => Err(ApiError::not_found(lang)),
        Err(error) => {
            tracing::error!(%error, "download link failed");
            Err(ApiError::internal(lang))
        }
    }
}

/// The redirect to a short-lived link to the request's certificate, if it has one (the API and
/// the status page's download button).
async fn certificate_download(services: &Services, request: &Request) -> Result<Option<Response>, DocumentError> {
    let Some(certificate) = &request.certificate else { return Ok(None) };
    let link = services
        .documents
        .download_link(&certificate.document, "Bescheinigung-Sorgeregister.pdf", DOWNLOAD_LINK_LIFETIME)
        .await?;
    // 302, as the contract says (and as S3's presigned links are usually followed).
    let mut response = (StatusCode::FOUND, [(header::LOCATION, link)]).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(Some(response))
}
