//! The status page of a request for its owner (`/antraege/{id}`): where it stands, the
//! timeline in plain words, the office to ask, and — once issued — the download button
//! (`/antraege/{id}/bescheinigung`, the same short-lived link as the API's). Below, the messages
//! with the office, a form to answer (`/antraege/{id}/nachricht`), and where the office asked
//! for a document, the upload for it (`/antraege/{id}/nachweise`).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::json;
use shared::domain::message::parse_text;
use shared::domain::request::Request;
use shared::domain::upload::{DocumentKind, MAX_UPLOAD_BYTES, Upload, UploadProblem};
use shared::http::CitizenCall;
use shared::ports::StoreError;
use shared::records::{self, Audit, Versioned};
use shared::services::Services;
use shared::texts::{Lang, lookup, text};
use shared::web::form::{FieldKind, FileInput, FormView, field_id, problem_message};
use shared::web::{
    self, CitizenPage, FormData, MessageView, OfficeView, Page, PageError, PageResult, ReceivedFile, Templates, context,
};

use crate::certificate_download;
use crate::messages::send_citizen_message;

static TEMPLATES: LazyLock<Templates> =
    LazyLock::new(|| Templates::new(&[("antrag-status.html", include_str!("../templates/antrag-status.html"))]));

/// Largest form post with files: every kind of document at its limit, so that a file that is
/// too large still gets a friendly answer instead of a broken connection.
const MAX_UPLOAD_REQUEST: usize = DocumentKind::ALL.len() * MAX_UPLOAD_BYTES + 64 * 1024;

pub fn router() -> Router<Services> {
    web::pages(
        Router::new()
            .route("/antraege/{id}", get(status_page))
            .route("/antraege/{id}/bescheinigung", get(download))
            .route("/antraege/{id}/nachricht", post(write))
            .route("/antraege/{id}/nachweise", post(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_REQUEST))),
    )
}

fn status_path(id: &str) -> String {
    format!("/antraege/{id}")
}

#[derive(Serialize)]
struct Event {
    at: String,
    text: String,
}

/// What she entered and what is wrong with it (message by field path), to show the page again.
#[derive(Default)]
struct Entered {
    values: BTreeMap<String, String>,
    problems: Vec<(String, String)>,
}

async fn own_request(call: &CitizenCall, id: &str) -> Result<Request, PageError> {
    records::own_request(&*call.services.store, id, &call.who.sub).await?.ok_or_else(PageError::not_found)
}

fn kind_label(lang: Lang, kind: DocumentKind) -> String {
    text(lang, &format!("nachweise.kind.{}", kind.code())).to_owned()
}

async fn render_status(call: &CitizenCall, page: &Page, id: &str, entered: Entered) -> PageResult {
    let store = &*call.services.store;
    let request = own_request(call, id).await?;
    let directory = call.services.directory.get().await?;
    let messages = records::messages(store, id).await?;
    let lang = page.lang;
    let mut form = FormView::new(lang, entered.values);
    let mut problems: BTreeMap<String, String> = BTreeMap::new();
    for (path, message) in entered.problems {
        form.problem(&path, message.clone());
        problems.insert(path, message);
    }
    // Fields in page order, so that the error summary follows it.
    let mut errors = Vec::new();
    let uploads: Vec<FileInput> = request
        .documents
        .asked_for
        .iter()
        .map(|kind| {
            let path = format!("upload.{}", kind.code());
            let id = field_id(&format!("upload-{}", kind.code()));
            let error = problems.get(&path).cloned();
            if let Some(error) = &error {
                errors.push(web::form::ErrorLink { href: format!("#{id}"), text: error.clone() });
            }
            FileInput {
                id,
                name: path,
                label: kind_label(lang, *kind),
                hint: text(lang, "nachweise.hint").into(),
                error,
            }
        })
        .collect();
    let message_text = form.text("text", "statuspage.message_label");
    errors.extend(form.errors().iter().cloned());
    let timeline: Vec<Event> = request
        .timeline
        .iter()
        .rev()
        .map(|entry| Event {
            at: web::format_date_time(lang, entry.at),
            text: text(lang, &format!("status.{}", entry.status.as_str())).to_owned(),
        })
        .collect();
    let messages: Vec<MessageView> = messages
        .iter()
        .map(|m| MessageView::new(lang, m, "statuspage.message_from_office", "statuspage.message_from_you"))
        .collect();
    let status = request.status.as_str();
    let done = page.query("erledigt").filter(|d| ["nachricht", "nachweis"].contains(d));
    let http_status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    TEMPLATES.render_with_status(
        http_status,
        &page.clone().at(&status_path(id)),
        "antrag-status.html",
        context! {
            id => request.id,
            status_text => text(lang, &format!("status.{status}")),
            explanation => text(lang, &format!("statuspage.explain.{status}")),
            is_open => request.status.is_open(),
            timeline,
            rejection_reason => request.rejection_reason.as_ref().map(|r| r.as_str().to_owned()),
            certificate => request.certificate.as_ref().map(|c| context! {
                code => web::code_groups(&c.code),
                href => format!("/antraege/{}/bescheinigung", request.id),
                issued => web::format_date(lang, shared::domain::values::today_in_germany(c.issued_at)),
            }),
            office => directory.get(&request.office_id).map(OfficeView::from),
            messages,
            message_text,
            uploads,
            errors,
            done,
        },
    )
}

async fn status_page(CitizenPage { call, page, .. }: CitizenPage, Path(id): Path<String>) -> PageResult {
    render_status(&call, &page, &id, Entered::default()).await
}

