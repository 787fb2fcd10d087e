//! Her requests (`GET /api/v1/requests`, newest first, a page at a time), the status of one for
//! its owner (`GET /api/v1/requests/{id}`), the download of its certificate
//! (`GET /api/v1/requests/{id}/certificate`), and where she is told of news
//! (`PUT /api/v1/requests/{id}/contact`).

use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use shared::domain::request::{Request, Status};
use shared::http::{ApiError, CitizenCall, OfficeContact};
use shared::openapi::tag;
use shared::paging::{PageQuery, next_link};
use shared::ports::{DOWNLOAD_LINK_LIFETIME, DocumentError};
use shared::records;
use shared::services::Services;
use shared::texts::status_text;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod contact;
mod messages;
pub mod pages;

/// The operations of the API this function serves, documented.
pub fn api() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(status))
        .routes(routes!(certificate))
        .routes(routes!(contact::change))
        .routes(routes!(messages::list, messages::send))
}

pub fn router() -> Router<Services> {
    Router::from(api()).merge(pages::router())
}

/// How long a download link works: long enough to follow the redirect, too short to pass on.

/// The citizen's own request; someone else's is answered like a missing one, so its existence
/// is not disclosed.
async fn own_request(call: &CitizenCall, id: &str) -> Result<Request, ApiError> {
    let request = call.store(records::own_request(&*call.services.store, id, &call.who.sub).await)?;
    request.ok_or_else(|| call.not_found())
}

/// One of her requests, as her list shows it.
#[derive(Serialize, ToSchema)]
pub struct OwnRequest {
    pub id: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub submitted_at: Option<OffsetDateTime>,
    /// The child's given names, for her to tell her requests apart.
    pub child_given_names: String,
    pub status: Status,
    /// The status in words, in the caller's language.
    pub status_text: String,
    /// The office that decides it.
    pub office_name: Option<String>,
    /// Her status page of it.
    pub page: String,
}

/// Her requests and the next page's cursor: newest first, `paging` at a time.
pub async fn own_requests(
    call: &CitizenCall,
    paging: &shared::paging::Paging,
) -> Result<(Vec<OwnRequest>, Option<String>), ApiError> {
    let store = &*call.services.store;
    let listed = records::own_requests(store, &call.who.sub, paging.limit, paging.after.as_deref()).await;
    let (requests, next) = call.store(listed)?;
    let directory = call.store(call.services.directory.get().await)?;
    let items = requests
        .into_iter()
        .map(|request| OwnRequest {
            submitted_at: request.timeline.first().map(|entry| entry.at),
            child_given_names: request.application.child.given_names.as_str().to_owned(),
            status_text: status_text(call.lang, request.status),
            status: request.status,
            office_name: directory.get(&request.office_id).map(|office| office.name.clone()),
            page: format!("/antraege/{}", request.id),
            id: request.id,
        })
        .collect();
    Ok((items, next))
}

/// Her requests, newest first; where there are more, the next page is in the `Link` header.
#[utoipa::path(get, operation_id = "listOwnRequests", path = "/api/v1/requests", tag = tag::CITIZEN, security(("citizen" = [])),
    params(PageQuery),
    responses((status = 200, body = Vec<OwnRequest>,
        headers(("Link" = String, description = "`<…?limit=&cursor=>; rel=\"next\"` while there are more.")),
        links(("status" = (operation_id = "getRequestStatus", parameters(("id" = "$response.body#/0/id"))))))))]
async fn list(call: CitizenCall, Query(query): Query<PageQuery>) -> Result<Response, ApiError> {
    let paging = query.parse().map_err(|errors| call.invalid(&errors))?;
    let (items, next) = own_requests(&call, &paging).await?;
    let mut response = Json(items).into_response();
    if let Some(link) = next_link("/api/v1/requests", paging.limit, next.as_deref()) {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

/// Where her request stands.
#[derive(Serialize, ToSchema)]
pub struct RequestStatus {
    pub id: String,
    pub status: Status,
    /// The status in words, in the caller's language.
    pub status_text: String,
    /// The office that decides it.
    pub office: Option<OfficeContact>,
    /// Every status it passed through, oldest first.
    pub timeline: Vec<TimelineStep>,
    /// Why the office refused, in its words.
    pub rejection_reason: Option<String>,
    /// Once issued.
    pub certificate: Option<CertificateLink>,
}

#[derive(Serialize, ToSchema)]
pub struct TimelineStep {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub status: Status,
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct CertificateLink {
    /// Where to download the PDF (a redirect to a short-lived link; 404 once revoked).
    pub url: String,
    /// The verification code printed on it.
    pub code: String,
    /// Once the office revoked it: from then on it proves nothing.
    #[serde(skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// Why, in the office's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_reason: Option<String>,
}

/// Her request: its status, its office, its way so far, and the certificate once issued.
#[utoipa::path(get, operation_id = "getRequestStatus", path = "/api/v1/requests/{id}", tag = tag::CITIZEN, security(("citizen" = [])),
    params(("id" = String, Path)), responses((status = 200, body = RequestStatus)))]
async fn status(call: CitizenCall, Path(id): Path<String>) -> Result<Json<RequestStatus>, ApiError> {
    let lang = call.lang;
    let request = own_request(&call, &id).await?;
    let directory = call.store(call.services.directory.get().await)?;
    let status_text = |status: Status| status_text(lang, status);
    let timeline = request
        .timeline
        .iter()
        .map(|entry| TimelineStep { at: entry.at, status: entry.status, text: status_text(entry.status) })
        .collect();
    Ok(Json(RequestStatus {
        status_text: status_text(request.status),
        office: directory.get(&request.office_id).map(OfficeContact::from),
        timeline,
        rejection_reason: request.rejection_reason.as_ref().map(|reason| reason.as_str().to_owned()),
        certificate: request.certificate.as_ref().map(|c| CertificateLink {
            url: format!("/api/v1/requests/{}/certificate", request.id),
            code: c.code.clone(),
            revoked_at: c.revoked.as_ref().map(|revocation| revocation.at),
            revocation_reason: c.revoked.as_ref().map(|revocation| revocation.reason.as_str().to_owned()),
        }),
        id: request.id,
        status: request.status,
    }))
}

/// Redirects to a short-lived link to the certificate PDF (404 before it is issued and once it
/// is revoked).
#[utoipa::path(get, operation_id = "downloadCertificate", path = "/api/v1/requests/{id}/certificate", tag = tag::CITIZEN, security(("citizen" = [])),
    params(("id" = String, Path)),
    responses((status = 302, description = "To a link to the PDF that works for a minute.",
        headers(("Location" = String)))))]
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
    // A revoked certificate proves nothing: it is no longer handed out.
    let Some(certificate) = request.certificate.as_ref().filter(|c| c.revoked.is_none()) else { return Ok(None) };
    let link = services
        .documents
        .download_link(&certificate.document, "Bescheinigung-Sorgeregister.pdf", DOWNLOAD_LINK_LIFETIME)
        .await?;
    // 302, as the contract says (and as S3's presigned links are usually followed).
    let mut response = (StatusCode::FOUND, [(header::LOCATION, link)]).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(Some(response))
}
