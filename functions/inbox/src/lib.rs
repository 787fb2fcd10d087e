//! The office side: the inbox (`GET /api/v1/staff/requests?status=`), a request with the
//! register result and its documents (`xfamilie.xml`, `auskunft.xml`, `antrag.pdf`, and for
//! delivery by post the print-ready `letter.pdf` with the certificate), decisions,
//! messages to the mother and the audit trail. Everything is confined to the staff member's own
//! office; another office's request is answered like a missing one. Every read and write is
//! recorded in the request's audit trail.
//!
//! The office's pages (`/amt`, [`pages`]) act through the same functions as the API.

use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use shared::domain::application::{Application, Delivery};
use shared::domain::audit::{AuditEntry, verify as verify_trail};
use shared::domain::message::{Author, Message, OfficeMessageBody, parse_office_message};
use shared::domain::request::{
    Approval, Assignment, Certificate, DecisionBody, DecisionEffect, HeldBy, LoginIdentity, Outcome, RegisterResult,
    Request, StaffMember, Status, TimelineEntry, Transition, parse_outcome, parse_revocation,
};
use shared::domain::upload::{DocumentKind, FileType};
use shared::domain::values::{LongText, PersonName, Problem};
use shared::http::{ApiError, JsonBody, StaffCall};
use shared::input::FieldErrors;
use shared::openapi::{FileBytes, tag};
use shared::ports::{DOWNLOAD_LINK_LIFETIME, QueueName, StoreError};
use shared::records::{self, Versioned};
use shared::services::Services;
use shared::steps::{hand_on, tell_her};
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The operations of the API this function serves, documented.
pub fn api() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(detail))
        .routes(routes!(decision))
        .routes(routes!(revoke))
        .routes(routes!(take, give_back))
        .routes(routes!(messages, send_message))
        .routes(routes!(audit))
        .routes(routes!(document))
        .routes(routes!(uploaded))
}

pub fn router() -> Router<Services> {
    Router::from(api()).merge(pages::router())
}

pub mod pages;

/// The request, if it belongs to the staff member's office; the access is audited.
async fn office_request(call: &StaffCall, id: &str, action: &str) -> Result<Versioned<Request>, ApiError> {
    let store = &*call.services.store;
    let request = match call.store(records::request(store, id).await)? {
        Some(request) if call.who.office_id.as_deref() == Some(request.value.office_id.as_str()) => request,
        _ => return Err(call.not_found()),
    };
    if action.starts_with("read") {
        let audit = call.store(call.services.audit(&call.who.sub, action, call.services.clock.now()).await)?;
        call.store(records::append_audit(store, id, audit).await)?;
    }
    Ok(request)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `new` (what no case worker has yet), or a status: `submitted`, `prepared`, `in_review`,
    /// `issued`, `rejected`, `posted`, `failed`.
    status: Option<String>,
}

/// `new` lists what the platform has not yet handed to a case worker.
fn statuses(filter: &str) -> Option<Vec<Status>> {
    match filter {
        "new" => Some(vec![Status::Submitted, Status::Prepared]),
        name => Status::ALL.into_iter().find(|s| s.as_str() == name).map(|s| vec![s]),
    }
}

/// The office's requests, oldest first, `filter`ed by status (`new` or a status name).
async fn office_inbox(call: &StaffCall, filter: Option<&str>) -> Result<Vec<Request>, ApiError> {
    let Some(office_id) = call.who.office_id.as_deref() else { return Err(call.forbidden()) };
    let wanted = match filter {
        None | Some("") => vec![None],
        Some(filter) => match statuses(filter) {
            Some(list) => list.into_iter().map(Some).collect(),
            None => {
                let mut errors = FieldErrors::default();
                errors.add("status", Problem::NotAChoice);
                return Err(call.invalid(&errors));
            }
        },
    };
    let mut requests = Vec::new();
    for status in wanted {
        requests.extend(call.store(records::office_requests(&*call.services.store, office_id, status).await)?);
    }
    requests.sort_by_key(|r| r.timeline.first().map(|e| e.at));
    Ok(requests)
}

