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
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::auth::StaffRole;
use shared::domain::audit::verify as verify_trail;
use shared::domain::message::{Author, Message, parse_office_message};
use shared::domain::request::{DecisionEffect, Outcome, Request, Status, parse_outcome};
use shared::domain::upload::DocumentKind;
use shared::domain::values::{LongText, Problem, format_date};
use shared::http::{ApiError, JsonBody, StaffCall};
use shared::input::FieldErrors;
use shared::ports::{QueueName, StoreError};
use shared::records::{self, Audit, Versioned};
use shared::services::Services;
use shared::steps::hand_on;
use time::format_description::well_known::Rfc3339;

pub fn router() -> Router<Services> {
    Router::new()
        .route("/api/v1/staff/requests", get(list))
        .route("/api/v1/staff/requests/{id}", get(detail))
        .route("/api/v1/staff/requests/{id}/decision", post(decision))
        .route("/api/v1/staff/requests/{id}/messages", get(messages).post(send_message))
        .route("/api/v1/staff/requests/{id}/audit", get(audit))
        // `xfamilie.xml`, `auskunft.xml`, `antrag.pdf`, `letter.pdf`
        .route("/api/v1/staff/requests/{id}/{document}", get(document))
        .route("/api/v1/staff/requests/{id}/nachweise/{kind}", get(uploaded))
        .merge(pages::router())
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
        let audit = Audit { actor: &call.who.sub, action, at: call.services.clock.now() };
        call.store(records::append_audit(store, id, audit).await)?;
    }
    Ok(request)
}

#[derive(Deserialize)]
struct ListQuery {
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

async fn list(call: StaffCall, Query(query): Query<ListQuery>) -> Result<Json<Value>, ApiError> {
    let requests = office_inbox(&call, query.status.as_deref()).await?;
    let items: Vec<Value> = requests
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "status": r.status,
                "submitted_at": r.timeline.first().map(|e| e.at.format(&Rfc3339).expect("timestamps format")),
                "child": {"given_names": r.application.child.given_names, "family_name": r.application.child.family_name,
                          "birth_date": format_date(r.application.child.birth_date)},
                "mother": {"given_names": r.application.mother.given_names, "family_name": r.application.mother.family_name},
                "delivery": r.application.delivery,
            })
        })
        .collect();
    Ok(Json(Value::Array(items)))
}

async fn decision(call: StaffCall, Path(id): Path<String>, JsonBody(body): JsonBody) -> Result<Json<Value>, ApiError> {
    let outcome = parse_outcome(&body).map_err(|errors| call.invalid(&errors))?;
    let request = record_decision(&call, &id, outcome).await?;
    Ok(Json(json!({"id": id, "status": request.status, "approval": request.approval})))
}

/// A case worker's decision on a request of the office; 409 when it is no longer open for it.
async fn record_decision(call: &StaffCall, id: &str, outcome: Outcome) -> Result<Request, ApiError> {
    // Case-management systems read; decisions are a case worker's.
    if call.who.role != StaffRole::Caseworker {
        return Err(call.forbidden());
    }
    let staff = &call.who;
    let Versioned { value: mut request, version } = office_request(call, id, "decide").await?;
    let now = call.services.clock.now();
    let action = format!("decision:{}", outcome.name());
    let effect = request.decide(outcome, &staff.sub, now).map_err(|_| not_open(call))?;
    let audit = Audit { actor: &staff.sub, action: &action, at: now };
    update_or_conflict(call, records::update_request(&*call.services.store, &request, version, audit).await)?;
    if effect == DecisionEffect::Certify {
        hand_on(&*call.services.queue, QueueName::Issue, id).await.map_err(|error| {
            tracing::error!(request_id = %id, %error, "could not queue the approved request");
            ApiError::internal(call.lang)
        })?;
    }
    tracing::info!(request_id = %id, staff = %staff.sub, %action, "decision recorded");
    Ok(request)
}

/// 409: the request is no longer open for what was asked.
fn not_open(call: &StaffCall) -> ApiError {
    call.error(StatusCode::CONFLICT, "not_open")
}

