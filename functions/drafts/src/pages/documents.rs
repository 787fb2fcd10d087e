//! The documents step (`/antrag/nachweise`), only where her office requires documents: each
//! file is checked by its content and size, stored, and recorded in her draft; a new file of a
//! kind replaces the old one.

use std::sync::LazyLock;

use axum::extract::Multipart;
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
use shared::web::{self, CitizenPage, FormData, Page, PageError, PageResult, ReceivedFile, Templates, context};
use time::OffsetDateTime;

use super::steps::{back_path, to_check};

static TEMPLATES: LazyLock<Templates> =
    LazyLock::new(|| Templates::new(&[("nachweise.html", include_str!("../../templates/nachweise.html"))]));

#[derive(Serialize)]
struct UploadedView {
    kind: &'static str,
    label: String,
    file_name: String,
    size: String,
}

fn render_documents(
    page: &Page,
    step: &DocumentsStep,
    draft: &Draft,
    problems: &[(DocumentKind, UploadProblem)],
    to_check: bool,
    until: OffsetDateTime,
) -> PageResult {
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
    let inputs: Vec<FileInput> = required
        .iter()
        .filter(|kind| !uploads.iter().any(|u| u.kind == **kind))
        .map(|kind| {
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
            FileInput {
                name: format!("upload.{}", kind.code()),
                label: document_label(lang, *kind),
                hint: text(lang, "nachweise.hint").to_owned(),
                id,
                error,
            }
        })
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let number = steps.iter().position(|s| *s == Step::Documents).unwrap_or(0) + 1;
    TEMPLATES.render_with_status(
        status,
        &page.clone().at(DOCUMENTS_PATH),
        "nachweise.html",
        context! {
            office => office.name,
            uploaded,
            inputs,
            errors,
            number,
            total => steps.len(),
            saved_until => saved_until(lang, Some(draft)),
            session_until => web::format_date_time(lang, until),
            back => back_path(Step::Documents, steps, to_check),
            to_check,
        },
    )
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

pub(super) async fn documents(CitizenPage { call, page, until }: CitizenPage) -> PageResult {
    match documents_step(&call).await? {
        Ok(step) => render_documents(&page, &step, &step.draft, &[], to_check(&page, None), until),
        Err(elsewhere) => Ok(Redirect::to(&elsewhere).into_response()),
    }
}

/// The files of the form (`upload.<kind>`), and whether she came from the check-answers page.
async fn read_files(
    multipart: &mut Multipart,
) -> Result<(Vec<(DocumentKind, ReceivedFile)>, bool), axum::extract::multipart::MultipartError> {
    let mut files = Vec::new();
    let mut to_check = false;
    while let Some(field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "zurueck" {
            to_check = field.text().await? == "pruefen";
            continue;
        }
        let Some(kind) = name.strip_prefix("upload.").and_then(DocumentKind::parse) else { continue };
        if let Some(file) = ReceivedFile::read(field).await? {
            files.push((kind, file));
        }
    }
    Ok((files, to_check))
}

pub(super) async fn upload(CitizenPage { call, page, until }: CitizenPage, mut multipart: Multipart) -> PageResult {
    let services = &call.services;
    let step = match documents_step(&call).await? {
        Ok(step) => step,
        Err(elsewhere) => return Ok(Redirect::to(&elsewhere).into_response()),
    };
    let (files, back_to_check) = match read_files(&mut multipart).await {
        Ok(read) => read,
        Err(error) => {
            // Mostly a post beyond MAX_UPLOAD_REQUEST: too large for any file to be judged.
            tracing::info!(%error, "upload could not be read");
            let problems: Vec<_> = step.required.iter().map(|kind| (*kind, UploadProblem::TooLarge)).collect();
            return render_documents(&page, &step, &step.draft, &problems, false, until);
        }
    };
    let mut uploads = DraftData(&step.draft.data).uploads();
    let mut problems = Vec::new();
    for (kind, file) in files.into_iter().filter(|(kind, _)| step.required.contains(kind)) {
        let file_type = match file.check() {
            Ok(file_type) => file_type,
            Err(problem) => {
                problems.push((kind, problem));
                continue;
            }
        };
        let key = format!("drafts/{}/{}.{}", services.ids.new_id(), kind.code(), file_type.extension());
        let size = file.bytes.len() as u64;
        services.documents.put(&key, file.bytes, file_type.content_type()).await?;
        let file_name = if file.file_name.is_empty() { document_label(page.lang, kind) } else { file.file_name };
        if let Some(replaced) = uploads.iter().position(|u| u.kind == kind) {
            let old = uploads.remove(replaced);
            services.documents.delete(&old.key).await?;
        }
        uploads.push(Upload { kind, key, file_type, file_name, size });
    }
    let mut data = step.draft.data.clone();
    set_path(&mut data, "uploads", serde_json::to_value(&uploads).expect("uploads serialise"));
    let draft = save_draft(&call, data).await?;
    for kind in &step.required {
        if !uploads.iter().any(|u| u.kind == *kind) && !problems.iter().any(|(k, _)| k == kind) {
            problems.push((*kind, UploadProblem::Missing));
        }
    }
    if !problems.is_empty() {
        return render_documents(&page, &step, &draft, &problems, back_to_check, until);
    }
    Ok(Redirect::to(CHECK_PATH).into_response())
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
