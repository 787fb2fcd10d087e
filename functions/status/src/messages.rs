//! Messages about a request, on the mother's side (`/api/v1/requests/{id}/messages`).

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde_json::Value;
use shared::auth::CitizenClaims;
use shared::domain::message::{Author, Message, parse_text};
use shared::domain::values::LongText;
use shared::http::{ApiError, CitizenCall, JsonBody};
use shared::ports::StoreError;
use shared::records::{self, Audit};
use shared::services::Services;

use crate::own_request;

pub async fn list(call: CitizenCall, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    own_request(&call, &id).await?;
    let messages = call.store(records::messages(&*call.services.store, &id).await)?;
    Ok(Json(serde_json::to_value(messages).expect("messages serialise")))
}

pub async fn send(
    call: CitizenCall,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    own_request(&call, &id).await?;
    let text = parse_text(&body).map_err(|errors| call.invalid(&errors))?;
    let message = call.store(send_citizen_message(&call.services, &call.who, &id, text).await)?;
    Ok((StatusCode::CREATED, Json(serde_json::to_value(&message).expect("messages serialise"))))
}

/// Stores her message to the office of her request `id` (its ownership already checked), for
/// the API and the status page alike.
pub async fn send_citizen_message(
    services: &Services,
    citizen: &CitizenClaims,
    id: &str,
    text: LongText,
) -> Result<Message, StoreError> {
    let now = services.clock.now();
    let message = Message { id: services.ids.new_id(), at: now, author: Author::Citizen, text, asks_for: None };
    let store = &*services.store;
    records::add_message(store, id, &message).await?;
    records::append_audit(store, id, Audit { actor: &citizen.sub, action: "message:citizen", at: now }).await?;
    Ok(message)
}
