//! Lists that grow are read a page at a time: `?limit=` and an opaque `?cursor=`; the body stays
//! a JSON array, and the address of the next page is in a `Link: <…>; rel="next"` header
//! (RFC 8288).

use axum::http::HeaderValue;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::values::Problem;
use crate::input::FieldErrors;

/// The most items a page holds.
pub const MAX_LIMIT: usize = 100;
/// Items per page unless the caller asks for fewer or more.
pub const DEFAULT_LIMIT: usize = 20;
/// Longest cursor taken (ours are far shorter).
const MAX_CURSOR: usize = 256;

/// The query of a list: `limit` (1–100, default 20) and the `cursor` from the `Link` of the
/// page before.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items (1–100, default 20).
    pub limit: Option<String>,
    /// Where the page starts: the `cursor` of the previous page's `Link: rel="next"`.
    pub cursor: Option<String>,
}

/// Which page to read: its length, and after which position (a store's sort key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    pub limit: usize,
    pub after: Option<String>,
}

impl PageQuery {
    pub fn parse(&self) -> Result<Paging, FieldErrors> {
        let mut errors = FieldErrors::default();
        let limit = match self.limit.as_deref() {
            None => Ok(DEFAULT_LIMIT),
            Some(raw) => raw.parse().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or(Problem::LimitRange),
        };
        let limit = errors.take("limit", limit);
        let after = self.cursor.as_deref().map(|cursor| {
            Some(cursor)
                .filter(|cursor| cursor.len() <= MAX_CURSOR)
                .and_then(|cursor| URL_SAFE_NO_PAD.decode(cursor).ok())
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or(Problem::CursorFormat)
        });
        let after = match after {
            None => Some(None),
            Some(after) => errors.take("cursor", after).map(Some),
        };
        let paging = limit.zip(after).map(|(limit, after)| Paging { limit, after });
        errors.finish(paging)
    }
}

/// The address of the page after this one at `path`, if there is one.
pub fn next_page(path: &str, limit: usize, next: Option<&str>) -> Option<String> {
    Some(format!("{path}?limit={limit}&cursor={}", URL_SAFE_NO_PAD.encode(next?)))
}

/// The `Link` header to the page after this one at `path`, if there is one.
pub fn next_link(path: &str, limit: usize, next: Option<&str>) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("<{}>; rel=\"next\"", next_page(path, limit, next)?)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(limit: Option<&str>, cursor: Option<&str>) -> PageQuery {
        PageQuery { limit: limit.map(str::to_owned), cursor: cursor.map(str::to_owned) }
    }

    #[test]
    fn a_page_is_bounded_and_its_cursor_is_what_the_link_gave() {
        assert_eq!(query(None, None).parse().unwrap(), Paging { limit: DEFAULT_LIMIT, after: None });
        let link = next_link("/api/v1/requests", 5, Some("0001764#r-1")).unwrap();
        let link = link.to_str().unwrap();
        let cursor = link.split("cursor=").nth(1).unwrap().split('>').next().unwrap();
        assert_eq!(query(Some("5"), Some(cursor)).parse().unwrap().after.as_deref(), Some("0001764#r-1"));
        assert_eq!(next_link("/api/v1/requests", 5, None), None, "no next page, no link");
    }

    #[test]
    fn hostile_paging_is_refused_field_by_field() {
        for limit in ["0", "101", "-1", "1e3", "", "zwanzig"] {
            let errors = query(Some(limit), None).parse().unwrap_err();
            assert_eq!(errors.get("limit"), Some(Problem::LimitRange), "{limit}");
        }
        for cursor in ["%%%", "not base64!", &"A".repeat(300), "_w"] {
            let errors = query(None, Some(cursor)).parse().unwrap_err();
            assert_eq!(errors.get("cursor"), Some(Problem::CursorFormat), "{cursor}");
        }
    }
}