/// A request in the office's inbox.
#[derive(Serialize, ToSchema)]
pub struct InboxItem {
    pub id: String,
    pub status: Status,
    #[serde(with = "time::serde::rfc3339::option")]
    pub submitted_at: Option<OffsetDateTime>,
    pub child: InboxChild,
    pub mother: InboxMother,
    pub delivery: Delivery,
    /// The case worker who holds it.
    pub assignee: Option<StaffMember>,
}

#[derive(Serialize, ToSchema)]
pub struct InboxChild {
    pub given_names: PersonName,
    pub family_name: PersonName,
    #[serde(with = "shared::domain::values::iso_date")]
    pub birth_date: Date,
}

#[derive(Serialize, ToSchema)]
pub struct InboxMother {
    pub given_names: PersonName,
    pub family_name: PersonName,
}

impl From<&Request> for InboxItem {
    fn from(request: &Request) -> Self {
        let (child, mother) = (&request.application.child, &request.application.mother);
        InboxItem {
            id: request.id.clone(),
            status: request.status,
            submitted_at: request.timeline.first().map(|entry| entry.at),
            child: InboxChild {
                given_names: child.given_names.clone(),
                family_name: child.family_name.clone(),
                birth_date: child.birth_date,
            },
            mother: InboxMother { given_names: mother.given_names.clone(), family_name: mother.family_name.clone() },
            delivery: request.application.delivery,
            assignee: request.assignment.as_ref().map(|a| a.to.clone()),
        }
    }
}

/// The office's requests, oldest first.
#[utoipa::path(get, operation_id = "listOfficeRequests", path = "/api/v1/staff/requests", tag = tag::OFFICE,
    security(("staff" = []), ("machine" = [])), params(ListQuery),
    responses((status = 200, body = Vec<InboxItem>,
        links(
            ("first" = (operation_id = "getOfficeRequest", parameters(("id" = "$response.body#/0/id")))),
            ("decide" = (operation_id = "decideRequest", parameters(("id" = "$response.body#/0/id")))),
            ("messages" = (operation_id = "listOfficeMessages", parameters(("id" = "$response.body#/0/id")))),
            ("write" = (operation_id = "sendOfficeMessage", parameters(("id" = "$response.body#/0/id")))),
            ("audit" = (operation_id = "getAuditTrail", parameters(("id" = "$response.body#/0/id")))),
            ("document" = (operation_id = "getOfficeDocument", parameters(("id" = "$response.body#/0/id")))),
        ))))]
async fn list(call: StaffCall, Query(query): Query<ListQuery>) -> Result<Json<Vec<InboxItem>>, ApiError> {
    let requests = office_inbox(&call, query.status.as_deref()).await?;
    Ok(Json(requests.iter().map(InboxItem::from).collect()))
}

/// Where a request stands after a decision.
#[derive(Serialize, ToSchema)]
pub struct Decided {
    pub id: String,
    pub status: Status,
    pub approval: Option<Approval>,
}

/// A case worker's decision: issue, issue for parts, reject, or mark as posted.
#[utoipa::path(post, operation_id = "decideRequest", path = "/api/v1/staff/requests/{id}/decision", tag = tag::OFFICE,
    security(("staff" = [])), params(("id" = String, Path)), request_body = DecisionBody,
    responses(
        (status = 200, description = "Recorded; an issue is certified within seconds.", body = Decided),
        (status = 409, description = "The request is no longer open for this (`not_open`), or another case \
            worker holds it (`held_by_other`).", body = shared::http::ErrorBody),
    ))]
