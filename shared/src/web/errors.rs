//! Pages that cannot be shown: [`PageError`] in handlers, a styled error page in the page's
//! language for the browser.

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::layer::with_page_headers;
use super::page::Page;
use super::templates::{Templates, context};
use crate::http::ApiError;
use crate::ports::{DocumentError, StoreError};
use crate::texts::text;

/// A page that cannot be shown; the page layer renders it as a styled error page.
#[derive(Debug)]
pub struct PageError(pub(super) StatusCode);

impl PageError {
    pub fn not_found() -> PageError {
        PageError(StatusCode::NOT_FOUND)
    }
    pub fn bad_request() -> PageError {
        PageError(StatusCode::BAD_REQUEST)
    }
    pub fn internal() -> PageError {
        PageError(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "state store failed");
        PageError::internal()
    }
}

/// An API error of a function whose pages act through the same code: its status.
impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        PageError(error.status())
    }
}

impl From<DocumentError> for PageError {
    fn from(error: DocumentError) -> Self {
        tracing::error!(%error, "document store failed");
        PageError::internal()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

pub type PageResult = Result<Response, PageError>;

/// The shared layout's own templates, for error pages.
static SHARED: LazyLock<Templates> = LazyLock::new(|| Templates::new(&[]));

/// A styled error page for `status` in the page's language, with the page headers.
pub fn error_page(page: &Page, status: StatusCode) -> Response {
    let kind = match status {
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => "not_found",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        status if status.is_client_error() => "bad_request",
        _ => "internal",
    };
    error_page_of_kind(page, status, kind)
}

/// The error page with the texts `errorpage.{kind}.*`.
pub(super) fn error_page_of_kind(page: &Page, status: StatusCode, kind: &str) -> Response {
    let response = SHARED
        .render_with_status(status, page, "error.html", context! { kind })
        .unwrap_or_else(|_| (status, Html(text(page.lang, "errorpage.internal.text").to_owned())).into_response());
    with_page_headers(response)
}
