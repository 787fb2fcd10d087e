//! The office side: the inbox (`GET /api/v1/staff/requests?status=`), a request with the
//! register result and its documents (`xfamilie.xml`, `auskunft.xml`, `antrag.pdf`, and for
//! delivery by post the print-ready `letter.pdf` with the certificate), decisions,
//! messages to the mother and the audit trail. Everything is confined to the staff member's own
//! office; another office's request is answered like a missing one. Every read and write is
//! recorded in the request's audit trail.
//!
//! The office's pages (`/amt`, [`pages`]) act through the same functions as the API.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::auth::{StaffClaims, StaffRole};
use shared::domain::audit::verify as verify_trail;
use shared::domain::message::{Author, Message, parse_office_message};
use shared::domain::request::{DecisionEffect, Outcome, Request, Status, parse_outcome};
use shared::domain::upload::DocumentKind;
use shared::domain::values::{LongText, Problem, format_date};
use shared::http::{ApiError, JsonBody, Services, Staff};
use shared::input::FieldErrors;
use shared::pipeline::hand_on;
use shared::ports::{QueueName, StoreError};
use shared::records::{self, Audit, Versioned};
use shared::texts::Lang;
use time::format_description::well_known::Rfc3339;

pub fn router() -> Router<Services> {
    Router::new()
        .route("/api/v1/staff/requests", get(list))
        .route("/api/v1/staff/requests/{id}", get(detail))
        .route("/api/v1/staff/requests/{id}/decision", post(decision))
        .route("/api/v1/staff/requests/{id}/messages", get(messages).post(send_message))
        .route("/api/v1/staff/requests/{id}/audit", get(audit))
        .route("/api/v1/staff/requests/{id}/xfamilie.xml", get(antrag_xml))
        .route("/api/v1/staff/requests/{id}/auskunft.xml", get(auskunft_xml))
        .route("/api/v1/staff/requests/{id}/antrag.pdf", get(antrag_pdf))
        .route("/api/v1/staff/requests/{id}/letter.pdf", get(letter_pdf))
        .route("/api/v1/staff/requests/{id}/nachweise/{kind}", get(uploaded))
        .merge(pages::router())
}

pub mod pages;

/// The request, if it belongs to the staff member's office; the access is audited.
async fn office_request(
    services: &Services,
    lang: Lang,
    staff: &StaffClaims,
    id: &str,
    action: &str,
) -> Result<Versioned<Request>, ApiError> {
    let store = &*services.store;
    let request = records::request(store, id).await.map_err(|e| ApiError::store(lang, e))?;
    let request = match request {
        Some(request) if staff.office_id.as_deref() == Some(request.value.office_id.as_str()) => request,
        _ => return Err(ApiError::not_found(lang)),
    };
    if action.starts_with("read") {
        let audit = Audit { actor: &staff.sub, action, at: services.clock.now() };
        records::append_audit(store, id, audit).await.map_err(|e| ApiError::store(lang, e))?;
    }
    Ok(request)
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
}

/// `new` lists what the platform has not yet handed to a case worker.
fn statuses(filter: &str) -> Option<Vec<Status>> {
    let all = [
        Status::Submitted,
        Status::Prepared,
        Status::InReview,
        Status::Issued,
        Status::Rejected,
        Status::Posted,
        Status::Failed,
    ];
    match filter {
        "new" => Some(vec![Status::Submitted, Status::Prepared]),
        name => all.into_iter().find(|s| s.as_str() == name).map(|s| vec![s]),
    }
}

