//! The pre-check (`POST /api/v1/precheck`) and the public office directory
//! (`GET /api/v1/offices`); and the citizen's first pages ([`pages`]): start page, questions and
//! answers, accessibility statement, and the pre-check one question at a time.

pub mod pages;

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::domain::precheck::{assess, parse_answers};
use shared::domain::values::Postcode;
use shared::http::{ApiError, JsonBody, municipality_view, office_contact};
use shared::input::FieldErrors;
use shared::services::Services;
use shared::texts::{Lang, text};

/// The API, the pages, and what every page uses (the stylesheet, signing out): the start page's
/// function serves those.
pub fn router() -> Router<Services> {
    Router::new()
        .route("/api/v1/precheck", post(precheck))
        .route("/api/v1/offices", get(offices))
        .merge(pages::router())
        .merge(shared::web::router())
}

async fn precheck(
    State(services): State<Services>,
    lang: Lang,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let answers = parse_answers(&body).map_err(|errors| ApiError::invalid(lang, &errors))?;
    let directory = services.directory.get().await.map_err(|e| ApiError::store(lang, e))?;
    let outcome = assess(&answers, &directory).map_err(|unresolved| {
        let mut errors = FieldErrors::default();
        errors.add(unresolved.field, unresolved.problem);
        let choices: Vec<Value> = unresolved.choices.iter().map(|m| municipality_view(m)).collect();
        let error = ApiError::invalid(lang, &errors);
        if choices.is_empty() { error } else { error.with_details(json!({"choices": {unresolved.field: choices}})) }
    })?;
    let reasons: Vec<Value> = outcome
        .reasons
        .iter()
        .map(|reason| json!({"code": reason.code(), "message": text(lang, &format!("reason.{}", reason.code()))}))
        .collect();
    Ok(Json(json!({
        "eligible": outcome.eligible(),
        "reasons": reasons,
        "office": outcome.office.as_ref().map(office_contact),
    })))
}

#[derive(Deserialize)]
struct OfficeQuery {
    postcode: Option<String>,
}

async fn offices(
    State(services): State<Services>,
    lang: Lang,
    Query(query): Query<OfficeQuery>,
) -> Result<Json<Value>, ApiError> {
    let postcode = match query.postcode.as_deref() {
        None => None,
        Some(raw) => {
            let mut errors = FieldErrors::default();
            let parsed = errors.take("postcode", Postcode::parse(raw));
            Some(errors.finish(parsed).map_err(|errors| ApiError::invalid(lang, &errors))?)
        }
    };
    let directory = services.directory.get().await.map_err(|e| ApiError::store(lang, e))?;
    let listed = match &postcode {
        None => directory.offices().iter().map(office_contact).collect(),
        // With the municipalities of the postcode each office serves it for.
        Some(postcode) => {
            let mut listed: Vec<Value> = Vec::new();
            for (municipality, office) in directory.offices_for_postcode(postcode.as_str()) {
                let known = listed.iter_mut().find(|view| view["id"] == office.id.as_str());
                let view = match known {
                    Some(view) => view,
                    None => {
                        let mut view = office_contact(office);
                        view["municipalities"] = json!([]);
                        listed.push(view);
                        listed.last_mut().expect("just pushed")
                    }
                };
                if let (Some(municipality), Some(list)) = (municipality, view["municipalities"].as_array_mut()) {
                    list.push(municipality_view(municipality));
                }
            }
            listed
        }
    };
    Ok(Json(Value::Array(listed)))
}
