//! Her requests (`/antraege`, newest first, a page at a time), and the status page of a
//! request for its owner (`/antraege/{id}`): where it stands, the
//! timeline in plain words, the office to ask, and — once issued — the download button
//! (`/antraege/{id}/bescheinigung`, the same short-lived link as the API's). Below, the messages
//! with the office, a form to answer (`/antraege/{id}/nachricht`), and where the office asked
//! for a document, the upload for it (straight into the document store, back to
//! `/antraege/{id}/nachweise`), and the switch for her mails (`/antraege/{id}/benachrichtigungen`).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::json;
use shared::domain::application::ContactChange;
use shared::domain::message::parse_text;
use shared::domain::request::Request;
use shared::domain::upload::{DocumentKind, Upload};
use shared::http::CitizenCall;
use shared::paging::{PageQuery, next_page};
use shared::ports::StoreError;
use shared::records::{self, Versioned};
use shared::services::Services;
use shared::texts::{Lang, lookup, status_text, text};
use shared::web::form::{FieldKind, FileInput, FormView, field_id, problem_message};
use shared::web::upload::{clear_received, posting_to, received as received_file, upload_form};
use shared::web::{
    self, CitizenPage, FormData, MessageView, OfficeView, PageError, PageResult, SummaryRow, Templates, context,
};

use crate::contact::change_contact;
use crate::messages::send_citizen_message;
use crate::{OwnRequest, certificate_download, own_requests};

static TEMPLATES: LazyLock<Templates> = LazyLock::new(|| {
    Templates::new(&[
        ("antrag-status.html", include_str!("../templates/antrag-status.html")),
        ("antraege.html", include_str!("../templates/antraege.html")),
    ])
});

pub fn router() -> Router<Services> {
    web::pages(
        Router::new()
            .route("/antraege", get(list_page))
            .route("/antraege/{id}", get(status_page))
            .route("/antraege/{id}/bescheinigung", get(download))
            .route("/antraege/{id}/nachricht", post(write))
            .route("/antraege/{id}/nachweise", get(received))
            .route("/antraege/{id}/benachrichtigungen", post(switch_mails)),
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

async fn render_status(view: &CitizenPage, id: &str, entered: Entered) -> PageResult {
    let CitizenPage { call, page, until } = view;
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
    let mut uploads = Vec::new();
    for kind in &request.documents.asked_for {
        let path = format!("upload.{}", kind.code());
        let input_id = field_id(&format!("upload-{}", kind.code()));
        let error = problems.get(&path).cloned();
        if let Some(error) = &error {
            errors.push(web::form::ErrorLink { href: format!("#{input_id}"), text: error.clone() });
        }
        let input = FileInput {
            id: input_id,
            name: String::new(),
            label: kind_label(lang, *kind),
            hint: text(lang, "nachweise.hint").into(),
            error,
        };
        let back = format!("{}/nachweise?art={}", status_path(id), kind.code());
        let (documents, now) = (&*call.services.documents, call.services.clock.now());
        uploads
            .push(upload_form(documents, page, &call.who.sub, &purpose(id, *kind), &back, input, (now, *until)).await?);
    }
    let message_text = form.text("text", "statuspage.message_label");
    errors.extend(form.errors().iter().cloned());
    // Her address refused our mail: no switch that would promise mails, but the reason.
    let undeliverable =
        request.application.contact.email.is_some() && records::mail_undeliverable(&*call.services.store, id).await?;
    let timeline: Vec<Event> = request
        .timeline
        .iter()
        .rev()
        .map(|entry| Event { at: web::format_date_time(lang, entry.at), text: status_text(lang, entry.status) })
        .collect();
    let messages: Vec<MessageView> = messages
        .iter()
        .map(|m| MessageView::new(lang, m, "statuspage.message_from_office", "statuspage.message_from_you"))
        .collect();
    let status = request.status.as_str();
    let done = page.query("erledigt").filter(|d| ["nachricht", "nachweis", "mail_on", "mail_off"].contains(d));
    let http_status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let rendered = TEMPLATES.render_with_status(
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
                revoked => c.revoked.as_ref().map(|r| context! {
                    date => web::format_date(lang, shared::domain::values::today_in_germany(r.at)),
                    reason => r.reason.as_str(),
                }),
            }),
            office => directory.get(&request.office_id).map(OfficeView::from),
            mail => request.application.contact.email.as_ref().map(|address| context! {
                address => address.as_str(),
                on => request.application.contact.notifications,
                undeliverable,
            }),
            messages,
            message_text,
            uploads => &uploads,
            errors,
            done,
        },
    );
    posting_to(rendered, &uploads)
}

/// What her upload of `kind` for request `id` is, for [`shared::web::upload::incoming_key`].
fn purpose(id: &str, kind: DocumentKind) -> String {
    format!("antraege/{id}/{}", kind.code())
}

