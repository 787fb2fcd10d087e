//! The documents step (`/antrag/nachweise`), only where her office requires documents: each
//! file goes from her browser straight into the document store ([`shared::web::upload`]) and
//! comes back to `/antrag/nachweise/eingang`, where it is checked by its content and size and
//! recorded in her draft; a new file of a kind replaces the old one.

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Serialize;
use shared::domain::draft::Draft;
use shared::domain::office::Office;
use shared::domain::upload::{DocumentKind, Upload, UploadProblem};
use shared::http::CitizenCall;
use shared::journey::form::{
    CHECK_PATH, DOCUMENTS_PATH, DraftData, Step, document_label, load_draft, save_draft, saved_until, set_path,
};
use shared::texts::text;
use shared::web::form::{ErrorLink, FileInput, field_id};
use shared::web::upload::{clear_received, posting_to, received as received_file, upload_form};
use shared::web::{self, CitizenPage, FormData, PageError, PageResult, Templates, context};

use super::steps::{back_path, to_check};

/// Where the document store sends her back after an upload.
pub(super) const RECEIVED_PATH: &str = "/antrag/nachweise/eingang";

static TEMPLATES: LazyLock<Templates> =
    LazyLock::new(|| Templates::new(&[("nachweise.html", include_str!("../../templates/nachweise.html"))]));

#[derive(Serialize)]
struct UploadedView {
    kind: &'static str,
    label: String,
    file_name: String,
    size: String,
}

