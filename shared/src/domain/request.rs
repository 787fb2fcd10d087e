//! A submitted request and the states it passes through.
//!
//! `submitted → prepared → issued | in_review → issued | rejected`, then `posted` for post
//! delivery; `failed` (with a reason for ops) from any open state, and from `failed` back to
//! where it failed when it is tried again ([`Request::retry`]).

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::application::{Application, Delivery};
use super::register::ReviewReason;
use super::upload::{DocumentKind, Upload};
use super::values::{LongText, iso_date};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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
    pub const ALL: [Status; 7] = [
        Status::Submitted,
        Status::Prepared,
        Status::InReview,
        Status::Issued,
        Status::Rejected,
        Status::Posted,
        Status::Failed,
    ];

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

/// How sure the identity provider is of who logged in (BundID / eIDAS levels), by the names
/// BundID gives them (in SAML and in our tokens alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "&'static str")]
pub enum TrustLevel {
    /// STORK-QAA-Level-1: username and password.
    #[schema(rename = "STORK-QAA-Level-1")]
    Basis,
    /// STORK-QAA-Level-3: e.g. ELSTER certificate.
    #[schema(rename = "STORK-QAA-Level-3")]
    Substantiell,
    /// STORK-QAA-Level-4: eID card.
    #[schema(rename = "STORK-QAA-Level-4")]
    Hoch,
}

impl TrustLevel {
    /// Highest first, as the login page offers them.
    pub const ALL: [TrustLevel; 3] = [TrustLevel::Hoch, TrustLevel::Substantiell, TrustLevel::Basis];

    pub fn as_str(self) -> &'static str {
        match self {
            TrustLevel::Basis => "STORK-QAA-Level-1",
            TrustLevel::Substantiell => "STORK-QAA-Level-3",
            TrustLevel::Hoch => "STORK-QAA-Level-4",
        }
    }

    pub fn parse(name: &str) -> Option<TrustLevel> {
        Self::ALL.into_iter().find(|level| level.as_str() == name)
    }
}

impl From<TrustLevel> for &'static str {
    fn from(level: TrustLevel) -> Self {
        level.as_str()
    }
}

impl TryFrom<String> for TrustLevel {
    type Error = String;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        TrustLevel::parse(&name).ok_or_else(|| format!("no trust level {name:?}"))
    }
}

/// Who was logged in when the request was submitted, as the identity provider stated it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoginIdentity {
    pub subject: String,
    pub given_names: String,
    pub family_name: String,
    #[serde(with = "iso_date::option", default)]
    pub birth_date: Option<Date>,
    pub trust_level: TrustLevel,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// Where the request's documents are kept, once written.
    #[serde(default)]
    pub documents: Documents,
    /// What the register check found and decided.
    #[serde(default)]
    pub register_result: Option<RegisterResult>,
    /// The approval the certificate step acts on (automatic or a case worker's).
    #[serde(default)]
    pub approval: Option<Approval>,
    /// The certificate, once issued.
    #[serde(default)]
    pub certificate: Option<Certificate>,
    /// Why the office refused, in words for the mother.
    #[serde(default)]
    pub rejection_reason: Option<LongText>,
    /// The case worker who holds the request: only they write and decide on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment: Option<Assignment>,
    /// The code the approved certificate will carry, chosen before it is rendered: a rendering
    /// repeated after a crash makes the same file under the same key, never a second one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_certificate_code: Option<String>,
}

/// A member of an office's staff as others see them: their id at the office's provider and,
/// where it tells, their name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StaffMember {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl StaffMember {
    /// How pages and messages name them: the name, else the id.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// Who holds a request, since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Assignment {
    pub to: StaffMember,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

/// Someone else holds the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("another case worker holds the request")]
pub struct HeldBy(pub StaffMember);

/// What a case worker decides on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The register holds no entry: the full certificate.
    Issue,
    /// Entries exist only for these parts of custody (§ 58 Abs. 2 SGB VIII).
    Partial { parts: Vec<String> },
    /// No certificate, for this reason.
    Reject { reason: LongText },
    /// The issued certificate went out by post.
    Posted,
}

