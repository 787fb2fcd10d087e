//! Drafts of the application (`/api/v1/drafts/{id}`): kept 30 days after the last save,
//! visible to their owner only; and the application form for citizens ([`pages`]), which
//! saves its draft at every step.

pub mod pages;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use shared::domain::draft::Draft;
use shared::domain::values::ClientId;
use shared::http::{ApiError, CitizenCall, JsonBody};
use shared::input::FieldErrors;
use shared::openapi::tag;
use shared::records;
use shared::services::Services;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The operations of the API this function serves, documented.
pub fn api() -> OpenApiRouter<Services> {
    OpenApiRouter::new().routes(routes!(save, read, remove))
}

/// The drafts API and the form's pages.
pub fn router() -> Router<Services> {
    Router::from(api()).merge(pages::router())
}

fn draft_id(call: &CitizenCall, raw: &str) -> Result<ClientId, ApiError> {
    let mut errors = FieldErrors::default();
    let id = errors.take("id", ClientId::parse(raw));
    errors.finish(id).map_err(|errors| call.invalid(&errors))
}

/// Saves the application's fields so far (any object, validated only on submission); the draft
/// is kept 30 days after its last save. The files she uploaded for it stay as the server
/// recorded them: `uploads` sent by a client are dropped.
#[utoipa::path(put, operation_id = "saveDraft", path = "/api/v1/drafts/{id}", tag = tag::CITIZEN, security(("citizen" = [])),
    params(("id" = String, Path, description = "Chosen by the client: 1–64 of `A–Z a–z 0–9 - _`.")),
    request_body(content = Object, description = "The application's fields so far, at most 64 KiB.",
        example = json!({"mother": {"given_names": "Sophia"}})),
    responses((status = 200, description = "The draft as saved.", body = Draft,
        links(
            ("read" = (operation_id = "getDraft", parameters(("id" = "$response.body#/id")))),
            ("delete" = (operation_id = "deleteDraft", parameters(("id" = "$response.body#/id")))),
        ))))]
async fn save(call: CitizenCall, Path(id): Path<String>, JsonBody(data): JsonBody) -> Result<Response, ApiError> {
    let id = draft_id(&call, &id)?;
    let stored = call.store(records::draft(&*call.services.store, &call.who.sub, &id).await)?;
    let uploads = stored.map(|draft| draft.uploads).unwrap_or_default();
    let mut errors = FieldErrors::default();
    let draft = errors.take("draft", Draft::save(id, data, uploads, call.services.clock.now()));
    let draft = errors.finish(draft).map_err(|errors| call.invalid(&errors))?;
    // The client that keeps an API draft tells her of it; the service's reminders link its form.
    call.store(records::save_draft(&*call.services.store, &call.who.sub, &draft, None).await)?;
    Ok(Json(draft).into_response())
}

/// Her draft.
#[utoipa::path(get, operation_id = "getDraft", path = "/api/v1/drafts/{id}", tag = tag::CITIZEN, security(("citizen" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Draft)))]
async fn read(call: CitizenCall, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = draft_id(&call, &id)?;
    let draft = call.store(records::draft(&*call.services.store, &call.who.sub, &id).await)?;
    draft.map(|draft| Json(draft).into_response()).ok_or_else(|| call.not_found())
}

/// Deletes her draft and what she uploaded for it.
#[utoipa::path(delete, operation_id = "deleteDraft", path = "/api/v1/drafts/{id}", tag = tag::CITIZEN, security(("citizen" = [])),
    params(("id" = String, Path)), responses((status = 204, description = "Deleted.")))]
async fn remove(call: CitizenCall, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = draft_id(&call, &id)?;
    let store = &*call.services.store;
    let Some(draft) = call.store(records::draft(store, &call.who.sub, &id).await)? else {
        return Err(call.not_found());
    };
    if !call.store(records::delete_draft(store, &call.who.sub, &id).await)? {
        return Err(call.not_found());
    }
    // Her files go with the draft; one left behind is only storage, until the retention rule.
    for upload in &draft.uploads {
        if let Err(error) = call.services.documents.delete(&upload.key).await {
            tracing::warn!(%error, "an upload of a deleted draft could not be deleted");
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
