//! What checking a certificate proves. A code alone proves nothing: a forger can print a genuine
//! code on a forged paper. So a check needs the code *and* the child's date of birth as the paper
//! shows it; only then does it say valid or revoked, with the issue date, the office and the
//! child's first name, so that the checker compares them with the paper. Without the date, with
//! a wrong one, or while the certificate is locked after wrong dates in a row, the answer is the
//! one an unknown code gets.
//!
//! The record keeps neither the code nor the date in clear: it is found by the code's hash, and
//! holds the hash of code and date. After the request is deleted (retention) a minimal record
//! stays for a while, so that genuine old certificates still verify.

use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};

use super::request::Request;

/// Wrong dates of birth in a row after which a certificate answers as unknown for [`LOCKED_FOR`]:
/// a checker mistypes once or twice; someone guessing needs hundreds.
pub const WRONG_DATES_ALLOWED: u32 = 5;
pub const LOCKED_FOR: Duration = Duration::hours(24);
/// How many checks a record lists one by one (all are counted).
const RECENT_CHECKS: usize = 20;

/// The hash a record is found by: the code identifies, the store never sees it.
pub fn code_hash(code: &str) -> String {
    sha256_hex(code)
}

fn birth_date_hash(code: &str, birth_date: Date) -> String {
    // With the code in it: 100 bits the hash cannot be reversed without.
    sha256_hex(&format!("{code}:{birth_date}"))
}

fn sha256_hex(text: &str) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes()))
}

/// What the platform keeps to answer checks of one certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationRecord {
    birth_date_hash: String,
    pub office_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// Once revoked, the code verifies as revoked, no longer as valid.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// While the request is kept: whose certificate it is, for the checker to compare.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_given_names: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Once the request is deleted: until when the record stays (then it is gone, as TTL).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub kept_until: Option<OffsetDateTime>,
    #[serde(default)]
    pub counts: CheckCounts,
    /// The latest checks (time and result; nothing about who checked).
    #[serde(default)]
    pub recent: Vec<Check>,
    #[serde(default)]
    wrong_in_a_row: u32,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    locked_until: Option<OffsetDateTime>,
}

/// Every check of a certificate, by result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckCounts {
    pub valid: u64,
    pub revoked: u64,
    pub wrong_birth_date: u64,
    pub locked: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub result: CheckResult,
}

/// What one check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckResult {
    Valid,
    Revoked,
    /// No date of birth, or another than the paper's: answered as unknown.
    WrongBirthDate,
    /// Too many wrong dates in a row: answered as unknown until the lock ends.
    Locked,
}

/// What the checker is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Valid,
    Revoked,
    /// As for a code no certificate has.
    Unknown,
}

impl CheckResult {
    pub fn answer(self) -> Answer {
        match self {
            CheckResult::Valid => Answer::Valid,
            CheckResult::Revoked => Answer::Revoked,
            CheckResult::WrongBirthDate | CheckResult::Locked => Answer::Unknown,
        }
    }
}

impl VerificationRecord {
    /// The record of the request's certificate, found by the certificate's code (`None`: not
    /// issued yet).
    pub fn of(request: &Request) -> Option<(String, VerificationRecord)> {
        let certificate = request.certificate.as_ref()?;
        let child = &request.application.child;
        let mut record = VerificationRecord::issued(
            &certificate.code,
            child.birth_date,
            &request.office_id,
            certificate.issued_at,
            child.given_names.as_str(),
        );
        record.request_id = Some(request.id.clone());
        record.revoked_at = certificate.revoked.as_ref().map(|revocation| revocation.at);
        Some((certificate.code.clone(), record))
    }

    /// A certificate just issued with `code` for a child born on `birth_date`.
    pub fn issued(
        code: &str,
        birth_date: Date,
        office_id: &str,
        issued_at: OffsetDateTime,
        child_given_names: &str,
    ) -> VerificationRecord {
        VerificationRecord {
            birth_date_hash: birth_date_hash(code, birth_date),
            office_id: office_id.to_owned(),
            issued_at,
            revoked_at: None,
            child_given_names: Some(child_given_names.to_owned()),
            request_id: None,
            kept_until: None,
            counts: CheckCounts::default(),
            recent: Vec::new(),
            wrong_in_a_row: 0,
            locked_until: None,
        }
    }

    /// What stays after the request is deleted, until `kept_until`: nothing that names the child.
    pub fn without_the_request(mut self, kept_until: OffsetDateTime) -> VerificationRecord {
        self.child_given_names = None;
        self.request_id = None;
        self.kept_until = Some(kept_until);
        self
    }

