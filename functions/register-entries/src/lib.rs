//! The register of a birth-place office on the platform (operators, or staff of that office):
//! - `POST /api/v1/registers/{office}/entries`: one entry;
//! - `POST /api/v1/registers/{office}/import`: many, as CSV (`text/csv`) or JSON lines
//!   (`application/x-ndjson`), with a report of accepted and refused rows;
//! - `PUT` / `DELETE /api/v1/registers/{office}/entries/{id}`: correction and deletion
//!   (XFamilie 0805 / 0806).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{post, put};
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use shared::auth::{StaffClaims, StaffRole};
use shared::domain::register::parse_entry;
use shared::domain::values::today_in_germany;
use shared::http::{ApiError, JsonBody, Services, Staff};
use shared::records;
use shared::texts::{Lang, text};

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

async fn check_access(services: &Services, lang: Lang, staff: &StaffClaims, office_id: &str) -> Result<(), ApiError> {
    if !may_keep_register(staff, office_id) {
        return Err(ApiError::forbidden(lang));
    }
    let directory = records::directory(&*services.store).await.map_err(|e| ApiError::store(lang, e))?;
    if directory.get(office_id).is_none() { Err(ApiError::not_found(lang)) } else { Ok(()) }
}

async fn add_entry(
    State(services): State<Services>,
    lang: Lang,
    Staff(staff): Staff,
    Path(office_id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_access(&services, lang, &staff, &office_id).await?;
    let entry = parse_entry(&body, services.ids.new_id(), &office_id, today_in_germany(services.clock.now()))
        .map_err(|errors| ApiError::invalid(lang, &errors))?;
    records::add_register_entry(&*services.store, &entry).await.map_err(|e| ApiError::store(lang, e))?;
    tracing::info!(office_id = %office_id, entry_id = %entry.id, by = %staff.sub, "register entry added");
    Ok((StatusCode::CREATED, Json(json!({"id": entry.id, "office": office_id, "kind": entry.kind}))))
}

async fn correct_entry(
    State(services): State<Services>,
    lang: Lang,
    Staff(staff): Staff,
    Path((office_id, id)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    check_access(&services, lang, &staff, &office_id).await?;
    let store = &*services.store;
    let old = records::register_entry(store, &office_id, &id).await.map_err(|e| ApiError::store(lang, e))?;
    let old = old.ok_or_else(|| ApiError::not_found(lang))?;
    let corrected = parse_entry(&body, id.clone(), &office_id, today_in_germany(services.clock.now()))
        .map_err(|errors| ApiError::invalid(lang, &errors))?;
    records::correct_register_entry(store, &old, &corrected).await.map_err(|e| ApiError::store(lang, e))?;
    tracing::info!(office_id = %office_id, entry_id = %id, by = %staff.sub, "register entry corrected");
    Ok(Json(json!({"id": id, "office": office_id, "kind": corrected.kind})))
}

async fn delete_entry(
    State(services): State<Services>,
    lang: Lang,
    Staff(staff): Staff,
    Path((office_id, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    check_access(&services, lang, &staff, &office_id).await?;
    let store = &*services.store;
    let entry = records::register_entry(store, &office_id, &id).await.map_err(|e| ApiError::store(lang, e))?;
    let entry = entry.ok_or_else(|| ApiError::not_found(lang))?;
    records::delete_register_entry(store, &entry).await.map_err(|e| ApiError::store(lang, e))?;
    tracing::info!(office_id = %office_id, entry_id = %id, by = %staff.sub, "register entry deleted");
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
    State(services): State<Services>,
    lang: Lang,
    Staff(staff): Staff,
    Path(office_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    check_access(&services, lang, &staff, &office_id).await?;
    if body.len() > MAX_IMPORT_BYTES {
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", lang));
    }
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    let rows = rows(&content_type, &body).map_err(|reason| match reason {
        "unsupported_media_type" => ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_import", lang),
        _ => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unreadable_import", lang),
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
                records::add_register_entry(store, &entry).await.map_err(|e| ApiError::store(lang, e))?;
                accepted.push(json!({"line": line, "id": entry.id}));
            }
            Err(report) => refused.push(report),
        }
    }
    tracing::info!(office_id = %office_id, accepted = accepted.len(), refused = refused.len(), by = %staff.sub, "register import");
    Ok(Json(json!({"accepted": accepted, "refused": refused})))
}