impl Outcome {
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Issue => "issue",
            Outcome::Partial { .. } => "partial",
            Outcome::Reject { .. } => "reject",
            Outcome::Posted => "posted",
        }
    }
}

/// A supervisor's revocation, as `POST /api/v1/staff/requests/{id}/certificate/revoke` carries it.
#[derive(utoipa::ToSchema)]
#[schema(example = json!({"reason": "Nach der Ausstellung wurde eine Sorgeerklärung vom 03.02.2026 nachgetragen."}))]
pub struct RevocationBody {
    /// Why, in words for the mother and the file.
    pub reason: String,
}

/// The reason of a revocation: required, like a rejection's.
pub fn parse_revocation(body: &serde_json::Value) -> Result<LongText, crate::input::FieldErrors> {
    let mut errors = crate::input::FieldErrors::default();
    let reason = errors.take("reason", crate::input::Object::root(body).text("reason").and_then(LongText::parse));
    errors.finish(reason)
}

/// A case worker's decision, as `POST /api/v1/staff/requests/{id}/decision` carries it.
#[derive(utoipa::ToSchema)]
#[schema(example = json!({"outcome": "reject", "reason": "Für das Kind ist eine Sorgeerklärung eingetragen."}))]
pub struct DecisionBody {
    pub outcome: DecisionName,
    /// With `partial`: the parts of custody the register has entries for.
    pub parts: Option<Vec<String>>,
    /// With `reject`: why, in words for the mother.
    pub reason: Option<String>,
}

/// The decisions a case worker can take.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum DecisionName {
    /// The register holds no entry: the full certificate.
    Issue,
    /// Entries exist only for some parts of custody.
    Partial,
    /// No certificate.
    Reject,
    /// The issued certificate went out by post.
    Posted,
}

/// Parses `{"outcome": "issue"|"partial"|"reject"|"posted", "reason"?, "parts"?}` ([`DecisionBody`]).
pub fn parse_outcome(body: &serde_json::Value) -> Result<Outcome, crate::input::FieldErrors> {
    use super::values::{Problem, Text};
    use crate::input::{FieldErrors, Object};
    let root = Object::root(body);
    let mut errors = FieldErrors::default();
    let name =
        errors.take("outcome", root.choice("outcome", &[("issue", 0), ("partial", 1), ("reject", 2), ("posted", 3)]));
    let outcome = match name {
        Some(0) => Some(Outcome::Issue),
        Some(1) => {
            let parts = match root.value("parts") {
                Some(serde_json::Value::Array(items)) if !items.is_empty() => items
                    .iter()
                    .map(|item| {
                        item.as_str().ok_or(Problem::NotText).and_then(Text::parse).map(|t| t.as_str().to_owned())
                    })
                    .collect::<Result<Vec<_>, _>>(),
                Some(serde_json::Value::Array(_)) | None => Err(Problem::Required),
                Some(_) => Err(Problem::NotText),
            };
            errors.take("parts", parts).map(|parts| Outcome::Partial { parts })
        }
        Some(2) => errors
            .take("reason", root.text("reason").and_then(LongText::parse))
            .map(|reason| Outcome::Reject { reason }),
        Some(_) => Some(Outcome::Posted),
        None => None,
    };
    errors.finish(outcome)
}

/// What follows from a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionEffect {
    /// The certificate step renders the approved certificate.
    Certify,
    /// Nothing more to do.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the office has not asked for this document, or the request is no longer open")]
pub struct NotAsked;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    #[error("the request is no longer open for this decision")]
    NotOpen,
}

