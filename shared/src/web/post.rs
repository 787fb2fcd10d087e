//! What a form posts: its fields, its files, and whether it came from another site (CSRF).

use std::collections::BTreeMap;

use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{Form, FromRequest, Request};
use axum::http::{HeaderValue, header, request::Parts};
use axum::response::{IntoResponse, Response};

use crate::domain::upload::{self, FileType, MAX_UPLOAD_BYTES, UploadProblem};

/// An `application/x-www-form-urlencoded` body as field → value (the first value of a name).
pub struct FormData(pub BTreeMap<String, String>);

impl FormData {
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Form(pairs) =
            Form::<Vec<(String, String)>>::from_request(request, state).await.map_err(IntoResponse::into_response)?;
        let mut fields = BTreeMap::new();
        for (name, value) in pairs {
            fields.entry(name).or_insert(value);
        }
        Ok(FormData(fields))
    }
}

/// A file of a multipart form post, read up to [`MAX_UPLOAD_BYTES`] (the rest is read and
/// dropped, so that she gets an answer rather than a broken connection).
pub struct ReceivedFile {
    /// The name on her device, without control characters, at most 100 characters.
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub too_large: bool,
}

impl ReceivedFile {
    /// The file of `field`; `None` for a file input left empty.
    pub async fn read(mut field: Field<'_>) -> Result<Option<ReceivedFile>, MultipartError> {
        let file_name: String =
            field.file_name().unwrap_or_default().chars().filter(|c| !c.is_control()).take(100).collect();
        let mut bytes = Vec::new();
        let mut too_large = false;
        while let Some(chunk) = field.chunk().await? {
            if bytes.len() + chunk.len() > MAX_UPLOAD_BYTES {
                too_large = true;
                bytes.clear();
            } else if !too_large {
                bytes.extend_from_slice(&chunk);
            }
        }
        // A file input left empty arrives as a part without name and content.
        let empty = file_name.is_empty() && bytes.is_empty() && !too_large;
        Ok((!empty).then_some(ReceivedFile { file_name, bytes, too_large }))
    }

    /// Whether we take the file: by its size and content (see [`upload::check`]).
    pub fn check(&self) -> Result<FileType, UploadProblem> {
        if self.too_large { Err(UploadProblem::TooLarge) } else { upload::check(&self.bytes) }
    }
}

/// Whether a request that changes something comes from another site. Browsers say so in
/// `Sec-Fetch-Site`; older ones send `Origin`, which must be this host.
pub(super) fn is_cross_site(parts: &Parts) -> bool {
    let header = |name| parts.headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if let Some(site) = header(header::HeaderName::from_static("sec-fetch-site")) {
        return !matches!(site, "same-origin" | "none");
    }
    match (header(header::ORIGIN), header(header::HOST)) {
        (None, _) => false,
        (Some(origin), Some(host)) => origin != format!("http://{host}") && origin != format!("https://{host}"),
        (Some(_), None) => true,
    }
}
