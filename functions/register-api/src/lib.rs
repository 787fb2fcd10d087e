//! The register of a birth-place office on the platform (operators, or staff of that office):
//! - `POST /api/v1/registers/{office}/entries`: one entry;
//! - `POST /api/v1/registers/{office}/import`: many, as CSV (`text/csv`) or JSON lines
//!   (`application/x-ndjson`), with a report of accepted and refused rows;
//! - `PUT` / `DELETE /api/v1/registers/{office}/entries/{id}`: correction and deletion
//!   (XFamilie 0805 / 0806).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{post, put};
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use shared::auth::{StaffClaims, StaffRole};
use shared::domain::register::{RegisterEntry, parse_entry};
use shared::domain::values::today_in_germany;
use shared::http::{ApiError, JsonBody, StaffCall};
use shared::records;
use shared::services::Services;
use shared::texts::text;

pub fn router() -> Router<Services> {
    Router::new()
        .route("/api/v1/registers/{office}/entries", post(add_entry))
        .route("/api/v1/registers/{office}/entries/{id}", put(correct_entry).delete(delete_entry))
        .route("/api/v1/registers/{office}/import", post(import))
}

/// Largest import in one request (about 20 000 rows).
const MAX_IMPORT_BYTES: usize = 4 * 1024 * 1024;

/// Operators may keep any register; staff and machine clients only their own office's.
fn may_keep_register(staff: &StaffClaims, office_id: &str) -> bool {
    staff.role == StaffRole::Admin || staff.office_id.as_deref() == Some(office_id)
}

async fn check_access(call: &StaffCall, office_id: &str) -> Result<(), ApiError> {
    if !may_keep_register(&call.who, office_id) {
        return Err(call.forbidden());
    }
    let directory = call.store(call.services.directory.get().await)?;
    if directory.get(office_id).is_none() { Err(call.not_found()) } else { Ok(()) }
}

/// The entry `id` of the office's register.
async fn existing_entry(call: &StaffCall, office_id: &str, id: &str) -> Result<RegisterEntry, ApiError> {
    let entry = call.store(records::register_entry(&*call.services.store, office_id, id).await)?;
    entry.ok_or_else(|| call.not_found())
}

async fn add_entry(
    call: StaffCall,
    Path(office_id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_access(&call, &office_id).await?;
    let services = &call.services;
    let entry = parse_entry(&body, services.ids.new_id(), &office_id, today_in_germany(services.clock.now()))
        .map_err(|errors| call.invalid(&errors))?;
    call.store(records::add_register_entry(&*services.store, &entry).await)?;
    tracing::info!(office_id = %office_id, entry_id = %entry.id, by = %call.who.sub, "register entry added");
    Ok((StatusCode::CREATED, Json(json!({"id": entry.id, "office": office_id, "kind": entry.kind}))))
}

async fn correct_entry(
    call: StaffCall,
    Path((office_id, id)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    check_access(&call, &office_id).await?;
    let old = existing_entry(&call, &office_id, &id).await?;
    let corrected = parse_entry(&body, id.clone(), &office_id, today_in_germany(call.services.clock.now()))
        .map_err(|errors| call.invalid(&errors))?;
    call.store(records::correct_register_entry(&*call.services.store, &old, &corrected).await)?;
    tracing::info!(office_id = %office_id, entry_id = %id, by = %call.who.sub, "register entry corrected");
    Ok(Json(json!({"id": id, "office": office_id, "kind": corrected.kind})))
}

async fn delete_entry(call: StaffCall, Path((office_id, id)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    check_access(&call, &office_id).await?;
    let entry = existing_entry(&call, &office_id, &id).await?;
    call.store(records::delete_register_entry(&*call.services.store, &entry).await)?;
    tracing::info!(office_id = %office_id, entry_id = %id, by = %call.who.sub, "register entry deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// The columns of a CSV import, in the shape of the single-entry body.
const CSV_COLUMNS: [&str; 8] = [
    "child_given_names",
    "child_family_name",
    "child_birth_date",
    "child_birth_place",
    "mother_given_names",
    "mother_family_name",
    "kind",
    "parts",
];

/// One CSV record as the JSON body of a single entry, so both go through the same rules.
fn csv_row_as_entry(headers: &csv::StringRecord, record: &csv::StringRecord) -> Value {
    let field =
        |name: &str| headers.iter().position(|h| h.trim() == name).and_then(|i| record.get(i)).map(str::to_owned);
    let parts: Vec<String> = field("parts")
        .map(|p| p.split(';').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    json!({
        "child": {"given_names": field("child_given_names"), "family_name": field("child_family_name"),
                  "birth_date": field("child_birth_date"), "birth_place": field("child_birth_place")},
        "mother": {"given_names": field("mother_given_names"), "family_name": field("mother_family_name")},
        "kind": field("kind"),
        "parts": parts,
    })
}

/// The rows of an import as (line number, body or a reason it could not be read).
fn rows(content_type: &str, bytes: &[u8]) -> Result<Vec<(usize, Result<Value, &'static str>)>, &'static str> {
    if content_type.starts_with("text/csv") {
        let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(bytes);
        let headers = reader.headers().map_err(|_| "unreadable_csv")?.clone();
        if !CSV_COLUMNS.iter().take(7).all(|c| headers.iter().any(|h| h == *c)) {
            return Err("csv_columns");
        }
        Ok(reader
            .records()
            .enumerate()
            .map(|(i, record)| (i + 2, record.map(|r| csv_row_as_entry(&headers, &r)).map_err(|_| "unreadable_row")))
            .collect())
    } else if content_type.starts_with("application/x-ndjson") || content_type.starts_with("application/jsonl") {
        let text = std::str::from_utf8(bytes).map_err(|_| "not_utf8")?;
        Ok(text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| (i + 1, serde_json::from_str(line).map_err(|_| "unreadable_row")))
            .collect())
    } else {
        Err("unsupported_media_type")
    }
}

async fn import(
    call: StaffCall,
    Path(office_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    check_access(&call, &office_id).await?;
    let (services, lang) = (&call.services, call.lang);
    if body.len() > MAX_IMPORT_BYTES {
        return Err(call.error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
    }
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    let rows = rows(&content_type, &body).map_err(|reason| match reason {
        "unsupported_media_type" => call.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_import"),
        _ => call.error(StatusCode::UNPROCESSABLE_ENTITY, "unreadable_import"),
    })?;
    let today = today_in_germany(services.clock.now());
    let store = &*services.store;
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    for (line, row) in rows {
        let entry = row.map_err(|reason| json!({"line": line, "reason": reason})).and_then(|body| {
            parse_entry(&body, services.ids.new_id(), &office_id, today).map_err(|errors| {
                let fields: Map<String, Value> = errors
                    .iter()
                    .map(|(path, problem)| (path.to_owned(), json!(text(lang, &format!("problem.{}", problem.code())))))
                    .collect();
                json!({"line": line, "fields": fields})
            })
        });
        match entry {
            Ok(entry) => {
                call.store(records::add_register_entry(store, &entry).await)?;
                accepted.push(json!({"line": line, "id": entry.id}));
            }
            Err(report) => refused.push(report),
        }
    }
    tracing::info!(office_id = %office_id, accepted = accepted.len(), refused = refused.len(), by = %call.who.sub, "register import");
    Ok(Json(json!({"accepted": accepted, "refused": refused})))
}
