//! What a form posts: its fields, and whether it came from another site (CSRF).

use std::collections::BTreeMap;

use axum::extract::{Form, FromRequest, Request};
use axum::http::{HeaderValue, header, request::Parts};
use axum::response::{IntoResponse, Response};

/// An `application/x-www-form-urlencoded` body: field → value (the first value of a name), and
/// every value of names that repeat (checkboxes).
pub struct FormData {
    pub values: BTreeMap<String, String>,
    pairs: Vec<(String, String)>,
}

impl FormData {
    pub fn get(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// Every value sent under `name`, in the order sent.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.pairs.iter().filter(move |(n, _)| n == name).map(|(_, value)| value.as_str())
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Form(pairs) =
            Form::<Vec<(String, String)>>::from_request(request, state).await.map_err(IntoResponse::into_response)?;
        let mut values = BTreeMap::new();
        for (name, value) in &pairs {
            values.entry(name.clone()).or_insert_with(|| value.clone());
        }
        Ok(FormData { values, pairs })
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
