//! The request as a page sees it: its language and its address (for the language switch).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Serialize;

use super::session::has_session;
use crate::texts::{Lang, lookup};

/// The language and the address of a page request.
#[derive(Debug, Clone)]
pub struct Page {
    pub lang: Lang,
    path: String,
    query: Vec<(String, String)>,
    signed_in: bool,
    origin: String,
}

impl Page {
    pub(super) fn from_parts(parts: &Parts, lang: Lang) -> Page {
        let query = parts.uri.query().and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
        let origin = origin(parts);
        Page {
            lang,
            path: parts.uri.path().to_owned(),
            query,
            signed_in: has_session(&parts.headers, parts.uri.path()),
            origin,
        }
    }

    /// The site as the browser reached it (`https://host`), for the address another site sends
    /// the browser back to (an upload to S3); empty where the request names no host, so that
    /// such an address stays relative.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The same page as reached by `path` (a form posted elsewhere shows the page it belongs to).
    pub fn at(mut self, path: &str) -> Page {
        self.path = path.to_owned();
        self.query.clear();
        self
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// A query parameter of the request.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// Whether the layout offers to sign out.
    pub(super) fn signed_in(&self) -> bool {
        self.signed_in
    }

    /// The links of the language switch: this page with `lang=` set, the rest of the query kept.
    pub(super) fn languages(&self) -> Vec<LanguageLink> {
        Lang::ALL
            .into_iter()
            .map(|lang| {
                let mut query: Vec<(&str, &str)> =
                    self.query.iter().filter(|(k, _)| k != "lang").map(|(k, v)| (k.as_str(), v.as_str())).collect();
                query.push(("lang", lang.code()));
                let query = serde_urlencoded::to_string(&query).expect("plain pairs encode");
                LanguageLink {
                    href: format!("{}?{query}", self.path),
                    label: lookup(lang, &format!("common.lang_{}", lang.code())).unwrap_or(lang.code()),
                    tag: lang.tag(),
                    current: lang == self.lang,
                }
            })
            .collect()
    }
}

/// API Gateway answers only for the API's own domains, so the `Host` it passes on is one of
/// ours; it tells the scheme in `X-Forwarded-Proto` (the local runtime serves plain http).
fn origin(parts: &Parts) -> String {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let Some(host) = header("host").or(parts.uri.host()) else { return String::new() };
    let plain = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    let scheme = match header("x-forwarded-proto") {
        Some("https") => "https",
        _ => "http",
    };
    if plain { format!("{scheme}://{host}") } else { String::new() }
}

#[derive(Serialize)]
pub(super) struct LanguageLink {
    href: String,
    label: &'static str,
    tag: &'static str,
    current: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(lang) = Lang::from_request_parts(parts, state).await;
        Ok(Page::from_parts(parts, lang))
    }
}
