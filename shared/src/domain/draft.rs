//! Drafts: a partial application kept for 30 days after the last save, with the files she
//! uploaded for it. The files are recorded by the server (their storage keys are chosen by it);
//! a client sends the application's fields only.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Date, Duration, OffsetDateTime};

use super::upload::Upload;
use super::values::{ClientId, EmailAddress, Problem, today_in_germany};

/// How long a draft is kept after its last save.
pub const DRAFT_LIFETIME: Duration = Duration::days(30);

/// How long before a draft expires she is reminded (where she gave an address for mail).
pub const DRAFT_REMINDER_BEFORE: Duration = Duration::days(3);

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

    /// The German day it is deleted on.
    pub fn expiry_day(&self) -> Date {
        today_in_germany(self.expires_at)
    }

    /// The German day she is reminded on that it will be deleted.
    pub fn reminder_day(&self) -> Date {
        self.expiry_day() - DRAFT_REMINDER_BEFORE
    }

    /// The id of the mail that reminds `owner` of this draft's expiry: the same for the same
    /// expiry (a repeated run sends the same message), unique across mothers (whose web drafts
    /// share an id), and naming neither.
    pub fn reminder_mail_id(&self, owner: &str) -> String {
        let input = format!("{owner}\n{}\n{}", self.id.as_str(), self.expiry_day());
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, input.as_bytes());
        format!("reminder.{}", &hex::encode(digest)[..32])
    }

    /// Where to remind her: the address the form holds (`contact.email`), if it is one and she
    /// has not switched mail off. The draft is her unchecked input, so it is parsed here.
    pub fn reminder_address(&self) -> Option<EmailAddress> {
        let contact = self.data.get("contact")?;
        if contact.get("notifications") == Some(&Value::Bool(false)) {
            return None;
        }
        EmailAddress::parse(contact.get("email")?.as_str()?).ok()
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
    fn she_is_reminded_three_german_days_before_expiry_at_a_valid_address_she_did_not_switch_off() {
        let id = ClientId::parse("d1").unwrap();
        // 23:30 UTC is already the next day in Berlin.
        let saved = |data| Draft::save(id.clone(), data, vec![], datetime!(2026-11-23 23:30 UTC)).unwrap();
        let draft = saved(json!({"contact": {"email": "sophia.beispiel@example.org"}}));
        assert_eq!(draft.expiry_day(), time::macros::date!(2026 - 12 - 24));
        assert_eq!(draft.reminder_day(), time::macros::date!(2026 - 12 - 21));
        assert_eq!(draft.reminder_address().unwrap().as_str(), "sophia.beispiel@example.org");
        for data in [
            json!({}),
            json!({"contact": {"email": "sophia.beispiel@example.org", "notifications": false}}),
            json!({"contact": {"email": "x@y\r\nBcc: z@example.org"}}),
            json!({"contact": {"email": 42}}),
            json!({"contact": "sophia.beispiel@example.org"}),
        ] {
            assert_eq!(saved(data.clone()).reminder_address(), None, "{data}");
        }
    }

    #[test]
    fn a_reminders_mail_id_is_hers_for_that_expiry_and_names_no_one() {
        let id = ClientId::parse("antrag").unwrap();
        let saved = |at| Draft::save(id.clone(), json!({}), vec![], at).unwrap();
        let draft = saved(datetime!(2026-11-23 10:00 UTC));
        let mail = draft.reminder_mail_id("sophia");
        assert_eq!(mail, saved(datetime!(2026-11-23 18:00 UTC)).reminder_mail_id("sophia"), "same expiry day");
        assert_ne!(mail, draft.reminder_mail_id("lena"), "another mother's web draft");
        assert_ne!(mail, saved(datetime!(2026-11-25 10:00 UTC)).reminder_mail_id("sophia"), "saved again");
        assert!(mail.starts_with("reminder.") && !mail.contains("sophia") && !mail.contains("antrag"), "{mail}");
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
