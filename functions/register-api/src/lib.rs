//! The register of a birth-place office on the platform (operators, or staff of that office):
//! - `POST /api/v1/registers/{office}/entries`: one entry;
//! - `POST /api/v1/registers/{office}/import`: many, as CSV (`text/csv`) or JSON lines
//!   (`application/x-ndjson`), with a report of accepted and refused rows; a file that takes
//!   longer than the function may run is stored in parts (`continue_from_line`);
//! - `PUT` / `DELETE /api/v1/registers/{office}/entries/{id}`: correction and deletion
//!   (XFamilie 0805 / 0806).

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::domain::register::{EntryBody, EntryKind, RegisterEntry, parse_entry};
use shared::domain::values::today_in_germany;
use shared::http::{ApiError, JsonBody, StaffCall, field_messages};
use shared::openapi::tag;
use shared::ports::StoreError;
use shared::records;
use shared::services::Services;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The operations of the API this function serves, documented.
pub fn api() -> OpenApiRouter<Services> {
    OpenApiRouter::new().routes(routes!(add_entry)).routes(routes!(correct_entry, delete_entry)).routes(routes!(import))
}

/// The routes, with the import's time budget from `IMPORT_TIME_BUDGET_SECONDS` (default 6, of
/// the function's 10 s timeout).
///
/// # Panics
/// If `IMPORT_TIME_BUDGET_SECONDS` is set but no whole number: the function does not start.
pub fn router() -> Router<Services> {
    let budget = match std::env::var("IMPORT_TIME_BUDGET_SECONDS") {
        Err(_) => ImportBudget::default(),
        Ok(value) => ImportBudget(Duration::from_secs(
            value.trim().parse().unwrap_or_else(|_| panic!("IMPORT_TIME_BUDGET_SECONDS is no number: {value:?}")),
        )),
    };
    Router::from(api()).layer(Extension(budget))
}

/// How long an import stores before it answers with what is left (`continue_from_line`), so
/// that it answers within the function's timeout and API Gateway's 29 s.
#[derive(Debug, Clone, Copy)]
pub struct ImportBudget(pub Duration);

impl Default for ImportBudget {
    fn default() -> Self {
        ImportBudget(Duration::from_secs(6))
    }
}

/// A stored register entry.
#[derive(Serialize, ToSchema)]
pub struct EntryStored {
    pub id: String,
    pub office: String,
    pub kind: EntryKind,
}

/// Largest import in one request (about 20 000 rows).
const MAX_IMPORT_BYTES: usize = 4 * 1024 * 1024;

/// Operators may keep any register, an office's register admins only their own office's.
async fn check_access(call: &StaffCall, office_id: &str) -> Result<(), ApiError> {
    if !call.who.may_keep_register_of(office_id) {
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

/// Adds an entry to the office's register (XFamilie 0804).
#[utoipa::path(post, operation_id = "addRegisterEntry", path = "/api/v1/registers/{office}/entries", tag = tag::REGISTER,
    security(("staff" = []), ("machine" = [])),
    params(("office" = String, Path, description = "The office keeping the register.", example = "jugendamt-bremen")), request_body = EntryBody,
    responses((status = 201, description = "Stored.", body = EntryStored,
        links(
            ("correct" = (operation_id = "correctRegisterEntry",
                parameters(("office" = "$response.body#/office"), ("id" = "$response.body#/id")))),
            ("delete" = (operation_id = "deleteRegisterEntry",
                parameters(("office" = "$response.body#/office"), ("id" = "$response.body#/id")))),
        ))))]
async fn add_entry(
    call: StaffCall,
    Path(office_id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<EntryStored>), ApiError> {
    check_access(&call, &office_id).await?;
    let services = &call.services;
    let entry = parse_entry(&body, services.ids.new_id(), &office_id, today_in_germany(services.clock.now()))
        .map_err(|errors| call.invalid(&errors))?;
    call.store(records::add_register_entry(&*services.store, &entry).await)?;
    tracing::info!(office_id = %office_id, entry_id = %entry.id, by = %call.who.sub, "register entry added");
    Ok((StatusCode::CREATED, Json(EntryStored { id: entry.id, office: office_id, kind: entry.kind })))
}

/// Corrects an entry (XFamilie 0805).
#[utoipa::path(put, operation_id = "correctRegisterEntry", path = "/api/v1/registers/{office}/entries/{id}", tag = tag::REGISTER,
    security(("staff" = []), ("machine" = [])),
    params(("office" = String, Path, example = "jugendamt-bremen"), ("id" = String, Path)), request_body = EntryBody,
    responses((status = 200, description = "Stored.", body = EntryStored)))]