/// The office's requests, oldest first, `filter`ed by status (`new` or a status name).
async fn office_inbox(
    services: &Services,
    lang: Lang,
    staff: &StaffClaims,
    filter: Option<&str>,
) -> Result<Vec<Request>, ApiError> {
    let Some(office_id) = staff.office_id.as_deref() else { return Err(ApiError::forbidden(lang)) };
    let wanted = match filter {
        None | Some("") => vec![None],
        Some(filter) => match statuses(filter) {
            Some(list) => list.into_iter().map(Some).collect(),
            None => {
                let mut errors = FieldErrors::default();
                errors.add("status", Problem::NotAChoice);
                return Err(ApiError::invalid(lang, &errors));
            }
        },
    };
    let mut requests = Vec::new();
    for status in wanted {
        requests.extend(
            records::office_requests(&*services.store, office_id, status)
                .await
                .map_err(|e| ApiError::store(lang, e))?,
        );
    }
    requests.sort_by_key(|r| r.timeline.first().map(|e| e.at));
    Ok(requests)
}

async fn list(
    State(services): State<Services>,
    lang: Lang,
    Staff(staff): Staff,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let requests = office_inbox(&services, lang, &staff, query.status.as_deref()).await?;
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

async fn decision(
    State(services): State<Services>,
    lang: Lang,
    Staff(staff): Staff,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let outcome = parse_outcome(&body).map_err(|errors| ApiError::invalid(lang, &errors))?;
    let request = record_decision(&services, lang, &staff, &id, outcome).await?;
    Ok(Json(json!({"id": id, "status": request.status, "approval": request.approval})))
}

/// A case worker's decision on a request of the office; 409 when it is no longer open for it.
async fn record_decision(
    services: &Services,
    lang: Lang,
    staff: &StaffClaims,
    id: &str,
    outcome: Outcome,
) -> Result<Request, ApiError> {
    // Case-management systems read; decisions are a case worker's.
    if staff.role != StaffRole::Caseworker {
        return Err(ApiError::forbidden(lang));
    }
    let Versioned { value: mut request, version } = office_request(services, lang, staff, id, "decide").await?;
    let now = services.clock.now();
    let action = format!("decision:{}", outcome.name());
    let effect =
        request.decide(outcome, &staff.sub, now).map_err(|_| ApiError::new(StatusCode::CONFLICT, "not_open", lang))?;
    let audit = Audit { actor: &staff.sub, action: &action, at: now };
    match records::update_request(&*services.store, &request, version, audit).await {
        Ok(()) => {}
        // Someone decided at the same moment: theirs stands.
        Err(StoreError::ConditionFailed) => return Err(ApiError::new(StatusCode::CONFLICT, "not_open", lang)),
        Err(e) => return Err(ApiError::store(lang, e)),
    }
    if effect == DecisionEffect::Certify {
        hand_on(&*services.queue, QueueName::Issue, id).await.map_err(|error| {
            tracing::error!(request_id = %id, %error, "could not queue the approved request");
            ApiError::internal(lang)
        })?;
    }
    tracing::info!(request_id = %id, staff = %staff.sub, %action, "decision recorded");
    Ok(request)
}

fn message_view(message: &Message) -> Value {
    serde_json::to_value(message).expect("messages serialise")
}

async fn messages(
    State(services): State<Services>,
    lang: Lang,
    Staff(staff): Staff,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    office_request(&services, lang, &staff, &id, "read:messages").await?;
    let messages = records::messages(&*services.store, &id).await.map_err(|e| ApiError::store(lang, e))?;
    Ok(Json(messages.iter().map(message_view).collect()))
}

async fn send_message(
    State(services): State<Services>,
    lang: Lang,
    Staff(staff): Staff,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    office_request(&services, lang, &staff, &id, "message").await?;
    let (text, asks_for) = parse_office_message(&body).map_err(|errors| ApiError::invalid(lang, &errors))?;
    let message = send_office_message(&services, lang, &staff, &id, text, asks_for).await?;
    Ok((StatusCode::CREATED, Json(message_view(&message))))
}

/// A case worker's message to the mother; asking for a document keeps the question open on
/// the request until she sends it (409 once the request is decided).
async fn send_office_message(
    services: &Services,
    lang: Lang,
    staff: &StaffClaims,
    id: &str,
    text: LongText,
    asks_for: Option<DocumentKind>,
) -> Result<Message, ApiError> {
    let Versioned { value: mut request, version } = office_request(services, lang, staff, id, "message").await?;
    let now = services.clock.now();
    let store = &*services.store;
    if let Some(kind) = asks_for {
        request.ask_for(kind).map_err(|_| ApiError::new(StatusCode::CONFLICT, "not_open", lang))?;
        let action = format!("ask:{}", kind.code());
        match records::update_request(store, &request, version, Audit { actor: &staff.sub, action: &action, at: now })
            .await
        {
            Ok(()) => {}
            Err(StoreError::ConditionFailed) => return Err(ApiError::new(StatusCode::CONFLICT, "not_open", lang)),
            Err(e) => return Err(ApiError::store(lang, e)),
        }
    }
    let author = Author::Office { staff_id: staff.sub.clone() };
    let message = Message { id: services.ids.new_id(), at: now, author, text, asks_for };
    records::add_message(store, id, &message).await.map_err(|e| ApiError::store(lang, e))?;
    records::append_audit(store, id, Audit { actor: &staff.sub, action: "message:office", at: now })
        .await
        .map_err(|e| ApiError::store(lang, e))?;
    Ok(message)
}

async fn audit(
    State(services): State<Services>,
    lang: Lang,
    Staff(staff): Staff,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    office_request(&services, lang, &staff, &id, "read:audit").await?;
    let trail = records::audit_trail(&*services.store, &id).await.map_err(|e| ApiError::store(lang, e))?;
    let check = verify_trail(&trail);
    Ok(Json(json!({"intact": check.is_ok(), "broken_at": check.err().map(|b| b.seq), "entries": trail})))
}

async fn detail(
    State(services): State<Services>,
    lang: Lang,
    Staff(staff): Staff,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let request = office_request(&services, lang, &staff, &id, "read:request").await?.value;
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
async fn office_document(
    services: &Services,
    lang: Lang,
    staff: &StaffClaims,
    id: &str,
    which: OfficeDocument,
) -> Result<Response, ApiError> {
    let action = format!("read:{}", which.name());
    let documents = office_request(services, lang, staff, id, &action).await?.value.documents;
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
            None => return Err(ApiError::new(StatusCode::CONFLICT, "no_letter", lang)),
        },
    };
    let Some(key) = key else { return Err(ApiError::not_found(lang)) };
    let bytes = services.documents.get(&key).await.map_err(|error| {
        tracing::error!(%error, "document store failed");
        ApiError::internal(lang)
    })?;
    let Some(bytes) = bytes else { return Err(ApiError::not_found(lang)) };
    let mut response = bytes.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn antrag_xml(
    State(services): State<Services>,
    lang: Lang,
    Staff(staff): Staff,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    office_document(&services, lang, &staff, &id, OfficeDocument::AntragXml).await
}

async fn auskunft_xml(
    State(services): State<Services>,
    lang: Lang,
    Staff(staff): Staff,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    office_document(&services, lang, &staff, &id, OfficeDocument::AuskunftXml).await
}

async fn antrag_pdf(
    State(services): State<Services>,
    lang: Lang,
    Staff(staff): Staff,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    office_document(&services, lang, &staff, &id, OfficeDocument::AntragPdf).await
}

/// What the mother uploaded, by kind (`geburtsurkunde`, `vollmacht`).
async fn uploaded(
    State(services): State<Services>,
    lang: Lang,
    Staff(staff): Staff,
    Path((id, kind)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let Some(kind) = DocumentKind::parse(&kind) else { return Err(ApiError::not_found(lang)) };
    office_document(&services, lang, &staff, &id, OfficeDocument::Upload(kind)).await
}

/// The letter for delivery by post (DIN 5008, the certificate on page 2), rendered when the
/// certificate was issued.
async fn letter_pdf(
    State(services): State<Services>,
    lang: Lang,
    Staff(staff): Staff,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    office_document(&services, lang, &staff, &id, OfficeDocument::LetterPdf).await
}