async fn decision(
    call: StaffCall,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Decided>, ApiError> {
    let outcome = parse_outcome(&body).map_err(|errors| call.invalid(&errors))?;
    let request = record_decision(&call, &id, outcome).await?;
    Ok(Json(Decided { id, status: request.status, approval: request.approval }))
}

/// A case worker's decision on a request of the office; 409 when it is no longer open for it.
async fn record_decision(call: &StaffCall, id: &str, outcome: Outcome) -> Result<Request, ApiError> {
    // Case-management systems read; decisions are a case worker's.
    if !call.who.may_do_case_work() {
        return Err(call.forbidden());
    }
    let staff = &call.who;
    let Versioned { value: mut request, version } = office_request(call, id, "decide").await?;
    request.held_by_other_than(&staff.sub).map_err(|held| held_by(call, held))?;
    let now = call.services.clock.now();
    let action = format!("decision:{}", outcome.name());
    let effect = request.decide(outcome, &staff.sub, now).map_err(|_| not_open(call))?;
    let audit = call.store(call.services.audit(&staff.sub, &action, now).await)?;
    update_or_conflict(call, records::update_request(&*call.services.store, &request, version, audit).await)?;
    if effect == DecisionEffect::Certify {
        // The approval is stored with its hand-on: should this message be lost, the sweep sends it.
        if let Err(error) = hand_on(&*call.services.queue, QueueName::Issue, id).await {
            tracing::warn!(request_id = %id, %error, "approved request not queued; the sweep hands it on");
        }
    }
    tracing::info!(request_id = %id, staff = %staff.sub, %action, "decision recorded");
    // A rejection or the post is news for her now; an approval once the certificate is there.
    if effect == DecisionEffect::Done {
        tell_her(&*call.services.queue, id).await;
    }
    Ok(request)
}

/// Where a certificate stands after its revocation.
#[derive(Serialize, ToSchema)]
pub struct Revoked {
    pub id: String,
    pub certificate: IssuedCertificate,
}

/// Revokes the request's certificate (a supervisor's right): from then on its code verifies as
/// revoked. 409 when there is no certificate, or it is revoked already.
#[utoipa::path(post, operation_id = "revokeCertificate", path = "/api/v1/staff/requests/{id}/certificate/revoke",
    tag = tag::OFFICE, security(("staff" = [])), params(("id" = String, Path)),
    request_body = shared::domain::request::RevocationBody,
    responses(
        (status = 200, description = "Revoked.", body = Revoked),
        (status = 409, description = "No certificate, or revoked already (`not_open`).", body = shared::http::ErrorBody),
    ))]
async fn revoke(call: StaffCall, Path(id): Path<String>, JsonBody(body): JsonBody) -> Result<Json<Revoked>, ApiError> {
    let reason = parse_revocation(&body).map_err(|errors| call.invalid(&errors))?;
    let request = revoke_certificate(&call, &id, reason).await?;
    let certificate = request.certificate.as_ref().map(IssuedCertificate::from).expect("revoked, so issued");
    Ok(Json(Revoked { id, certificate }))
}

/// A supervisor's revocation of the request's certificate; 409 when there is none to revoke.
async fn revoke_certificate(call: &StaffCall, id: &str, reason: LongText) -> Result<Request, ApiError> {
    if !call.who.may_overrule() {
        return Err(call.forbidden());
    }
    let Versioned { value: mut request, version } = office_request(call, id, "revoke").await?;
    let now = call.services.clock.now();
    request.revoke_certificate(reason, &call.who.sub, now).map_err(|_| not_open(call))?;
    let audit = call.store(call.services.audit(&call.who.sub, "revoke_certificate", now).await)?;
    update_or_conflict(call, records::revoke_certificate(&*call.services.store, &request, version, audit).await)?;
    tracing::info!(request_id = %id, staff = %call.who.sub, "certificate revoked");
    tell_her(&*call.services.queue, id).await;
    Ok(request)
}

/// 409: the request is no longer open for what was asked.
fn not_open(call: &StaffCall) -> ApiError {
    call.error(StatusCode::CONFLICT, "not_open")
}

/// 409 naming who holds the request (`details.assignee`).
fn held_by(call: &StaffCall, HeldBy(holder): HeldBy) -> ApiError {
    call.error(StatusCode::CONFLICT, "held_by_other").with_details(serde_json::json!({ "assignee": holder }))
}

/// Who holds a request, after it was taken or given back.
#[derive(Serialize, ToSchema)]
pub struct Held {
    pub id: String,
    /// None once given back.
    pub assignment: Option<Assignment>,
}

/// Takes the request: from then on only the caller writes and decides on it. A supervisor takes
/// over a request someone else holds; anyone else gets 409 naming the holder.
#[utoipa::path(post, operation_id = "takeRequest", path = "/api/v1/staff/requests/{id}/assignment", tag = tag::OFFICE,
    security(("staff" = [])), params(("id" = String, Path)),
    responses(
        (status = 200, description = "The caller holds it.", body = Held),
        (status = 409, description = "Another case worker holds it (`held_by_other`; `details.assignee` names \
            them).", body = shared::http::ErrorBody),
    ))]
