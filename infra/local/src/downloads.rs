//! `/documents/<key>`: serves a document to whoever holds a valid signed link, as S3 serves a
//! presigned URL on AWS. Local mode only.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use shared::embedded::{FsDocumentStore, SignedLink};
use shared::ports::DocumentStore;
use shared::services::Services;

pub fn router(documents: Arc<FsDocumentStore>) -> Router<Services> {
    Router::new().route("/documents/{*key}", get(download)).with_state(documents)
}

fn content_type(key: &str) -> &'static str {
    match key.rsplit('.').next() {
        Some("pdf") => "application/pdf",
        Some("xml") => "application/xml",
        _ => "application/octet-stream",
    }
}

async fn download(
    State(documents): State<Arc<FsDocumentStore>>,
    Path(key): Path<String>,
    Query(link): Query<SignedLink>,
) -> Response {
    if !documents.link_is_valid(&key, &link) {
        return (StatusCode::FORBIDDEN, "Dieser Link ist abgelaufen oder ungültig.").into_response();
    }
    let bytes = match documents.get(&key).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(error) => {
            tracing::error!(%error, "document store failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    // The file name was signed with the link; keep only harmless characters in the header anyway.
    let file_name: String =
        link.name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&key)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}
