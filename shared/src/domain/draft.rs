//! Drafts: a partial application kept for 30 days after the last save, with the files she
//! uploaded for it. The files are recorded by the server (their storage keys are chosen by it);
//! a client sends the application's fields only.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::upload::Upload;
use super::values::{ClientId, Problem};

/// How long a draft is kept after its last save.
pub const DRAFT_LIFETIME: Duration = Duration::days(30);

/// Largest draft we keep (a full application is about 1 KiB).
pub const MAX_DRAFT_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Draft {
    pub id: ClientId,
    /// Whatever the form holds so far; validated only on submission.
    pub data: Value,
    /// The files she uploaded for it, as the server stored them.
    #[serde(default)]
    pub uploads: Vec<Upload>,
    #[serde(with = "time::serde::rfc3339")]
    pub saved_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl Draft {
    /// A draft saved now with the server's record of its `uploads`; every save moves the expiry
    /// to 30 days from now. An `uploads` field in `data` is not the client's to set: it is
    /// dropped.
    pub fn save(id: ClientId, mut data: Value, uploads: Vec<Upload>, now: OffsetDateTime) -> Result<Draft, Problem> {
        let Some(fields) = data.as_object_mut() else { return Err(Problem::NotAnObject) };
        fields.remove("uploads");
        if serde_json::to_vec(&data).map_or(true, |bytes| bytes.len() > MAX_DRAFT_BYTES) {
            return Err(Problem::TooLong);
        }
        Ok(Draft { id, data, uploads, saved_at: now, expires_at: now + DRAFT_LIFETIME })
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
        let draft = Draft::save(id, json!({"child": {}}), vec![], datetime!(2026-11-23 10:00 UTC)).unwrap();
        assert_eq!(draft.expires_at, datetime!(2026-12-23 10:00 UTC));
    }

    #[test]
    fn a_draft_is_an_object_of_bounded_size() {
        let id = ClientId::parse("d1").unwrap();
        let now = datetime!(2026-11-23 10:00 UTC);
        assert_eq!(Draft::save(id.clone(), json!([1]), vec![], now).err(), Some(Problem::NotAnObject));
        let huge = json!({"x": "a".repeat(MAX_DRAFT_BYTES)});
        assert_eq!(Draft::save(id, huge, vec![], now).err(), Some(Problem::TooLong));
    }

    #[test]
    fn uploads_sent_by_a_client_are_dropped() {
        let id = ClientId::parse("antrag").unwrap();
        let smuggled = json!({"uploads": [{"kind": "geburtsurkunde", "key": "../state.sqlite3"}], "child": {}});
        let draft = Draft::save(id, smuggled, vec![], datetime!(2026-11-23 10:00 UTC)).unwrap();
        assert_eq!(draft.data, json!({"child": {}}));
        assert!(draft.uploads.is_empty());
    }
}