async fn take(call: StaffCall, Path(id): Path<String>) -> Result<Json<Held>, ApiError> {
    let request = change_assignment(&call, &id, AssignmentChange::Take).await?;
    Ok(Json(Held { id, assignment: request.assignment }))
}

/// Gives the request back, so that any case worker may take it; a supervisor frees a request
/// someone else holds.
#[utoipa::path(delete, operation_id = "giveBackRequest", path = "/api/v1/staff/requests/{id}/assignment",
    tag = tag::OFFICE, security(("staff" = [])), params(("id" = String, Path)),
    responses(
        (status = 200, description = "Nobody holds it.", body = Held),
        (status = 409, description = "Another case worker holds it (`held_by_other`).", body = shared::http::ErrorBody),
    ))]
async fn give_back(call: StaffCall, Path(id): Path<String>) -> Result<Json<Held>, ApiError> {
    let request = change_assignment(&call, &id, AssignmentChange::GiveBack).await?;
    Ok(Json(Held { id, assignment: request.assignment }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AssignmentChange {
    Take,
    GiveBack,
}

/// Takes or gives back a request of the office, as the caller's rights allow; the change is in
/// the audit trail.
async fn change_assignment(call: &StaffCall, id: &str, change: AssignmentChange) -> Result<Request, ApiError> {
    if !call.who.may_do_case_work() {
        return Err(call.forbidden());
    }
    let overrule = call.who.may_overrule();
    let Versioned { value: mut request, version } = office_request(call, id, "assignment").await?;
    let now = call.services.clock.now();
    let (changed, action) = match change {
        AssignmentChange::Take => (request.assign(call.who.member(), overrule, now), "assign"),
        AssignmentChange::GiveBack => (request.release(&call.who.sub, overrule), "release"),
    };
    if changed.map_err(|held| held_by(call, held))? == Transition::AlreadyThere {
        return Ok(request);
    }
    let audit = call.store(call.services.audit(&call.who.sub, action, now).await)?;
    match records::update_request(&*call.services.store, &request, version, audit).await {
        // Someone changed it at the same moment: name them if they took it.
        Err(StoreError::ConditionFailed) => {
            let now_stored = call.store(records::request(&*call.services.store, id).await)?;
            match now_stored.map(|stored| stored.value.held_by_other_than(&call.who.sub)) {
                Some(Err(held)) => Err(held_by(call, held)),
                _ => Err(call.error(StatusCode::CONFLICT, "changed_meanwhile")),
            }
        }
        result => call.store(result).map(|()| request),
    }
}

/// A conditional update of the request: someone else changed it at the same moment (theirs
/// stands), or it is stored.
fn update_or_conflict(call: &StaffCall, result: Result<(), StoreError>) -> Result<(), ApiError> {
    match result {
        Err(StoreError::ConditionFailed) => Err(not_open(call)),
        result => call.store(result),
    }
}

/// The messages between the office and the mother about the request, oldest first.
#[utoipa::path(get, operation_id = "listOfficeMessages", path = "/api/v1/staff/requests/{id}/messages", tag = tag::OFFICE,
    security(("staff" = []), ("machine" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<Message>)))]
async fn messages(call: StaffCall, Path(id): Path<String>) -> Result<Json<Vec<Message>>, ApiError> {
    office_request(&call, &id, "read:messages").await?;
    let messages = call.store(records::messages(&*call.services.store, &id).await)?;
    Ok(Json(messages))
}

/// Writes to the mother, and may ask her for a document.
#[utoipa::path(post, operation_id = "sendOfficeMessage", path = "/api/v1/staff/requests/{id}/messages", tag = tag::OFFICE,
    security(("staff" = [])), params(("id" = String, Path)), request_body = OfficeMessageBody,
    responses(
        (status = 201, description = "Sent.", body = Message),
        (status = 409, description = "Asked for a document on a request already decided (`not_open`), or \
            another case worker holds it (`held_by_other`).", body = shared::http::ErrorBody),
    ))]
async fn send_message(
    call: StaffCall,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let (text, asks_for) = parse_office_message(&body).map_err(|errors| call.invalid(&errors))?;
    let message = send_office_message(&call, &id, text, asks_for).await?;
    Ok((StatusCode::CREATED, Json(message)))
}

