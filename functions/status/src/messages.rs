//! Messages about a request, on the mother's side (`/api/v1/requests/{id}/messages`).

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use shared::auth::CitizenClaims;
use shared::domain::message::{Author, CitizenMessageBody, Message, parse_text};
use shared::domain::values::LongText;
use shared::http::{ApiError, CitizenCall, JsonBody};
use shared::openapi::tag;
use shared::ports::StoreError;
use shared::records;
use shared::services::Services;

use crate::own_request;

/// The messages between her and the office about her request, oldest first.
#[utoipa::path(get, operation_id = "listMessages", path = "/api/v1/requests/{id}/messages", tag = tag::CITIZEN, security(("citizen" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Vec<Message>)))]
pub async fn list(call: CitizenCall, Path(id): Path<String>) -> Result<Json<Vec<Message>>, ApiError> {
    own_request(&call, &id).await?;
    let messages = call.store(records::messages(&*call.services.store, &id).await)?;
    Ok(Json(messages))
}

/// Writes to the office about her request.
#[utoipa::path(post, operation_id = "sendMessage", path = "/api/v1/requests/{id}/messages", tag = tag::CITIZEN, security(("citizen" = [])),
    params(("id" = String, Path)), request_body = CitizenMessageBody,
    responses((status = 201, description = "Sent.", body = Message)))]
pub async fn send(
    call: CitizenCall,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    own_request(&call, &id).await?;
    let text = parse_text(&body).map_err(|errors| call.invalid(&errors))?;
    let message = call.store(send_citizen_message(&call.services, &call.who, &id, text).await)?;
    Ok((StatusCode::CREATED, Json(message)))
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
    records::append_audit(store, id, services.audit(&citizen.sub, "message:citizen", now).await?).await?;
    Ok(message)
}
