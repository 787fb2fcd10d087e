//! Drafts: a partial application kept for 30 days after the last save.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::values::{ClientId, Problem};

/// How long a draft is kept after its last save.
pub const DRAFT_LIFETIME: Duration = Duration::days(30);

/// Largest draft we keep (a full application is about 1 KiB).
pub const MAX_DRAFT_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub id: ClientId,
    /// Whatever the form holds so far; validated only on submission.
    pub data: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub saved_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl Draft {
    /// A draft saved now; every save moves the expiry to 30 days from now.
    pub fn save(id: ClientId, data: Value, now: OffsetDateTime) -> Result<Draft, Problem> {
        if !data.is_object() {
            return Err(Problem::NotAnObject);
        }
        if serde_json::to_vec(&data).map_or(true, |bytes| bytes.len() > MAX_DRAFT_BYTES) {
            return Err(Problem::TooLong);
        }
        Ok(Draft { id, data, saved_at: now, expires_at: now + DRAFT_LIFETIME })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn a_draft_expires_thirty_days_after_the_last_save() {
        let id = ClientId::parse("d1").unwrap();
        let draft = Draft::save(id, json!({"child": {}}), datetime!(2026-11-23 10:00 UTC)).unwrap();
        assert_eq!(draft.expires_at, datetime!(2026-12-23 10:00 UTC));
    }

    #[test]
    fn a_draft_is_an_object_of_bounded_size() {
        let id = ClientId::parse("d1").unwrap();
        let now = datetime!(2026-11-23 10:00 UTC);
        assert_eq!(Draft::save(id.clone(), json!([1]), now).err(), Some(Problem::NotAnObject));
        let huge = json!({"x": "a".repeat(MAX_DRAFT_BYTES)});
        assert_eq!(Draft::save(id, huge, now).err(), Some(Problem::TooLong));
    }
}