/// A case worker's message to the mother; asking for a document keeps the question open on
/// the request until she sends it (409 once the request is decided).
async fn send_office_message(
    call: &StaffCall,
    id: &str,
    text: LongText,
    asks_for: Option<DocumentKind>,
) -> Result<Message, ApiError> {
    // Writing to her and asking for proofs is case work, like deciding.
    if !call.who.may_do_case_work() {
        return Err(call.forbidden());
    }
    let staff = &call.who;
    let Versioned { value: mut request, version } = office_request(call, id, "message").await?;
    request.held_by_other_than(&staff.sub).map_err(|held| held_by(call, held))?;
    let now = call.services.clock.now();
    let store = &*call.services.store;
    if let Some(kind) = asks_for {
        request.ask_for(kind).map_err(|_| not_open(call))?;
        let action = format!("ask:{}", kind.code());
        let audit = call.store(call.services.audit(&staff.sub, &action, now).await)?;
        update_or_conflict(call, records::update_request(store, &request, version, audit).await)?;
    }
    let author = Author::Office { staff_id: staff.sub.clone() };
    let message = Message { id: call.services.ids.new_id(), at: now, author, text, asks_for };
    call.store(records::add_message(store, id, &message).await)?;
    let audit = call.store(call.services.audit(&staff.sub, "message:office", now).await)?;
    call.store(records::append_audit(store, id, audit).await)?;
    tell_her(&*call.services.queue, id).await;
    Ok(message)
}

/// The audit trail of a request and whether its chain of hashes is intact.
#[derive(Serialize, ToSchema)]
pub struct AuditTrail {
    pub intact: bool,
    /// The first entry that was altered, removed or inserted.
    pub broken_at: Option<u64>,
    pub entries: Vec<AuditEntry>,
}

/// Who read or changed the request, when (ids only).
#[utoipa::path(get, operation_id = "getAuditTrail", path = "/api/v1/staff/requests/{id}/audit", tag = tag::OFFICE,
    security(("staff" = []), ("machine" = [])), params(("id" = String, Path)),
    responses((status = 200, body = AuditTrail)))]
async fn audit(call: StaffCall, Path(id): Path<String>) -> Result<Json<AuditTrail>, ApiError> {
    office_request(&call, &id, "read:audit").await?;
    let entries = call.store(records::audit_trail(&*call.services.store, &id).await)?;
    let head = call.store(records::audit_head(&*call.services.store, &id).await)?;
    let key = call.store(call.services.audit_keys.key().await)?;
    let check = verify_trail(key, &entries, head.as_ref());
    Ok(Json(AuditTrail { intact: check.is_ok(), broken_at: check.err().map(|b| b.seq), entries }))
}

/// A request as the office sees it.
#[derive(Serialize, ToSchema)]
pub struct RequestDetail {
    pub id: String,
    pub status: Status,
    pub office_id: String,
    /// The office keeping the register for the child's birth place, if on the platform.
    pub register_office_id: Option<String>,
    pub application: Application,
    /// Who was logged in when it was submitted, as BundID stated it.
    pub login: LoginIdentity,
    pub timeline: Vec<TimelineEntry>,
    /// What the register check found: empty `review_reasons` is a clean "no entry".
    pub register_result: Option<RegisterResult>,
    pub approval: Option<Approval>,
    pub certificate: Option<IssuedCertificate>,
    /// Why it failed, for operators.
    pub failure: Option<String>,
    pub rejection_reason: Option<String>,
    pub documents: DocumentLinks,
    /// Her address refused a mail about the request: she learns of news on her status page only.
    pub mail_undeliverable: bool,
    /// The case worker who holds it, since when.
    pub assignment: Option<Assignment>,
}

#[derive(Serialize, ToSchema)]
pub struct IssuedCertificate {
    pub code: String,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// When a supervisor revoked it.
    #[serde(skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_reason: Option<String>,
}

impl From<&Certificate> for IssuedCertificate {
    fn from(certificate: &Certificate) -> Self {
        IssuedCertificate {
            code: certificate.code.clone(),
            issued_at: certificate.issued_at,
            revoked_at: certificate.revoked.as_ref().map(|revocation| revocation.at),
            revocation_reason: certificate.revoked.as_ref().map(|revocation| revocation.reason.as_str().to_owned()),
        }
    }
}

