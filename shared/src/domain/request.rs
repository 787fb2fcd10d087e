//! A submitted request and the states it passes through.
//!
//! `submitted → prepared → issued | in_review → issued | rejected`, then `posted` for post
//! delivery; `failed` (with a reason for ops) from any open state.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::application::Application;
use super::values::iso_date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Submitted,
    Prepared,
    InReview,
    Issued,
    Rejected,
    Posted,
    Failed,
}

impl Status {
    /// The transitions the state machine allows.
    pub fn may_become(self, next: Status) -> bool {
        use Status::*;
        matches!(
            (self, next),
            (Submitted, Prepared)
                | (Prepared, Issued | InReview)
                | (InReview, Issued | Rejected)
                | (Issued, Posted)
                | (Submitted | Prepared | InReview, Failed)
        )
    }

    /// Still waiting for a decision.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Submitted | Status::Prepared | Status::InReview)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::Prepared => "prepared",
            Status::InReview => "in_review",
            Status::Issued => "issued",
            Status::Rejected => "rejected",
            Status::Posted => "posted",
            Status::Failed => "failed",
        }
    }
}

/// How sure the identity provider is of who logged in (BundID / eIDAS levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TrustLevel {
    /// STORK-QAA-Level-1: username and password.
    #[serde(rename = "STORK-QAA-Level-1")]
    Basis,
    /// STORK-QAA-Level-3: e.g. ELSTER certificate.
    #[serde(rename = "STORK-QAA-Level-3")]
    Substantiell,
    /// STORK-QAA-Level-4: eID card.
    #[serde(rename = "STORK-QAA-Level-4")]
    Hoch,
}

/// Who was logged in when the request was submitted, as the identity provider stated it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginIdentity {
    pub subject: String,
    pub given_names: String,
    pub family_name: String,
    #[serde(with = "iso_date::option", default)]
    pub birth_date: Option<Date>,
    pub trust_level: TrustLevel,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub id: String,
    pub login: LoginIdentity,
    /// The office of the mother's residence: it issues the certificate.
    pub office_id: String,
    /// The office that keeps the register for the child's birth place, if on the platform.
    pub register_office_id: Option<String>,
    pub application: Application,
    pub status: Status,
    pub timeline: Vec<TimelineEntry>,
    /// Why the request failed, for operators (no personal data).
    pub failure: Option<String>,
}

/// What applying a transition did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Changed,
    /// The request was already there: a duplicate or replayed step.
    AlreadyThere,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a request that is {from:?} cannot become {to:?}")]
pub struct TransitionError {
    pub from: Status,
    pub to: Status,
}

impl Request {
    pub fn submitted(
        id: String,
        login: LoginIdentity,
        office_id: String,
        register_office_id: Option<String>,
        application: Application,
        at: OffsetDateTime,
    ) -> Request {
        Request {
            id,
            login,
            office_id,
            register_office_id,
            application,
            status: Status::Submitted,
            timeline: vec![TimelineEntry { at, status: Status::Submitted }],
            failure: None,
        }
    }

    /// Moves to `next` and records it in the timeline; repeating the current state is a no-op.
    pub fn advance(&mut self, next: Status, at: OffsetDateTime) -> Result<Transition, TransitionError> {
        if self.status == next {
            return Ok(Transition::AlreadyThere);
        }
        if !self.status.may_become(next) {
            return Err(TransitionError { from: self.status, to: next });
        }
        self.status = next;
        self.timeline.push(TimelineEntry { at, status: next });
        Ok(Transition::Changed)
    }

    pub fn is_owned_by(&self, subject: &str) -> bool {
        self.login.subject == subject
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::application::{
        parse_submission,
        tests::{TODAY, valid_body},
    };
    use Status::*;
    use time::macros::datetime;

    fn request() -> Request {
        let login = LoginIdentity {
            subject: "s".into(),
            given_names: "Sophia".into(),
            family_name: "Beispiel".into(),
            birth_date: None,
            trust_level: TrustLevel::Hoch,
        };
        let application = parse_submission(&valid_body(), TODAY).unwrap().application;
        Request::submitted("r1".into(), login, "bremen".into(), None, application, datetime!(2026-11-23 10:00 UTC))
    }

    #[test]
    fn the_automatic_path_is_submitted_prepared_issued_posted() {
        let mut r = request();
        for next in [Prepared, Issued, Posted] {
            assert_eq!(r.advance(next, datetime!(2026-11-23 10:01 UTC)), Ok(Transition::Changed));
        }
        assert_eq!(r.timeline.iter().map(|e| e.status).collect::<Vec<_>>(), [Submitted, Prepared, Issued, Posted]);
    }

    #[test]
    fn the_review_path_ends_issued_or_rejected() {
        assert!(InReview.may_become(Issued) && InReview.may_become(Rejected));
        assert!(Prepared.may_become(InReview));
    }

    #[test]
    fn a_duplicate_step_changes_nothing() {
        let mut r = request();
        r.advance(Prepared, datetime!(2026-11-23 10:01 UTC)).unwrap();
        assert_eq!(r.advance(Prepared, datetime!(2026-11-23 10:02 UTC)), Ok(Transition::AlreadyThere));
        assert_eq!(r.timeline.len(), 2);
    }

    #[test]
    fn decided_requests_do_not_go_back() {
        for (from, to) in
            [(Issued, InReview), (Rejected, Issued), (Submitted, Issued), (Issued, Failed), (Posted, Issued)]
        {
            assert!(!from.may_become(to), "{from:?} -> {to:?}");
        }
        let mut r = request();
        assert_eq!(
            r.advance(Issued, datetime!(2026-11-23 10:01 UTC)),
            Err(TransitionError { from: Submitted, to: Issued })
        );
    }

    #[test]
    fn only_open_requests_await_a_decision() {
        assert!(Submitted.is_open() && Prepared.is_open() && InReview.is_open());
        assert!(!Issued.is_open() && !Rejected.is_open() && !Posted.is_open() && !Failed.is_open());
    }
}
