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
}

impl Page {
    pub(super) fn from_parts(parts: &Parts, lang: Lang) -> Page {
        let query = parts.uri.query().and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
        Page { lang, path: parts.uri.path().to_owned(), query, signed_in: has_session(&parts.headers) }
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