/// Where to fetch the request's documents (as far as they exist yet).
#[derive(Serialize, ToSchema)]
pub struct DocumentLinks {
    /// XFamilie 0801.
    pub xfamilie: Option<String>,
    /// XFamilie 0803, the register's answer.
    pub auskunft: Option<String>,
    pub antrag_pdf: Option<String>,
    pub uploads: Vec<UploadLink>,
    /// What the office asked her to send and she has not sent yet.
    pub asked_for: Vec<DocumentKind>,
}

#[derive(Serialize, ToSchema)]
pub struct UploadLink {
    pub kind: DocumentKind,
    pub file_name: String,
    pub file_type: FileType,
    pub size: u64,
    pub url: String,
}

/// A request of the office, with the register result and links to its documents.
#[utoipa::path(get, operation_id = "getOfficeRequest", path = "/api/v1/staff/requests/{id}", tag = tag::OFFICE,
    security(("staff" = []), ("machine" = [])), params(("id" = String, Path)),
    responses((status = 200, body = RequestDetail)))]
async fn detail(call: StaffCall, Path(id): Path<String>) -> Result<Json<RequestDetail>, ApiError> {
    let request = office_request(&call, &id, "read:request").await?.value;
    let documents = &request.documents;
    let link = |present: bool, name: &str| present.then(|| format!("/api/v1/staff/requests/{id}/{name}"));
    let links = DocumentLinks {
        xfamilie: link(documents.antrag_xml.is_some(), "xfamilie.xml"),
        auskunft: link(documents.auskunft_xml.is_some(), "auskunft.xml"),
        antrag_pdf: link(documents.antrag_pdf.is_some(), "antrag.pdf"),
        uploads: documents
            .uploads
            .iter()
            .map(|upload| UploadLink {
                kind: upload.kind,
                file_name: upload.file_name.clone(),
                file_type: upload.file_type,
                size: upload.size,
                url: format!("/api/v1/staff/requests/{id}/nachweise/{}", upload.kind.code()),
            })
            .collect(),
        asked_for: documents.asked_for.clone(),
    };
    let mail_undeliverable = call.store(records::mail_undeliverable(&*call.services.store, &request.id).await)?;
    Ok(Json(RequestDetail {
        id: request.id,
        status: request.status,
        office_id: request.office_id,
        register_office_id: request.register_office_id,
        application: request.application,
        login: request.login,
        timeline: request.timeline,
        register_result: request.register_result,
        approval: request.approval,
        certificate: request.certificate.as_ref().map(IssuedCertificate::from),
        failure: request.failure,
        rejection_reason: request.rejection_reason.map(|reason| reason.as_str().to_owned()),
        documents: links,
        mail_undeliverable,
        assignment: request.assignment,
    }))
}

/// A document the office reads about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OfficeDocument {
    AntragXml,
    AuskunftXml,
    AntragPdf,
    /// What the mother uploaded.
    Upload(DocumentKind),
    /// The letter for delivery by post, with the certificate.
    LetterPdf,
}

impl OfficeDocument {
    /// The name in the audit trail and in the pages' download paths.
    fn name(self) -> String {
        match self {
            OfficeDocument::AntragXml => "xfamilie.xml".into(),
            OfficeDocument::AuskunftXml => "auskunft.xml".into(),
            OfficeDocument::AntragPdf => "antrag.pdf".into(),
            OfficeDocument::Upload(kind) => format!("nachweis-{}", kind.code()),
            OfficeDocument::LetterPdf => "letter.pdf".into(),
        }
    }

    fn parse(name: &str) -> Option<OfficeDocument> {
        match name {
            "xfamilie.xml" => Some(OfficeDocument::AntragXml),
            "auskunft.xml" => Some(OfficeDocument::AuskunftXml),
            "antrag.pdf" => Some(OfficeDocument::AntragPdf),
            "letter.pdf" => Some(OfficeDocument::LetterPdf),
            _ => name.strip_prefix("nachweis-").and_then(DocumentKind::parse).map(OfficeDocument::Upload),
        }
    }
}