async fn correct_entry(
    call: StaffCall,
    Path((office_id, id)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Json<EntryStored>, ApiError> {
    check_access(&call, &office_id).await?;
    let old = existing_entry(&call, &office_id, &id).await?;
    let corrected = parse_entry(&body, id.clone(), &office_id, today_in_germany(call.services.clock.now()))
        .map_err(|errors| call.invalid(&errors))?;
    call.store(records::correct_register_entry(&*call.services.store, &old, &corrected).await)?;
    tracing::info!(office_id = %office_id, entry_id = %id, by = %call.who.sub, "register entry corrected");
    Ok(Json(EntryStored { id, office: office_id, kind: corrected.kind }))
}

/// Deletes an entry (XFamilie 0806).
#[utoipa::path(delete, operation_id = "deleteRegisterEntry", path = "/api/v1/registers/{office}/entries/{id}", tag = tag::REGISTER,
    security(("staff" = []), ("machine" = [])),
    params(("office" = String, Path, example = "jugendamt-bremen"), ("id" = String, Path)), responses((status = 204, description = "Deleted.")))]
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
type Rows = Vec<(usize, Result<Value, &'static str>)>;

fn rows(content_type: &str, bytes: &[u8]) -> Result<Rows, &'static str> {
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

/// What an import stored, what it had stored already, and what it refused, by line.
#[derive(Serialize, ToSchema)]
pub struct ImportReport {
    pub accepted: Vec<AcceptedRow>,
    /// Rows stored before (by an earlier import of them, or earlier in this file): an import
    /// sent again after a lost answer stores nothing twice.
    pub duplicates: Vec<AcceptedRow>,
    pub refused: Vec<RefusedRow>,
    /// Set when the import ran out of time: the rows from this line on were not looked at yet.
    /// Send the same file again with `?from_line=` this line (the report covers the lines
    /// before it); null when every row is in the report.
    pub continue_from_line: Option<usize>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The first line to import (the `continue_from_line` of the answer before); lines before
    /// it are skipped.
    pub from_line: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AcceptedRow {
    pub line: usize,
    pub id: String,
}

#[derive(Serialize, ToSchema)]
pub struct RefusedRow {
    pub line: usize,
    /// A row that could not be read at all (`unreadable_row`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What is wrong with each field, as with a single entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
}

/// Imports many entries at once, as CSV (columns `child_given_names`, `child_family_name`,
/// `child_birth_date`, `child_birth_place`, `mother_given_names`, `mother_family_name`, `kind`,
/// and `parts` separated by `;`) or as JSON lines in the shape of a single entry; at most 4 MiB.
#[utoipa::path(post, operation_id = "importRegisterEntries", path = "/api/v1/registers/{office}/import", tag = tag::REGISTER,
    security(("staff" = []), ("machine" = [])), params(("office" = String, Path, example = "jugendamt-bremen"), ImportQuery),
    request_body(content((String = "text/csv"), (String = "application/x-ndjson")),
        description = "One entry per row or line."),
    responses(
        (status = 200, description = "Every row accepted, found stored already, or refused with its reasons; or, \
            when the time ran out, the rows before `continue_from_line`.", body = ImportReport),
        (status = 422, description = "Not readable as a whole: not UTF-8, or CSV without the columns \
            (`unreadable_import`); or a `from_line` that is no line number (`invalid_input`).", body = shared::http::ErrorBody),
    ))]