async fn download(CitizenPage { call, .. }: CitizenPage, Path(id): Path<String>) -> PageResult {
    let request = own_request(&call, &id).await?;
    certificate_download(&call.services, &request).await?.ok_or_else(PageError::not_found)
}

/// Back to the status page, saying what was done (post/redirect/get).
fn done(id: &str, what: &str) -> PageResult {
    Ok(Redirect::to(&format!("{}?erledigt={what}#nachrichten", status_path(id))).into_response())
}

/// `text`: her message to the office, stored as the API stores it.
async fn write(CitizenPage { call, page, .. }: CitizenPage, Path(id): Path<String>, form: FormData) -> PageResult {
    own_request(&call, &id).await?;
    match parse_text(&json!({"text": form.get("text")})) {
        Ok(message) => {
            send_citizen_message(&call.services, &call.who, &id, message).await?;
            done(&id, "nachricht")
        }
        Err(errors) => {
            let lang = page.lang;
            let problems = errors
                .iter()
                .map(|(path, problem)| {
                    let specific = lookup(lang, &format!("statuspage.problem.{path}.{}", problem.code()));
                    let message =
                        specific.map_or_else(|| problem_message(lang, problem, FieldKind::Text), str::to_owned);
                    (path.to_owned(), message)
                })
                .collect();
            render_status(&call, &page, &id, Entered { values: form.0, problems }).await
        }
    }
}

/// The documents the office asked for (`upload.<kind>`), checked by content and size like the
/// form's, stored with the request where the office reads them.
async fn upload(
    CitizenPage { call, page, .. }: CitizenPage,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> PageResult {
    let lang = page.lang;
    let asked = own_request(&call, &id).await?.documents.asked_for;
    if asked.is_empty() {
        return Ok(Redirect::to(&status_path(&id)).into_response());
    }
    let problem = |kind: DocumentKind, problem: UploadProblem| {
        let message =
            web::fill(lang, &format!("nachweise.problem.{}", problem.code()), &[("document", &kind_label(lang, kind))]);
        (format!("upload.{}", kind.code()), message)
    };
    let mut files = Vec::new();
    let mut problems = Vec::new();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let kind = field.name().and_then(|name| name.strip_prefix("upload.")).and_then(DocumentKind::parse);
                let Some(kind) = kind.filter(|kind| asked.contains(kind)) else { continue };
                match ReceivedFile::read(field).await {
                    Ok(Some(file)) => files.push((kind, file)),
                    Ok(None) => {}
                    Err(error) => {
                        tracing::info!(%error, "upload could not be read");
                        problems.push(problem(kind, UploadProblem::TooLarge));
                    }
                }
            }
            Ok(None) => break,
            // Mostly a post beyond MAX_UPLOAD_REQUEST: too large for any file to be judged.
            Err(error) => {
                tracing::info!(%error, "upload could not be read");
                problems = asked.iter().map(|kind| problem(*kind, UploadProblem::TooLarge)).collect();
                break;
            }
        }
    }
    for kind in &asked {
        let path = format!("upload.{}", kind.code());
        if !files.iter().any(|(k, _)| k == kind) && !problems.iter().any(|(p, _)| *p == path) {
            problems.push(problem(*kind, UploadProblem::Missing));
        }
    }
    for (kind, file) in files {
        match file.check() {
            Ok(file_type) => {
                let upload = Upload {
                    kind,
                    key: String::new(),
                    file_type,
                    file_name: if file.file_name.is_empty() { kind_label(lang, kind) } else { file.file_name },
                    size: file.bytes.len() as u64,
                };
                keep_document(&call, &id, upload, file.bytes).await?;
            }
            Err(reason) => problems.push(problem(kind, reason)),
        }
    }
    if problems.is_empty() {
        return done(&id, "nachweis");
    }
    render_status(&call, &page, &id, Entered { values: BTreeMap::new(), problems }).await
}

/// Stores the file next to the request's other documents and records it on the request; a file
/// it replaces is deleted.
async fn keep_document(call: &CitizenCall, id: &str, mut upload: Upload, bytes: Vec<u8>) -> Result<(), PageError> {
    let (services, citizen) = (&call.services, &call.who);
    let store = &*services.store;
    let Versioned { value: mut request, version } = records::request(store, id)
        .await?
        .filter(|r| r.value.is_owned_by(&citizen.sub))
        .ok_or_else(PageError::not_found)?;
    let kind = upload.kind.code();
    upload.key = format!(
        "{}/requests/{id}/nachweis-{kind}-{}.{}",
        request.office_id,
        services.ids.new_id(),
        upload.file_type.extension()
    );
    services.documents.put(&upload.key, bytes, upload.file_type.content_type()).await?;
    let key = upload.key.clone();
    // The office decided meanwhile: the file is no longer asked for.
    let Ok(replaced) = request.receive_document(upload) else {
        services.documents.delete(&key).await?;
        return Err(PageError::bad_request());
    };
    let action = format!("upload:{kind}");
    let audit = Audit { actor: &citizen.sub, action: &action, at: services.clock.now() };
    match records::update_request(store, &request, version, audit).await {
        Ok(()) => {}
        Err(error) => {
            services.documents.delete(&key).await?;
            return Err(match error {
                // Someone changed the request at the same moment: she sends it again.
                StoreError::ConditionFailed => PageError::bad_request(),
                error => error.into(),
            });
        }
    }
    if let Some(replaced) = replaced {
        services.documents.delete(&replaced.key).await?;
    }
    Ok(())
}