    /// Checks `code` (the one this record was found by) with the date of birth the checker
    /// read off the paper, and counts the check.
    pub fn check(&mut self, code: &str, birth_date: Option<Date>, now: OffsetDateTime) -> CheckResult {
        let result = if self.locked_until.is_some_and(|until| now < until) {
            CheckResult::Locked
        } else if birth_date.is_some_and(|date| birth_date_hash(code, date) == self.birth_date_hash) {
            self.wrong_in_a_row = 0;
            self.locked_until = None;
            if self.revoked_at.is_some() { CheckResult::Revoked } else { CheckResult::Valid }
        } else {
            // A check without a date guesses nothing: it is counted, but does not lock.
            if birth_date.is_some() {
                self.wrong_in_a_row += 1;
            }
            if self.wrong_in_a_row >= WRONG_DATES_ALLOWED {
                self.wrong_in_a_row = 0;
                self.locked_until = Some(now + LOCKED_FOR);
            }
            CheckResult::WrongBirthDate
        };
        let counter = match result {
            CheckResult::Valid => &mut self.counts.valid,
            CheckResult::Revoked => &mut self.counts.revoked,
            CheckResult::WrongBirthDate => &mut self.counts.wrong_birth_date,
            CheckResult::Locked => &mut self.counts.locked,
        };
        *counter += 1;
        self.recent.push(Check { at: now, result });
        let excess = self.recent.len().saturating_sub(RECENT_CHECKS);
        self.recent.drain(..excess);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::tests::sample_request;
    use crate::domain::request::{Certificate, Revocation};
    use crate::domain::values::LongText;
    use time::macros::{date, datetime};

    const CODE: &str = "K7QM2XWA9TZP4HBN3XYZ";
    const NOW: OffsetDateTime = datetime!(2026-12-03 10:00 UTC);

    fn issued() -> (Request, VerificationRecord) {
        let mut request = sample_request();
        request.certificate =
            Some(Certificate { code: CODE.into(), issued_at: NOW, document: "d".into(), revoked: None });
        let (code, record) = VerificationRecord::of(&request).unwrap();
        assert_eq!(code, CODE);
        (request, record)
    }

    #[test]
    fn only_the_childs_date_of_birth_makes_a_code_say_something() {
        let (request, mut record) = issued();
        let born = request.application.child.birth_date;
        assert_eq!(record.check(CODE, Some(born), NOW), CheckResult::Valid);
        assert_eq!(record.check(CODE, None, NOW).answer(), Answer::Unknown, "the code alone proves nothing");
        assert_eq!(record.check(CODE, Some(born + Duration::days(1)), NOW).answer(), Answer::Unknown);
        assert_eq!(record.check(CODE, Some(born), NOW), CheckResult::Valid, "a slip is forgiven");
        assert_eq!(record.child_given_names.as_deref(), Some(request.application.child.given_names.as_str()));
        assert_eq!(
            record.counts,
            CheckCounts { valid: 2, revoked: 0, wrong_birth_date: 2, locked: 0 },
            "every check is counted"
        );
        let stored = serde_json::to_string(&record).unwrap();
        assert!(!stored.contains(CODE) && !stored.contains(&born.to_string()), "neither in clear: {stored}");
    }

    #[test]
    fn guessing_the_date_locks_the_certificate_for_a_day() {
        let (request, mut record) = issued();
        let born = request.application.child.birth_date;
        for day in 1..=i64::from(WRONG_DATES_ALLOWED) {
            assert_eq!(
                record.check(CODE, Some(date!(2000 - 01 - 01) + Duration::days(day)), NOW).answer(),
                Answer::Unknown
            );
        }
        assert_eq!(
            record.check(CODE, Some(born), NOW + Duration::hours(23)),
            CheckResult::Locked,
            "even the right date"
        );
        assert_eq!(record.check(CODE, Some(born), NOW + LOCKED_FOR), CheckResult::Valid, "the lock ends");
        assert_eq!(record.counts.locked, 1);
        for _ in 0..2 * WRONG_DATES_ALLOWED {
            assert_eq!(record.check(CODE, None, NOW + LOCKED_FOR).answer(), Answer::Unknown);
        }
        assert_eq!(record.check(CODE, Some(born), NOW + LOCKED_FOR), CheckResult::Valid, "no date, no guess");
    }

    #[test]
    fn a_revoked_certificate_says_so_and_the_record_after_retention_names_nobody() {
        let (mut request, _) = issued();
        let reason = LongText::parse("Sorgeerklärung nachgetragen").unwrap();
        request.certificate.as_mut().unwrap().revoked = Some(Revocation { reason, by: "s".into(), at: NOW });
        let (_, record) = VerificationRecord::of(&request).unwrap();
        let mut kept = record.without_the_request(NOW + Duration::days(730));
        assert_eq!(kept.check(CODE, Some(request.application.child.birth_date), NOW), CheckResult::Revoked);
        assert_eq!((kept.child_given_names, kept.request_id), (None, None));
    }

    #[test]
    fn the_record_lists_the_latest_checks_and_counts_them_all() {
        let (request, mut record) = issued();
        for minute in 0..30 {
            record.check(CODE, Some(request.application.child.birth_date), NOW + Duration::minutes(minute));
        }
        assert_eq!((record.recent.len(), record.counts.valid), (RECENT_CHECKS, 30));
        assert_eq!(record.recent.last().unwrap().at, NOW + Duration::minutes(29));
    }
}