/// One of the request's documents for the office, audited as a read.
async fn office_document(call: &StaffCall, id: &str, which: OfficeDocument) -> Result<Response, ApiError> {
    let action = format!("read:{}", which.name());
    let documents = office_request(call, id, &action).await?.value.documents;
    let (key, content_type) = match which {
        OfficeDocument::AntragXml => (documents.antrag_xml, "application/xml"),
        OfficeDocument::AuskunftXml => (documents.auskunft_xml, "application/xml"),
        OfficeDocument::AntragPdf => (documents.antrag_pdf, "application/pdf"),
        // Her proofs may be as large as Lambda's whole payload: a short-lived link to them, as
        // the mother's certificate.
        OfficeDocument::Upload(kind) => {
            let Some(upload) = documents.uploads.into_iter().find(|u| u.kind == kind) else {
                return Err(call.not_found());
            };
            let name = format!("{}.{}", kind.code(), upload.file_type.extension());
            let link = call.services.documents.download_link(&upload.key, &name, DOWNLOAD_LINK_LIFETIME).await;
            let link = link.map_err(|error| {
                tracing::error!(%error, "download link failed");
                ApiError::internal(call.lang)
            })?;
            let mut response = (StatusCode::FOUND, [(header::LOCATION, link)]).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return Ok(response);
        }
        // No certificate yet, or none to post: the request exists, the letter does not (yet).
        OfficeDocument::LetterPdf => match documents.letter_pdf {
            Some(key) => (Some(key), "application/pdf"),
            None => return Err(call.error(StatusCode::CONFLICT, "no_letter")),
        },
    };
    let Some(key) = key else { return Err(call.not_found()) };
    let bytes = call.services.documents.get(&key).await.map_err(|error| {
        tracing::error!(%error, "document store failed");
        ApiError::internal(call.lang)
    })?;
    let Some(bytes) = bytes else { return Err(call.not_found()) };
    let mut response = bytes.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A document the platform made for the request, by its name (`xfamilie.xml`, `auskunft.xml`,
/// `antrag.pdf`, `letter.pdf`: the print-ready letter for delivery by post, DIN 5008, with the
/// certificate on page 2, rendered when the certificate was issued).
#[utoipa::path(get, operation_id = "getOfficeDocument", path = "/api/v1/staff/requests/{id}/{document}", tag = tag::OFFICE,
    security(("staff" = []), ("machine" = [])),
    params(("id" = String, Path),
        ("document" = String, Path, description = "`xfamilie.xml`, `auskunft.xml`, `antrag.pdf` or `letter.pdf`.")),
    responses(
        (status = 200, description = "The document.",
            content((FileBytes = "application/xml"), (FileBytes = "application/pdf"))),
        (status = 409, description = "`letter.pdf` before the certificate is issued, or for delivery by download \
            (`no_letter`).", body = shared::http::ErrorBody),
    ))]
async fn document(call: StaffCall, Path((id, name)): Path<(String, String)>) -> Result<Response, ApiError> {
    match OfficeDocument::parse(&name) {
        Some(
            which @ (OfficeDocument::AntragXml
            | OfficeDocument::AuskunftXml
            | OfficeDocument::AntragPdf
            | OfficeDocument::LetterPdf),
        ) => office_document(&call, &id, which).await,
        _ => Err(call.not_found()),
    }
}

/// What the mother uploaded, by kind (`geburtsurkunde`, `vollmacht`).
#[utoipa::path(get, operation_id = "getUploadedDocument", path = "/api/v1/staff/requests/{id}/nachweise/{kind}", tag = tag::OFFICE,
    security(("staff" = []), ("machine" = [])),
    params(("id" = String, Path), ("kind" = DocumentKind, Path)),
    responses((status = 302, description = "A link to the file as she uploaded it, valid for 60 seconds (on AWS a \
        presigned S3 URL).", headers(("Location" = String, description = "The link.")))))]
async fn uploaded(call: StaffCall, Path((id, kind)): Path<(String, String)>) -> Result<Response, ApiError> {
    let Some(kind) = DocumentKind::parse(&kind) else { return Err(call.not_found()) };
    office_document(&call, &id, OfficeDocument::Upload(kind)).await
}
