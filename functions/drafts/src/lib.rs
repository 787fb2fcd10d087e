//! Drafts of the application (`/api/v1/drafts/{id}`): kept 30 days after the last save,
//! visible to their owner only; and the application form for citizens ([`pages`]), which
//! saves its draft at every step.

pub mod pages;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::{Json, Router};
use shared::domain::draft::Draft;
use shared::domain::values::ClientId;
use shared::http::{ApiError, CitizenCall, JsonBody};
use shared::input::FieldErrors;
use shared::records;
use shared::services::Services;

/// The drafts API and the form's pages.
pub fn router() -> Router<Services> {
    Router::new().route("/api/v1/drafts/{id}", put(save).get(read).delete(remove)).merge(pages::router())
}

fn draft_id(call: &CitizenCall, raw: &str) -> Result<ClientId, ApiError> {
    let mut errors = FieldErrors::default();
    let id = errors.take("id", ClientId::parse(raw));
    errors.finish(id).map_err(|errors| call.invalid(&errors))
}

fn view(draft: &Draft) -> Json<serde_json::Value> {
    Json(serde_json::to_value(draft).expect("drafts serialise"))
}

/// Saves the application's fields; the files she uploaded for the draft stay as the server
/// recorded them (a client's `uploads` are dropped).
async fn save(call: CitizenCall, Path(id): Path<String>, JsonBody(data): JsonBody) -> Result<Response, ApiError> {
    let id = draft_id(&call, &id)?;
    let stored = call.store(records::draft(&*call.services.store, &call.who.sub, &id).await)?;
    let uploads = stored.map(|draft| draft.uploads).unwrap_or_default();
    let mut errors = FieldErrors::default();
    let draft = errors.take("draft", Draft::save(id, data, uploads, call.services.clock.now()));
    let draft = errors.finish(draft).map_err(|errors| call.invalid(&errors))?;
    call.store(records::save_draft(&*call.services.store, &call.who.sub, &draft).await)?;
    Ok(view(&draft).into_response())
}

async fn read(call: CitizenCall, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = draft_id(&call, &id)?;
    let draft = call.store(records::draft(&*call.services.store, &call.who.sub, &id).await)?;
    draft.map(|draft| view(&draft).into_response()).ok_or_else(|| call.not_found())
}

async fn remove(call: CitizenCall, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = draft_id(&call, &id)?;
    let removed = call.store(records::delete_draft(&*call.services.store, &call.who.sub, &id).await)?;
    if removed { Ok(StatusCode::NO_CONTENT.into_response()) } else { Err(call.not_found()) }
}