async fn import(
    call: StaffCall,
    Path(office_id): Path<String>,
    Query(query): Query<ImportQuery>,
    Extension(ImportBudget(budget)): Extension<ImportBudget>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ImportReport>, ApiError> {
    let started = Instant::now();
    check_access(&call, &office_id).await?;
    let (services, lang) = (&call.services, call.lang);
    let from_line = match query.from_line.as_deref().map(str::parse::<usize>) {
        None => 1,
        Some(Ok(line)) if line >= 1 => line,
        Some(_) => {
            let mut errors = shared::input::FieldErrors::default();
            errors.add("from_line", shared::domain::values::Problem::LineNumber);
            return Err(call.invalid(&errors));
        }
    };
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
    let mut report =
        ImportReport { accepted: Vec::new(), duplicates: Vec::new(), refused: Vec::new(), continue_from_line: None };
    let mut entries: Vec<(usize, RegisterEntry)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (line, row) in rows.into_iter().filter(|(line, _)| *line >= from_line) {
        let entry =
            row.map_err(|reason| RefusedRow { line, reason: Some(reason.to_owned()), fields: None }).and_then(|body| {
                parse_entry(&body, String::new(), &office_id, today).map_err(|errors| RefusedRow {
                    line,
                    reason: None,
                    fields: Some(field_messages(lang, &errors)),
                })
            });
        match entry {
            Ok(mut entry) => {
                entry.id = entry.content_id();
                if seen.insert(entry.id.clone()) {
                    entries.push((line, entry));
                } else {
                    report.duplicates.push(AcceptedRow { line, id: entry.id });
                }
            }
            Err(refused) => report.refused.push(refused),
        }
    }
    // A transaction's worth at a time; where one of them is stored already, one by one.
    for (n, chunk) in entries.chunks(shared::ports::MAX_WRITES).enumerate() {
        // At least one chunk per call, so that every call gets on.
        if n > 0 && started.elapsed() >= budget {
            let stop = chunk[0].0;
            report.continue_from_line = Some(stop);
            report.duplicates.retain(|row| row.line < stop);
            report.refused.retain(|row| row.line < stop);
            break;
        }
        let batch: Vec<RegisterEntry> = chunk.iter().map(|(_, entry)| entry.clone()).collect();
        match records::add_register_entries(store, &batch).await {
            Ok(()) => {
                report.accepted.extend(chunk.iter().map(|(line, e)| AcceptedRow { line: *line, id: e.id.clone() }))
            }
            Err(StoreError::ConditionFailed) => {
                for (line, entry) in chunk {
                    let row = AcceptedRow { line: *line, id: entry.id.clone() };
                    match records::add_register_entry(store, entry).await {
                        Ok(()) => report.accepted.push(row),
                        Err(StoreError::ConditionFailed) => report.duplicates.push(row),
                        Err(error) => return call.store(Err(error)),
                    }
                }
            }
            // What was stored before stays; the same file sent again stores the rest.
            Err(error) => return call.store(Err(error)),
        }
    }
    report.duplicates.sort_by_key(|row| row.line);
    let (accepted, duplicates, refused) = (report.accepted.len(), report.duplicates.len(), report.refused.len());
    let unfinished = report.continue_from_line.is_some();
    tracing::info!(office_id = %office_id, accepted, duplicates, refused, unfinished, by = %call.who.sub, "register import");
    Ok(Json(report))
}

#[cfg(test)]
mod tests {
    //! Generated hostile import files: whatever the bytes, reading them never panics, every row
    //! keeps its own line number, and every readable row reaches the entry rules as a body.

    use super::{CSV_COLUMNS, rows};
    use proptest::prelude::*;
    use shared::domain::register::parse_entry;
    use time::macros::date;

    /// Field text as a spreadsheet exports it, and as an attacker would: quotes, separators,
    /// line breaks, formula prefixes, byte-order marks and arbitrary characters.
    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("Mia".to_owned()),
            Just("2021-03-14".to_owned()),
            Just("nichtvorhanden".to_owned()),
            Just("=HYPERLINK(\"x\")".to_owned()),
            Just("\"a\"\"b\"".to_owned()),
            Just("\u{feff}".to_owned()),
            "[\\PC,;\"\\r\\n]{0,20}",
        ]
    }

    fn csv_file() -> impl Strategy<Value = Vec<u8>> {
        let header = prop_oneof![
            Just(CSV_COLUMNS.join(",")),
            Just(CSV_COLUMNS[..7].join(",")),
            prop::collection::vec(cell(), 0..9).prop_map(|cells| cells.join(",")),
        ];
        let record = prop::collection::vec(cell(), 0..10).prop_map(|cells| cells.join(","));
        (header, prop::collection::vec(record, 0..12))
            .prop_map(|(header, records)| format!("{header}\n{}", records.join("\n")).into_bytes())
    }

    fn jsonl_file() -> impl Strategy<Value = Vec<u8>> {
        let line = prop_oneof![
            Just(r#"{"child":{"given_names":"Mia","family_name":"Beispiel","birth_date":"2021-03-14","birth_place":"Bremen"},"mother":{"given_names":"Sophia","family_name":"Beispiel"},"kind":"nichtvorhanden"}"#.to_owned()),
            Just("{\"child\":".to_owned()),
            Just("[1,2,3]".to_owned()),
            Just("   ".to_owned()),
            "[\\PC]{0,40}",
        ];
        prop_oneof![
            prop::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n").into_bytes()),
            prop::collection::vec(any::<u8>(), 0..400),
        ]
    }

    fn assert_rows_reach_the_rules(content_type: &str, bytes: &[u8]) {
        let Ok(rows) = rows(content_type, bytes) else { return };
        let lines: Vec<usize> = rows.iter().map(|(line, _)| *line).collect();
        assert!(lines.windows(2).all(|pair| pair[0] < pair[1]), "line numbers increase: {lines:?}");
        for (_, row) in rows {
            if let Ok(body) = row {
                let _ = parse_entry(&body, "e-1".into(), "jugendamt-bremen", date!(2026 - 12 - 01));
            }
        }
    }

    proptest! {
        #[test]
        fn csv_imports_never_panic(bytes in csv_file()) {
            assert_rows_reach_the_rules("text/csv; charset=utf-8", &bytes);
        }

        #[test]
        fn jsonl_imports_never_panic(bytes in jsonl_file()) {
            assert_rows_reach_the_rules("application/x-ndjson", &bytes);
        }

        #[test]
        fn every_csv_record_is_reported_on_its_line(records in prop::collection::vec("[a-zA-Zäöü ]{1,12}", 1..20)) {
            let file = format!("{}\n{}\n", CSV_COLUMNS.join(","), records.join("\n"));
            let rows = rows("text/csv", file.as_bytes()).expect("a file with the columns");
            let lines: Vec<usize> = rows.iter().map(|(line, _)| *line).collect();
            prop_assert_eq!(lines, (2..records.len() + 2).collect::<Vec<_>>());
        }
    }
}
