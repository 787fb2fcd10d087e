//! Messages about a request, on the mother's side (`/api/v1/requests/{id}/messages`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;
use shared::domain::message::{Author, Message};
use shared::domain::values::LongText;
use shared::http::{ApiError, Citizen, JsonBody, Services};
use shared::input::{FieldErrors, Object};
use shared::records::{self, Audit};
use shared::texts::Lang;

use crate::own_request;

pub async fn list(
    State(services): State<Services>,
    lang: Lang,
    Citizen(citizen): Citizen,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    own_request(&services, lang, &citizen, &id).await?;
    let messages = records::messages(&*services.store, &id).await.map_err(|e| ApiError::store(lang, e))?;
    Ok(Json(serde_json::to_value(messages).expect("messages serialise")))
}

pub async fn send(
    State(services): State<Services>,
    lang: Lang,
    Citizen(citizen): Citizen,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    own_request(&services, lang, &citizen, &id).await?;
    let mut errors = FieldErrors::default();
    let text = errors.take("text", Object::root(&body).text("text").and_then(LongText::parse));
    let text = errors.finish(text).map_err(|errors| ApiError::invalid(lang, &errors))?;
    let now = services.clock.now();
    let message = Message { id: services.ids.new_id(), at: now, author: Author::Citizen, text };
    let store = &*services.store;
    records::add_message(store, &id, &message).await.map_err(|e| ApiError::store(lang, e))?;
    records::append_audit(store, &id, Audit { actor: &citizen.sub, action: "message:citizen", at: now })
        .await
        .map_err(|e| ApiError::store(lang, e))?;
    Ok((StatusCode::CREATED, Json(serde_json::to_value(&message).expect("messages serialise"))))
}
