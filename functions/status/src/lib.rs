//! The status of a request for its owner (`GET /api/v1/requests/{id}`).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use shared::http::{ApiError, Citizen, Services, office_contact};
use shared::records;
use shared::texts::{Lang, text};

pub fn router() -> Router<Services> {
    Router::new().route("/api/v1/requests/{id}", get(status))
}

async fn status(
    State(services): State<Services>,
    lang: Lang,
    Citizen(citizen): Citizen,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = &*services.store;
    let request = records::request(store, &id).await.map_err(|e| ApiError::store(lang, e))?;
    // Someone else's request is answered like a missing one: its existence is not disclosed.
    let Some(request) = request.map(|r| r.value).filter(|r| r.is_owned_by(&citizen.sub)) else {
        return Err(ApiError::not_found(lang));
    };
    let directory = records::directory(store).await.map_err(|e| ApiError::store(lang, e))?;
    let timeline: Vec<Value> = request
        .timeline
        .iter()
        .map(|entry| {
            json!({
                "at": entry.at.format(&time::format_description::well_known::Rfc3339).expect("timestamps format"),
                "status": entry.status,
                "text": text(lang, &format!("status.{}", entry.status.as_str())),
            })
        })
        .collect();
    Ok(Json(json!({
        "id": request.id,
        "status": request.status,
        "status_text": text(lang, &format!("status.{}", request.status.as_str())),
        "office": directory.get(&request.office_id).map(office_contact),
        "timeline": timeline,
    })))
}