/// Document keys in the document store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Documents {
    /// XFamilie 0801 (the request).
    pub antrag_xml: Option<String>,
    /// The request as PDF for the office.
    pub antrag_pdf: Option<String>,
    /// XFamilie 0803 (the register's answer).
    pub auskunft_xml: Option<String>,
    /// The letter that carries the certificate by post (delivery by post only).
    #[serde(default)]
    pub letter_pdf: Option<String>,
    /// What the mother uploaded because her office requires it or asked for it.
    #[serde(default)]
    pub uploads: Vec<Upload>,
    /// What the case worker asked her to send and she has not sent yet.
    #[serde(default)]
    pub asked_for: Vec<DocumentKind>,
}

/// The outcome of the register check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegisterResult {
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
    /// Empty: a clean "no entry" with everything allowing automation.
    pub review_reasons: Vec<ReviewReason>,
}

/// Permission to issue: the certificate step renders exactly what this says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Approval {
    /// `automatic`, or the id of the case worker.
    pub by: String,
    /// Empty for a full certificate; else entries exist only for these parts of custody.
    #[serde(default)]
    pub partial_parts: Vec<String>,
}

/// An issued certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// The verification code printed on the certificate (≥ 100 bits).
    pub code: String,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// Document key of the PDF.
    pub document: String,
    /// Set once the office revoked it: from then on it proves nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revocation>,
}

/// Why, when and by whom a certificate was revoked (a late Sorgeerklärung makes it wrong).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub reason: LongText,
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// The step of the document chain a request waits for: what hands it on if the hand-on after
/// its last change was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// XFamilie 0801 and the request PDF.
    Prepare,
    /// The register check and the automation decision.
    CheckRegister,
    /// The approved certificate.
    Certify,
}

impl NextStep {
    pub fn as_str(self) -> &'static str {
        match self {
            NextStep::Prepare => "prepare",
            NextStep::CheckRegister => "check_register",
            NextStep::Certify => "certify",
        }
    }
}

/// How often a request may come back from `failed` by itself (a message delivered again, a
/// dead-letter redrive); after that only an operator's retry brings it back, so a step that
/// fails for good cannot loop.
pub const AUTOMATIC_RETRIES: usize = 3;

