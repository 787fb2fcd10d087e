//! Drafts of the application (`/api/v1/drafts/{id}`): kept 30 days after the last save,
//! visible to their owner only; and the application form for citizens ([`pages`]), which
//! saves its draft at every step.

pub mod pages;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::{Json, Router};
use shared::domain::draft::Draft;
use shared::domain::values::ClientId;
use shared::http::{ApiError, Citizen, JsonBody, Services};
use shared::input::FieldErrors;
use shared::records;
use shared::texts::Lang;

/// The drafts API and the form's pages.
pub fn router() -> Router<Services> {
    Router::new().route("/api/v1/drafts/{id}", put(save).get(read).delete(remove)).merge(pages::router())
}

fn draft_id(raw: &str, lang: Lang) -> Result<ClientId, ApiError> {
    let mut errors = FieldErrors::default();
    let id = errors.take("id", ClientId::parse(raw));
    errors.finish(id).map_err(|errors| ApiError::invalid(lang, &errors))
}

fn view(draft: &Draft) -> Json<serde_json::Value> {
    Json(serde_json::to_value(draft).expect("drafts serialise"))
}

async fn save(
    State(services): State<Services>,
    lang: Lang,
    Citizen(citizen): Citizen,
    Path(id): Path<String>,
    JsonBody(data): JsonBody,
) -> Result<Response, ApiError> {
    let id = draft_id(&id, lang)?;
    let mut errors = FieldErrors::default();
    let draft = errors.take("draft", Draft::save(id, data, services.clock.now()));
    let draft = errors.finish(draft).map_err(|errors| ApiError::invalid(lang, &errors))?;
    records::save_draft(&*services.store, &citizen.sub, &draft).await.map_err(|e| ApiError::store(lang, e))?;
    Ok(view(&draft).into_response())
}

async fn read(
    State(services): State<Services>,
    lang: Lang,
    Citizen(citizen): Citizen,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = draft_id(&id, lang)?;
    match records::draft(&*services.store, &citizen.sub, &id).await.map_err(|e| ApiError::store(lang, e))? {
        Some(draft) => Ok(view(&draft).into_response()),
        None => Err(ApiError::not_found(lang)),
    }
}

async fn remove(
    State(services): State<Services>,
    lang: Lang,
    Citizen(citizen): Citizen,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = draft_id(&id, lang)?;
    if records::delete_draft(&*services.store, &citizen.sub, &id).await.map_err(|e| ApiError::store(lang, e))? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found(lang))
    }
}