/// The page: what she uploaded, and a form for each document still missing, which posts the
/// file straight into the document store and comes back to [`received`].
async fn render_documents(
    view: &CitizenPage,
    step: &DocumentsStep,
    draft: &Draft,
    problems: &[(DocumentKind, UploadProblem)],
    to_check: bool,
) -> PageResult {
    let CitizenPage { call, page, until } = view;
    let DocumentsStep { office, required, steps, .. } = step;
    let lang = page.lang;
    let uploads = DraftData(&draft.data).uploads();
    let uploaded: Vec<UploadedView> = uploads
        .iter()
        .filter(|u| required.contains(&u.kind))
        .map(|u| UploadedView {
            kind: u.kind.code(),
            label: document_label(lang, u.kind),
            file_name: u.file_name.clone(),
            size: web::file_size(lang, u.size),
        })
        .collect();
    let mut errors = Vec::new();
    let mut forms = Vec::new();
    for kind in required.iter().filter(|kind| !uploads.iter().any(|u| u.kind == **kind)) {
        let id = field_id(&format!("uploads.{}", kind.code()));
        let error = problems.iter().find(|(k, _)| k == kind).map(|(_, problem)| {
            web::fill(
                lang,
                &format!("nachweise.problem.{}", problem.code()),
                &[("document", &document_label(lang, *kind))],
            )
        });
        if let Some(error) = &error {
            errors.push(ErrorLink { href: format!("#{id}"), text: error.clone() });
        }
        let input = FileInput {
            name: String::new(),
            label: document_label(lang, *kind),
            hint: text(lang, "nachweise.hint").to_owned(),
            id,
            error,
        };
        let mut back = format!("{RECEIVED_PATH}?art={}", kind.code());
        if to_check {
            back.push_str("&zurueck=pruefen");
        }
        let documents = &*call.services.documents;
        let now = call.services.clock.now();
        forms.push(upload_form(documents, page, &call.who.sub, &purpose(*kind), &back, input, (now, *until)).await?);
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let number = steps.iter().position(|s| *s == Step::Documents).unwrap_or(0) + 1;
    let rendered = TEMPLATES.render_with_status(
        status,
        &page.clone().at(DOCUMENTS_PATH),
        "nachweise.html",
        context! {
            office => office.name,
            uploaded,
            forms => &forms,
            errors,
            number,
            total => steps.len(),
            saved_until => saved_until(lang, Some(draft)),
            session_until => web::format_date_time(lang, *until),
            back => back_path(Step::Documents, steps, to_check),
            to_check,
        },
    );
    posting_to(rendered, &forms)
}

/// What her upload of `kind` for the form is, for [`incoming_key`](shared::web::upload::incoming_key).
fn purpose(kind: DocumentKind) -> String {
    format!("antrag/{}", kind.code())
}

/// The documents step: her draft, her office, what it requires, and the steps around it.
struct DocumentsStep {
    draft: Draft,
    office: Office,
    required: Vec<DocumentKind>,
    steps: Vec<Step>,
}

/// The documents step, or where she belongs instead (no draft yet, or nothing to upload).
async fn documents_step(call: &CitizenCall) -> Result<Result<DocumentsStep, String>, PageError> {
    let Some(draft) = load_draft(call).await? else { return Ok(Err("/antrag".into())) };
    let directory = call.services.directory.get().await?;
    let application = DraftData(&draft.data);
    let required = application.required_documents(&directory);
    match application.office(&directory).cloned() {
        Some(office) if !required.is_empty() => {
            let steps = application.steps(&directory);
            Ok(Ok(DocumentsStep { draft, office, required, steps }))
        }
        _ => Ok(Err(application.resume_path(&directory))),
    }
}

pub(super) async fn documents(view: CitizenPage) -> PageResult {
    match documents_step(&view.call).await? {
        Ok(step) => render_documents(&view, &step, &step.draft, &[], to_check(&view.page, None)).await,
        Err(elsewhere) => Ok(Redirect::to(&elsewhere).into_response()),
    }
}

/// Where the document store sends her after an upload (`?art=<kind>`): the file she uploaded
/// is checked, kept with her draft in place of an earlier one, or refused with a message. The
/// address is only a hint: what is read is her own incoming file of that kind.
pub(super) async fn received(view: CitizenPage) -> PageResult {
    let call = &view.call;
    let services = &call.services;
    let step = match documents_step(call).await? {
        Ok(step) => step,
        Err(elsewhere) => return Ok(Redirect::to(&elsewhere).into_response()),
    };
    let back_to_check = to_check(&view.page, None);
    let kind = view.page.query("art").and_then(DocumentKind::parse).filter(|kind| step.required.contains(kind));
    let Some(kind) = kind else { return Ok(Redirect::to(DOCUMENTS_PATH).into_response()) };
    let mut uploads = DraftData(&step.draft.data).uploads();
    let documents = &*services.documents;
    let (file_type, bytes) = match received_file(documents, &call.who.sub, &purpose(kind)).await? {
        Ok(file) => file,
        // Nothing arrived, but the file is kept already: the same return followed twice.
        Err(UploadProblem::Missing) if uploads.iter().any(|u| u.kind == kind) => return Ok(onward(&step, &uploads)),
        Err(problem) => return render_documents(&view, &step, &step.draft, &[(kind, problem)], back_to_check).await,
    };
    let key = format!("drafts/{}/{}.{}", services.ids.new_id(), kind.code(), file_type.extension());
    let size = bytes.len() as u64;
    documents.put(&key, bytes, file_type.content_type()).await?;
    let file_name = format!("{}.{}", document_label(view.page.lang, kind), file_type.extension());
    let replaced = uploads.iter().position(|u| u.kind == kind).map(|index| uploads.remove(index));
    uploads.push(Upload { kind, key, file_type, file_name, size });
    let mut data = step.draft.data.clone();
    set_path(&mut data, "uploads", serde_json::to_value(&uploads).expect("uploads serialise"));
    save_draft(call, data).await?;
    // Only once the draft names the new file: a crash before leaves the old one and the
    // incoming copy in place.
    clear_received(documents, &call.who.sub, &purpose(kind)).await?;
    if let Some(replaced) = replaced {
        documents.delete(&replaced.key).await?;
    }
    Ok(onward(&step, &uploads))
}

/// Where she goes once a file is kept: the next missing document, or the check-answers page.
fn onward(step: &DocumentsStep, uploads: &[Upload]) -> axum::response::Response {
    let complete = step.required.iter().all(|kind| uploads.iter().any(|u| u.kind == *kind));
    Redirect::to(if complete { CHECK_PATH } else { DOCUMENTS_PATH }).into_response()
}

pub(super) async fn remove_upload(CitizenPage { call, .. }: CitizenPage, form: FormData) -> PageResult {
    let Some(mut draft) = load_draft(&call).await? else {
        return Ok(Redirect::to("/antrag").into_response());
    };
    let kind = DocumentKind::parse(form.get("kind"));
    let mut uploads = DraftData(&draft.data).uploads();
    if let Some(index) = uploads.iter().position(|u| Some(u.kind) == kind) {
        let removed = uploads.remove(index);
        call.services.documents.delete(&removed.key).await?;
        set_path(&mut draft.data, "uploads", serde_json::to_value(&uploads).expect("uploads serialise"));
        save_draft(&call, draft.data).await?;
    }
    Ok(Redirect::to(DOCUMENTS_PATH).into_response())
}