/// A conditional update of the request: someone else changed it at the same moment (theirs
/// stands), or it is stored.
fn update_or_conflict(call: &StaffCall, result: Result<(), StoreError>) -> Result<(), ApiError> {
    match result {
        Err(StoreError::ConditionFailed) => Err(not_open(call)),
        result => call.store(result),
    }
}

fn message_view(message: &Message) -> Value {
    serde_json::to_value(message).expect("messages serialise")
}

async fn messages(call: StaffCall, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    office_request(&call, &id, "read:messages").await?;
    let messages = call.store(records::messages(&*call.services.store, &id).await)?;
    Ok(Json(messages.iter().map(message_view).collect()))
}

async fn send_message(
    call: StaffCall,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (text, asks_for) = parse_office_message(&body).map_err(|errors| call.invalid(&errors))?;
    let message = send_office_message(&call, &id, text, asks_for).await?;
    Ok((StatusCode::CREATED, Json(message_view(&message))))
}

/// A case worker's message to the mother; asking for a document keeps the question open on
/// the request until she sends it (409 once the request is decided).
async fn send_office_message(
    call: &StaffCall,
    id: &str,
    text: LongText,
    asks_for: Option<DocumentKind>,
) -> Result<Message, ApiError> {
    let staff = &call.who;
    let Versioned { value: mut request, version } = office_request(call, id, "message").await?;
    let now = call.services.clock.now();
    let store = &*call.services.store;
    if let Some(kind) = asks_for {
        request.ask_for(kind).map_err(|_| not_open(call))?;
        let action = format!("ask:{}", kind.code());
        let audit = Audit { actor: &staff.sub, action: &action, at: now };
        update_or_conflict(call, records::update_request(store, &request, version, audit).await)?;
    }
    let author = Author::Office { staff_id: staff.sub.clone() };
    let message = Message { id: call.services.ids.new_id(), at: now, author, text, asks_for };
    call.store(records::add_message(store, id, &message).await)?;
    call.store(records::append_audit(store, id, Audit { actor: &staff.sub, action: "message:office", at: now }).await)?;
    Ok(message)
}

async fn audit(call: StaffCall, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    office_request(&call, &id, "read:audit").await?;
    let trail = call.store(records::audit_trail(&*call.services.store, &id).await)?;
    let check = verify_trail(&trail);
    Ok(Json(json!({"intact": check.is_ok(), "broken_at": check.err().map(|b| b.seq), "entries": trail})))
}

async fn detail(call: StaffCall, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let request = office_request(&call, &id, "read:request").await?.value;
    Ok(Json(json!({
        "id": request.id,
        "status": request.status,
        "office_id": request.office_id,
        "register_office_id": request.register_office_id,
        "application": request.application,
        "login": request.login,
        "timeline": request.timeline,
        "register_result": request.register_result,
        "approval": request.approval,
        "certificate": request.certificate.as_ref().map(|c| json!({"code": c.code, "issued_at": c.issued_at})),
        "failure": request.failure,
        "rejection_reason": request.rejection_reason,
        "documents": {
            "xfamilie": request.documents.antrag_xml.as_ref().map(|_| format!("/api/v1/staff/requests/{id}/xfamilie.xml")),
            "auskunft": request.documents.auskunft_xml.as_ref().map(|_| format!("/api/v1/staff/requests/{id}/auskunft.xml")),
            "antrag_pdf": request.documents.antrag_pdf.as_ref().map(|_| format!("/api/v1/staff/requests/{id}/antrag.pdf")),
            "uploads": request.documents.uploads.iter().map(|u| json!({
                "kind": u.kind, "file_name": u.file_name, "size": u.size,
                "url": format!("/api/v1/staff/requests/{id}/nachweise/{}", u.kind.code()),
            })).collect::<Vec<_>>(),
            "asked_for": request.documents.asked_for,
        },
    })))
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
        OfficeDocument::Upload(kind) => match documents.uploads.into_iter().find(|u| u.kind == kind) {
            Some(upload) => (Some(upload.key), upload.file_type.content_type()),
            None => (None, ""),
        },
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
async fn uploaded(call: StaffCall, Path((id, kind)): Path<(String, String)>) -> Result<Response, ApiError> {
    let Some(kind) = DocumentKind::parse(&kind) else { return Err(call.not_found()) };
    office_document(&call, &id, OfficeDocument::Upload(kind)).await
}