/// The request is not `failed`: there is nothing to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request has not failed")]
pub struct NotFailed;

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
    /// Every document kept for this request: what the pipeline made, what the mother uploaded,
    /// and the certificate.
    pub fn document_keys(&self) -> Vec<&str> {
        let documents = &self.documents;
        [&documents.antrag_xml, &documents.antrag_pdf, &documents.auskunft_xml, &documents.letter_pdf]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .chain(documents.uploads.iter().map(|upload| upload.key.as_str()))
            .chain(self.certificate.as_ref().map(|c| c.document.as_str()))
            .collect()
    }

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
            documents: Documents::default(),
            register_result: None,
            approval: None,
            certificate: None,
            rejection_reason: None,
            assignment: None,
            next_certificate_code: None,
        }
    }

    /// Whoever else holds the request: they alone write and decide on it.
    pub fn held_by_other_than(&self, staff_id: &str) -> Result<(), HeldBy> {
        match &self.assignment {
            Some(assignment) if assignment.to.id != staff_id => Err(HeldBy(assignment.to.clone())),
            _ => Ok(()),
        }
    }

    /// `member` takes the request. Someone else's only with the right to overrule (a
    /// supervisor's). Taking one's own again changes nothing.
    pub fn assign(&mut self, member: StaffMember, overrule: bool, at: OffsetDateTime) -> Result<Transition, HeldBy> {
        if !overrule {
            self.held_by_other_than(&member.id)?;
        }
        if self.assignment.as_ref().is_some_and(|a| a.to.id == member.id) {
            return Ok(Transition::AlreadyThere);
        }
        self.assignment = Some(Assignment { to: member, since: at });
        Ok(Transition::Changed)
    }

    /// The holder gives the request back (or a supervisor frees it); nobody holds it then.
    pub fn release(&mut self, staff_id: &str, overrule: bool) -> Result<Transition, HeldBy> {
        if !overrule {
            self.held_by_other_than(staff_id)?;
        }
        Ok(match self.assignment.take() {
            Some(_) => Transition::Changed,
            None => Transition::AlreadyThere,
        })
    }

    /// Applies a case worker's decision. Issue, partial and reject need a request in review
    /// that nobody decided yet; `posted` needs an issued certificate for post delivery.
    pub fn decide(&mut self, outcome: Outcome, by: &str, at: OffsetDateTime) -> Result<DecisionEffect, DecisionError> {
        let undecided = self.status == Status::InReview && self.approval.is_none();
        match outcome {
            Outcome::Issue | Outcome::Partial { .. } if undecided => {
                let partial_parts = match outcome {
                    Outcome::Partial { parts } => parts,
                    _ => vec![],
                };
                self.approval = Some(Approval { by: by.to_owned(), partial_parts });
                Ok(DecisionEffect::Certify)
            }
            Outcome::Reject { reason } if undecided => {
                self.rejection_reason = Some(reason);
                self.advance(Status::Rejected, at).map_err(|_| DecisionError::NotOpen)?;
                Ok(DecisionEffect::Done)
            }
            Outcome::Posted if self.status == Status::Issued && self.application.delivery == Delivery::Post => {
                self.advance(Status::Posted, at).map_err(|_| DecisionError::NotOpen)?;
                Ok(DecisionEffect::Done)
            }
            _ => Err(DecisionError::NotOpen),
        }
    }

    /// Revokes the request's certificate: there must be one, not revoked yet. Who may do so is
    /// the caller's rule ([`crate::auth::StaffClaims::may_overrule`]).
    pub fn revoke_certificate(&mut self, reason: LongText, by: &str, at: OffsetDateTime) -> Result<(), DecisionError> {
        match self.certificate.as_mut() {
            Some(certificate) if certificate.revoked.is_none() => {
                certificate.revoked = Some(Revocation { reason, by: by.to_owned(), at });
                Ok(())
            }
            _ => Err(DecisionError::NotOpen),
        }
    }

    /// The step of the chain the request waits for, if any: none while the office reviews it,
    /// and none once it is finished.
    pub fn next_step(&self) -> Option<NextStep> {
        match self.status {
            Status::Submitted => Some(NextStep::Prepare),
            Status::Prepared | Status::InReview if self.approval.is_some() && self.certificate.is_none() => {
                Some(NextStep::Certify)
            }
            Status::Prepared => Some(NextStep::CheckRegister),
            _ => None,
        }
    }

    /// Since when the request is finished (issued, rejected, sent by post or failed), the time
    /// its office's retention period runs from; none while it is open.
    pub fn finished_at(&self) -> Option<OffsetDateTime> {
        if self.status.is_open() {
            return None;
        }
        self.timeline.last().map(|entry| entry.at)
    }

    /// How often the request failed.
    pub fn failures(&self) -> usize {
        self.timeline.iter().filter(|entry| entry.status == Status::Failed).count()
    }

    /// Tries a failed request again: back to the state it failed in (in the timeline too), its
    /// failure cleared; the step it waits for then runs again.
    pub fn retry(&mut self, at: OffsetDateTime) -> Result<Status, NotFailed> {
        if self.status != Status::Failed {
            return Err(NotFailed);
        }
        let failed_in = self.timeline.iter().rev().map(|entry| entry.status).find(|status| *status != Status::Failed);
        let failed_in = failed_in.unwrap_or(Status::Submitted);
        self.status = failed_in;
        self.timeline.push(TimelineEntry { at, status: failed_in });
        self.failure = None;
        Ok(failed_in)
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

    /// The case worker asks her for a document; the question stays open until she sends it.
    /// Only while the request waits for a decision.
    pub fn ask_for(&mut self, kind: DocumentKind) -> Result<(), DecisionError> {
        if !self.status.is_open() {
            return Err(DecisionError::NotOpen);
        }
        if !self.documents.asked_for.contains(&kind) {
            self.documents.asked_for.push(kind);
        }
        Ok(())
    }

    /// She sends a document the office asked for. It takes the place of an earlier one of its
    /// kind, which is returned so that its file can be deleted.
    pub fn receive_document(&mut self, upload: Upload) -> Result<Option<Upload>, NotAsked> {
        if !self.status.is_open() || !self.documents.asked_for.contains(&upload.kind) {
            return Err(NotAsked);
        }
        self.documents.asked_for.retain(|kind| *kind != upload.kind);
        let replaced = self.documents.uploads.iter().position(|u| u.kind == upload.kind);
        let replaced = replaced.map(|index| self.documents.uploads.remove(index));
        self.documents.uploads.push(upload);
        Ok(replaced)
    }

    pub fn is_owned_by(&self, subject: &str) -> bool {
        self.login.subject == subject
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::application::{
        parse_submission,
        tests::{TODAY, valid_body},
    };
    use crate::domain::upload::FileType;
    use Status::*;
    use time::macros::datetime;

    #[test]
    fn the_step_a_request_waits_for_follows_its_state() {
        let mut request = sample_request();
        assert_eq!(request.next_step(), Some(NextStep::Prepare));
        request.advance(Prepared, request.timeline[0].at).unwrap();
        assert_eq!(request.next_step(), Some(NextStep::CheckRegister));
        request.advance(InReview, request.timeline[0].at).unwrap();
        assert_eq!(request.next_step(), None, "the office reviews it: no step of the chain");
        request.approval = Some(Approval { by: "staff".into(), partial_parts: vec![] });
        assert_eq!(request.next_step(), Some(NextStep::Certify));
        request.certificate = Some(Certificate {
            code: "C".into(),
            issued_at: request.timeline[0].at,
            document: "d".into(),
            revoked: None,
        });
        request.advance(Issued, request.timeline[0].at).unwrap();
        assert_eq!(request.next_step(), None);
    }

    #[test]
    fn a_failed_request_is_retried_where_it_failed() {
        let mut request = sample_request();
        let at = request.timeline[0].at;
        assert_eq!(request.retry(at), Err(NotFailed));
        request.advance(Prepared, at).unwrap();
        request.advance(Failed, at).unwrap();
        request.failure = Some("register-check: store down".into());
        assert_eq!(request.retry(at + time::Duration::minutes(5)), Ok(Prepared));
        assert_eq!((request.status, request.failure.clone()), (Prepared, None));
        assert_eq!(request.next_step(), Some(NextStep::CheckRegister));
        // Failing again in the same state and retrying finds the same state.
        request.advance(Failed, at).unwrap();
        assert_eq!(request.retry(at), Ok(Prepared));
        assert_eq!(request.failures(), 2);
        let statuses: Vec<_> = request.timeline.iter().map(|entry| entry.status).collect();
        assert_eq!(statuses, [Submitted, Prepared, Failed, Prepared, Failed, Prepared]);
    }

    #[test]
    fn trust_levels_carry_bundids_names_and_order() {
        for level in TrustLevel::ALL {
            let json = serde_json::to_value(level).unwrap();
            assert_eq!(json, level.as_str());
            assert_eq!(serde_json::from_value::<TrustLevel>(json).unwrap(), level);
        }
        assert!(serde_json::from_value::<TrustLevel>(serde_json::json!("STORK-QAA-Level-2")).is_err());
        assert!(TrustLevel::Basis < TrustLevel::Substantiell && TrustLevel::Substantiell < TrustLevel::Hoch);
    }

    /// A request just submitted, by a mother applying herself for a download.
    pub(crate) fn sample_request() -> Request {
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

    fn member(id: &str) -> StaffMember {
        StaffMember { id: id.into(), name: Some(format!("Name of {id}")) }
    }

    #[test]
    fn one_case_worker_holds_a_request_and_only_a_supervisor_takes_it_from_them() {
        let mut r = sample_request();
        let at = datetime!(2026-11-24 09:00 UTC);
        assert_eq!(r.held_by_other_than("meyer"), Ok(()), "nobody holds a new request");
        assert_eq!(r.assign(member("meyer"), false, at), Ok(Transition::Changed));
        assert_eq!(r.assign(member("meyer"), false, at), Ok(Transition::AlreadyThere));
        assert_eq!(r.held_by_other_than("meyer"), Ok(()));
        assert_eq!(r.held_by_other_than("weber"), Err(HeldBy(member("meyer"))));
        assert_eq!(r.assign(member("weber"), false, at), Err(HeldBy(member("meyer"))), "not without overruling");
        assert_eq!(r.release("weber", false), Err(HeldBy(member("meyer"))));
        assert_eq!(r.assignment.as_ref().unwrap().to.id, "meyer", "still hers");

        assert_eq!(r.assign(member("chefin"), true, at), Ok(Transition::Changed), "a supervisor takes it over");
        assert_eq!(r.held_by_other_than("meyer"), Err(HeldBy(member("chefin"))));
        assert_eq!(r.release("meyer", true), Ok(Transition::Changed), "or frees it");
        assert_eq!(r.assignment, None);
        assert_eq!(r.release("meyer", false), Ok(Transition::AlreadyThere));
    }

    fn upload(kind: DocumentKind, key: &str) -> Upload {
        Upload { kind, key: key.into(), file_type: FileType::Pdf, file_name: "urkunde.pdf".into(), size: 8 }
    }

    #[test]
    fn she_can_send_a_document_only_when_the_office_asked_for_it() {
        let mut r = sample_request();
        let birth_certificate = upload(DocumentKind::BirthCertificate, "k1");
        assert_eq!(r.receive_document(birth_certificate.clone()), Err(NotAsked));

        r.ask_for(DocumentKind::BirthCertificate).unwrap();
        r.ask_for(DocumentKind::BirthCertificate).unwrap();
        assert_eq!(r.documents.asked_for, [DocumentKind::BirthCertificate], "asked once");
        assert_eq!(r.receive_document(birth_certificate.clone()), Ok(None));
        assert!(r.documents.asked_for.is_empty(), "the question is answered");
        assert_eq!(r.receive_document(upload(DocumentKind::BirthCertificate, "k2")), Err(NotAsked), "not twice");

        r.ask_for(DocumentKind::BirthCertificate).unwrap();
        let replaced = r.receive_document(upload(DocumentKind::BirthCertificate, "k2")).unwrap();
        assert_eq!(replaced, Some(birth_certificate), "a new file replaces the old one");
        assert_eq!(r.documents.uploads.iter().map(|u| u.key.as_str()).collect::<Vec<_>>(), ["k2"]);
    }

    #[test]
    fn retention_knows_every_document_of_a_request() {
        let mut r = sample_request();
        r.documents.antrag_xml = Some("x".into());
        r.documents.antrag_pdf = Some("p".into());
        r.ask_for(DocumentKind::BirthCertificate).unwrap();
        r.receive_document(upload(DocumentKind::BirthCertificate, "u")).unwrap();
        assert_eq!(r.document_keys(), ["x", "p", "u"]);
    }

    #[test]
    fn a_decided_request_asks_for_nothing_more() {
        let mut r = sample_request();
        r.ask_for(DocumentKind::BirthCertificate).unwrap();
        for next in [Prepared, InReview] {
            r.advance(next, datetime!(2026-11-23 10:01 UTC)).unwrap();
        }
        let reason = LongText::parse("Die Geburtsurkunde fehlt.").unwrap();
        r.decide(Outcome::Reject { reason }, "staff", datetime!(2026-11-23 11:00 UTC)).unwrap();
        assert_eq!(r.ask_for(DocumentKind::PowerOfAttorney), Err(DecisionError::NotOpen));
        assert_eq!(r.receive_document(upload(DocumentKind::BirthCertificate, "k1")), Err(NotAsked));
    }

    #[test]
    fn the_automatic_path_is_submitted_prepared_issued_posted() {
        let mut r = sample_request();
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
        let mut r = sample_request();
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
        let mut r = sample_request();
        assert_eq!(
            r.advance(Issued, datetime!(2026-11-23 10:01 UTC)),
            Err(TransitionError { from: Submitted, to: Issued })
        );
    }

    fn in_review() -> Request {
        let mut r = sample_request();
        r.advance(Prepared, datetime!(2026-11-23 10:01 UTC)).unwrap();
        r.advance(InReview, datetime!(2026-11-23 10:02 UTC)).unwrap();
        r
    }

    #[test]
    fn issuing_approves_once_and_leaves_rendering_to_the_certificate_step() {
        let mut r = in_review();
        assert_eq!(r.decide(Outcome::Issue, "staff-1", datetime!(2026-11-23 11:00 UTC)), Ok(DecisionEffect::Certify));
        assert_eq!(r.approval.as_ref().unwrap().by, "staff-1");
        assert_eq!(r.status, InReview);
        assert_eq!(
            r.decide(
                Outcome::Reject { reason: LongText::parse("x").unwrap() },
                "staff-2",
                datetime!(2026-11-23 11:01 UTC)
            ),
            Err(DecisionError::NotOpen)
        );
    }

    #[test]
    fn a_partial_certificate_names_the_parts() {
        let mut r = in_review();
        let parts = vec!["Aufenthaltsbestimmungsrecht".to_owned()];
        r.decide(Outcome::Partial { parts: parts.clone() }, "staff-1", datetime!(2026-11-23 11:00 UTC)).unwrap();
        assert_eq!(r.approval.unwrap().partial_parts, parts);
    }

    #[test]
    fn rejecting_keeps_the_reason_for_the_mother() {
        let mut r = in_review();
        let reason = LongText::parse("Im Sorgeregister ist eine Sorgeerklärung eingetragen.").unwrap();
        assert_eq!(
            r.decide(Outcome::Reject { reason: reason.clone() }, "staff-1", datetime!(2026-11-23 11:00 UTC)),
            Ok(DecisionEffect::Done)
        );
        assert_eq!((r.status, r.rejection_reason), (Rejected, Some(reason)));
    }

    #[test]
    fn decisions_on_closed_requests_are_refused() {
        let mut r = in_review();
        r.decide(Outcome::Reject { reason: LongText::parse("x").unwrap() }, "s", datetime!(2026-11-23 11:00 UTC))
            .unwrap();
        assert_eq!(r.decide(Outcome::Issue, "s", datetime!(2026-11-23 11:01 UTC)), Err(DecisionError::NotOpen));
        assert_eq!(
            sample_request().decide(Outcome::Issue, "s", datetime!(2026-11-23 11:01 UTC)),
            Err(DecisionError::NotOpen),
            "not yet in review"
        );
    }

    #[test]
    fn posted_needs_an_issued_certificate_for_post_delivery() {
        let mut r = sample_request();
        r.application.delivery = Delivery::Post;
        r.advance(Prepared, datetime!(2026-11-23 10:01 UTC)).unwrap();
        assert_eq!(r.decide(Outcome::Posted, "s", datetime!(2026-11-23 10:02 UTC)), Err(DecisionError::NotOpen));
        r.advance(Issued, datetime!(2026-11-23 10:03 UTC)).unwrap();
        assert_eq!(r.decide(Outcome::Posted, "s", datetime!(2026-11-23 10:04 UTC)), Ok(DecisionEffect::Done));
        assert_eq!(r.status, Posted);
        let mut download = sample_request();
        download.advance(Prepared, datetime!(2026-11-23 10:01 UTC)).unwrap();
        download.advance(Issued, datetime!(2026-11-23 10:02 UTC)).unwrap();
        assert_eq!(download.decide(Outcome::Posted, "s", datetime!(2026-11-23 10:03 UTC)), Err(DecisionError::NotOpen));
    }

    #[test]
    fn only_open_requests_await_a_decision() {
        assert!(Submitted.is_open() && Prepared.is_open() && InReview.is_open());
        assert!(!Issued.is_open() && !Rejected.is_open() && !Posted.is_open() && !Failed.is_open());
    }
}
