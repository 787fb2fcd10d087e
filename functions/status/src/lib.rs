//! The status of a request for its owner (`GET /api/v1/requests/{id}`) and the download of
//! its certificate (`GET /api/v1/requests/{id}/certificate`).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use shared::domain::request::Request;
use shared::http::{ApiError, CitizenCall, office_contact};
use shared::ports::DocumentError;
use shared::records;
use shared::services::Services;
use shared::texts::text;
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
async fn own_request(call: &CitizenCall, id: &str) -> Result<Request, ApiError> {
    let request = call.store(records::own_request(&*call.services.store, id, &call.who.sub).await)?;
    request.ok_or_else(|| call.not_found())
}

async fn status(call: CitizenCall, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let lang = call.lang;
    let request = own_request(&call, &id).await?;
    let directory = call.store(call.services.directory.get().await)?;
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
async fn certificate(call: CitizenCall, Path(id): Path<String>) -> Result<Response, ApiError> {
    let request = own_request(&call, &id).await?;
    match certificate_download(&call.services, &request).await {
        Ok(Some(response)) => Ok(response),
        Ok(None) => Err(call.not_found()),
        Err(error) => {
            tracing::error!(%error, "download link failed");
            Err(ApiError::internal(call.lang))
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
