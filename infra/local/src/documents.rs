//! The document store's own endpoints in local mode, as S3 serves them on AWS:
//! `GET /documents/<key>` serves a document to whoever holds a valid signed link (a presigned
//! URL), and `POST /documents` takes a browser's upload form (a presigned POST), whose policy
//! it checks as S3 does before it stores the file and sends the browser on.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use shared::domain::upload::MAX_RECEIVED_BYTES;
use shared::embedded::{FsDocumentStore, SignedLink};
use shared::ports::DocumentStore;
use shared::services::Services;
use shared::upload_policy::Refusal;

pub fn router(documents: Arc<FsDocumentStore>) -> Router<Services> {
    // Room for the largest file a policy allows and the form's fields; the policy decides.
    let largest_post = MAX_RECEIVED_BYTES as usize + 64 * 1024;
    Router::new()
        .route("/documents/{*key}", get(download))
        .route("/documents", post(upload).layer(DefaultBodyLimit::max(largest_post)))
        .with_state(documents)
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

/// An error as S3 answers it.
fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

fn refused(refusal: &Refusal) -> Response {
    let (code, status) = refusal.code();
    let status = StatusCode::from_u16(status).expect("S3's statuses are valid");
    s3_error(status, code, &quick_xml::escape::escape(refusal.to_string()))
}

/// A form post: its fields in order, then the file (S3 ignores what follows the file).
async fn upload(State(documents): State<Arc<FsDocumentStore>>, mut multipart: Multipart) -> Response {
    let mut fields = Vec::new();
    let mut file = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => {
                return s3_error(
                    StatusCode::BAD_REQUEST,
                    "MalformedPOSTRequest",
                    &quick_xml::escape::escape(error.body_text()),
                );
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let read = if name == "file" {
            field.bytes().await.map(|b| file = Some(b.to_vec()))
        } else {
            field.text().await.map(|text| fields.push((name, text)))
        };
        if let Err(error) = read {
            return s3_error(
                StatusCode::BAD_REQUEST,
                "MalformedPOSTRequest",
                &quick_xml::escape::escape(error.body_text()),
            );
        }
        if file.is_some() {
            break;
        }
    }
    let Some(file) = file else {
        return s3_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "POST requires exactly one file upload per request.",
        );
    };
    match documents.receive_upload(&fields, file).await {
        Ok(Ok(Some(to))) => Redirect::to(&to).into_response(),
        Ok(Ok(None)) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(refusal)) => refused(&refusal),
        Err(error) => {
            tracing::error!(%error, "document store failed");
            s3_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "We encountered an internal error.")
        }
    }
}