#[derive(Serialize)]
struct ListedRequest {
    child: String,
    href: String,
    /// Status, date and office as a summary list.
    rows: Vec<SummaryRow>,
}

/// Her requests, newest first, with a link to the next page where there are more.
async fn list_page(CitizenPage { call, page, .. }: CitizenPage, Query(query): Query<PageQuery>) -> PageResult {
    let paging = query.parse().map_err(|_| PageError::bad_request())?;
    let (requests, next) = own_requests(&call, &paging).await?;
    let lang = page.lang;
    let requests: Vec<ListedRequest> = requests
        .into_iter()
        .map(|request: OwnRequest| {
            let submitted =
                request.submitted_at.map(|at| web::format_date(lang, shared::domain::values::today_in_germany(at)));
            let rows = [
                ("antraege.column.status", Some(request.status_text)),
                ("antraege.column.submitted", submitted),
                ("antraege.column.office", request.office_name),
            ]
            .into_iter()
            .filter_map(|(key, value)| Some(SummaryRow::new(lang, key, vec![value?])))
            .collect();
            ListedRequest { child: request.child_given_names, href: request.page, rows }
        })
        .collect();
    let more = next_page("/antraege", paging.limit, next.as_deref());
    TEMPLATES.render(&page, "antraege.html", context! { requests, more, first => paging.after.is_none() })
}

async fn status_page(view: CitizenPage, Path(id): Path<String>) -> PageResult {
    render_status(&view, &id, Entered::default()).await
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
async fn write(view: CitizenPage, Path(id): Path<String>, form: FormData) -> PageResult {
    let CitizenPage { call, page, .. } = &view;
    own_request(call, &id).await?;
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
            render_status(&view, &id, Entered { values: form.values, problems }).await
        }
    }
}

/// `notifications=on|off`: her mails about the request, to the address she gave.
async fn switch_mails(CitizenPage { call, .. }: CitizenPage, Path(id): Path<String>, form: FormData) -> PageResult {
    let on = match form.get("notifications") {
        "on" => true,
        "off" => false,
        _ => return Err(PageError::bad_request()),
    };
    let request = own_request(&call, &id).await?;
    let email = request.application.contact.email;
    // Without an address there is nothing to switch on (the page offers no switch then).
    if on && email.is_none() {
        return Err(PageError::bad_request());
    }
    let change = ContactChange { email, notifications: on };
    change_contact(&call.services, &call.who, &id, change).await?.ok_or_else(PageError::not_found)?;
    let what = if on { "mail_on" } else { "mail_off" };
    Ok(Redirect::to(&format!("{}?erledigt={what}#benachrichtigungen", status_path(&id))).into_response())
}

/// Where the document store sends her after uploading a document the office asked for
/// (`?art=<kind>`): her own incoming file of that kind, checked by content and size like the
/// form's, stored with the request where the office reads them, or refused with a message.
async fn received(view: CitizenPage, Path(id): Path<String>) -> PageResult {
    let CitizenPage { call, page, .. } = &view;
    let asked = own_request(call, &id).await?.documents.asked_for;
    let kind = page.query("art").and_then(DocumentKind::parse).filter(|kind| asked.contains(kind));
    let Some(kind) = kind else { return Ok(Redirect::to(&status_path(&id)).into_response()) };
    let documents = &*call.services.documents;
    match received_file(documents, &call.who.sub, &purpose(&id, kind)).await? {
        Ok((file_type, bytes)) => {
            let file_name = format!("{}.{}", kind_label(page.lang, kind), file_type.extension());
            let upload = Upload { kind, key: String::new(), file_type, file_name, size: bytes.len() as u64 };
            keep_document(call, &id, upload, bytes).await?;
            clear_received(documents, &call.who.sub, &purpose(&id, kind)).await?;
            done(&id, "nachweis")
        }
        Err(problem) => {
            let message = web::fill(
                page.lang,
                &format!("nachweise.problem.{}", problem.code()),
                &[("document", &kind_label(page.lang, kind))],
            );
            let problems = vec![(format!("upload.{}", kind.code()), message)];
            render_status(&view, &id, Entered { values: BTreeMap::new(), problems }).await
        }
    }
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
    let action = format!("upload:{kind}");
    // Loaded before the file is stored: without it the upload cannot be recorded.
    let audit = services.audit(&citizen.sub, &action, services.clock.now()).await?;
    services.documents.put(&upload.key, bytes, upload.file_type.content_type()).await?;
    let key = upload.key.clone();
    // The office decided meanwhile: the file is no longer asked for.
    let Ok(replaced) = request.receive_document(upload) else {
        services.documents.delete(&key).await?;
        return Err(PageError::bad_request());
    };
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
