//! What Lambda refuses, refused here too: a request or a response whose payload exceeds 6 MB as
//! API Gateway passes it to or from the function (headers and body, a binary body base64-encoded:
//! a 4.6 MB photo in a form post is 6.1 MB), so that local mode and the tests meet the limit
//! where AWS would. The answer is a 413, in the contract's format under `/api/`, else a page.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::http::{ApiError, read_within};
use shared::web::page::Page;

/// Lambda's payload limit for synchronous invocations, each way.
pub const PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// Whether API Gateway passes a body of this type as text (else base64-encoded).
fn is_text(headers: &HeaderMap) -> bool {
    let mime = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mime = mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    mime.starts_with("text/")
        || mime.ends_with("+json")
        || mime.ends_with("+xml")
        || ["application/json", "application/xml", "application/x-www-form-urlencoded", "application/javascript"]
            .contains(&mime.as_str())
}

/// The size of the payload that carries `headers` and `body`.
fn payload_size(headers: &HeaderMap, body: &Bytes) -> usize {
    let header_bytes: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    let body_bytes = if is_text(headers) { body.len() } else { body.len().div_ceil(3) * 4 };
    header_bytes + body_bytes
}

pub async fn enforce(request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let Ok(page) = Page::from_request_parts(&mut parts, &()).await;
    let refusal = Refusal { api: parts.uri.path().starts_with("/api/"), page };
    match read_within(body, PAYLOAD_LIMIT).await {
        Ok(body) if payload_size(&parts.headers, &body) <= PAYLOAD_LIMIT => {
            let response = next.run(Request::from_parts(parts, Body::from(body))).await;
            let (response_parts, body) = response.into_parts();
            match read_within(body, PAYLOAD_LIMIT).await {
                Ok(body) if payload_size(&response_parts.headers, &body) <= PAYLOAD_LIMIT => {
                    Response::from_parts(response_parts, Body::from(body))
                }
                _ => {
                    tracing::warn!(path = %refusal.page.path(), "response over Lambda's payload limit");
                    refusal.into_response()
                }
            }
        }
        _ => refusal.into_response(),
    }
}

/// The 413 for the request at hand.
struct Refusal {
    api: bool,
    page: Page,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        if self.api {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", self.page.lang).into_response()
        } else {
            shared::web::error_page(&self.page, StatusCode::PAYLOAD_TOO_LARGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::routing::{get, post};
    use tower::ServiceExt;

    use super::*;

    const MB: usize = 1024 * 1024;

    fn app() -> Router {
        let body = |kind: &'static str, size: usize| ([(header::CONTENT_TYPE, kind)], vec![b'a'; size]);
        Router::new()
            .route("/api/v1/echo", post(|| async { "ok" }))
            .route("/pdf", get(move || async move { body("application/pdf", 5 * MB) }))
            .route("/csv", get(move || async move { body("text/csv", 5 * MB) }))
            .layer(axum::middleware::from_fn(enforce))
    }

    async fn call(method: &str, uri: &str, kind: &str, size: usize) -> (StatusCode, String, usize) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, kind)
            .body(Body::from(vec![b'a'; size]))
            .unwrap();
        let response = app().oneshot(request).await.unwrap();
        let status = response.status();
        let kind = response.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, kind.unwrap_or_default(), body.len())
    }

    #[tokio::test]
    async fn binary_bodies_count_base64_encoded_both_ways() {
        // 4.6 MB of a photo is 6.1 MB base64: refused; the same as text passes.
        let (status, kind, _) = call("POST", "/api/v1/echo", "multipart/form-data; boundary=x", 46 * MB / 10).await;
        assert_eq!((status, kind.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "application/json"));
        assert_eq!(call("POST", "/api/v1/echo", "text/csv", 46 * MB / 10).await.0, StatusCode::OK);
        assert_eq!(call("POST", "/api/v1/echo", "text/csv", 7 * MB).await.0, StatusCode::PAYLOAD_TOO_LARGE);

        // A 5 MB PDF is 6.7 MB on its way out through Lambda: refused, with a page.
        let (status, kind, _) = call("GET", "/pdf", "text/plain", 0).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(kind.starts_with("text/html"), "{kind}");
        assert_eq!(call("GET", "/csv", "text/plain", 0).await, (StatusCode::OK, "text/csv".into(), 5 * MB));
    }
}
