//! The pre-check (`POST /api/v1/precheck`) and the public office directory
//! (`GET /api/v1/offices`); and the citizen's first pages ([`pages`]): start page, questions and
//! answers, accessibility statement, and the pre-check one question at a time.

pub mod pages;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use shared::domain::precheck::{BlockReason, PrecheckAnswers, assess, parse_answers};
use shared::domain::values::Postcode;
use shared::http::{ApiError, JsonBody, MunicipalityView, OfficeContact, choices_detail};
use shared::input::FieldErrors;
use shared::openapi::{PUBLISHED, tag};
use shared::services::Services;
use shared::texts::{Lang, text};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The operations of the API this function serves, documented.
pub fn api() -> OpenApiRouter<Services> {
    OpenApiRouter::new().routes(routes!(precheck)).routes(routes!(offices)).routes(routes!(openapi))
}

/// The API, the pages, and what every page uses (the stylesheet, signing out): the start page's
/// function serves those.
pub fn router() -> Router<Services> {
    Router::from(api()).merge(pages::router()).merge(shared::web::router())
}

/// The outcome of the pre-check.
#[derive(Serialize, ToSchema)]
pub struct PrecheckAnswer {
    /// Whether she can get the certificate through this service.
    pub eligible: bool,
    /// Why not, every reason at once.
    pub reasons: Vec<Reason>,
    /// The office of her residence, if the platform knows it (connected or not).
    pub office: Option<OfficeContact>,
}

#[derive(Serialize, ToSchema)]
pub struct Reason {
    pub code: BlockReason,
    /// What it means and what to do instead, in the caller's language.
    pub message: String,
}

/// May she get the certificate through this service? With the office of her residence.
#[utoipa::path(post, operation_id = "precheck", path = "/api/v1/precheck", tag = tag::PUBLIC, request_body = PrecheckAnswers,
    responses((status = 200, description = "The outcome; `eligible: false` names every reason.", body = PrecheckAnswer)))]
async fn precheck(
    State(services): State<Services>,
    lang: Lang,
    JsonBody(body): JsonBody,
) -> Result<Json<PrecheckAnswer>, ApiError> {
    let answers = parse_answers(&body).map_err(|errors| ApiError::invalid(lang, &errors))?;
    let directory = services.directory.get().await.map_err(|e| ApiError::store(lang, e))?;
    let outcome = assess(&answers, &directory).map_err(|unresolved| {
        let mut errors = FieldErrors::default();
        errors.add(unresolved.field, unresolved.problem);
        let error = ApiError::invalid(lang, &errors);
        if unresolved.choices.is_empty() {
            error
        } else {
            error.with_details(choices_detail([(unresolved.field, unresolved.choices.iter().copied())]))
        }
    })?;
    let reasons = outcome
        .reasons
        .iter()
        .map(|reason| Reason { code: *reason, message: text(lang, &format!("reason.{}", reason.code())).to_owned() })
        .collect();
    Ok(Json(PrecheckAnswer {
        eligible: outcome.eligible(),
        reasons,
        office: outcome.office.as_ref().map(OfficeContact::from),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OfficeQuery {
    /// Only the offices serving this postcode, with the municipalities they serve it for.
    #[param(pattern = "^[0-9]{5}$", example = "28195")]
    postcode: Option<String>,
}

/// An office of the directory.
#[derive(Serialize, ToSchema)]
pub struct OfficeListing {
    #[serde(flatten)]
    pub contact: OfficeContact,
    /// With `?postcode=`: the municipalities of that postcode the office serves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub municipalities: Option<Vec<MunicipalityView>>,
}

/// The offices of the platform, or those serving a postcode.
#[utoipa::path(get, operation_id = "listOffices", path = "/api/v1/offices", tag = tag::PUBLIC, params(OfficeQuery),
    responses((status = 200, body = Vec<OfficeListing>)))]
async fn offices(
    State(services): State<Services>,
    lang: Lang,
    Query(query): Query<OfficeQuery>,
) -> Result<Json<Vec<OfficeListing>>, ApiError> {
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
        None => directory
            .offices()
            .iter()
            .map(|office| OfficeListing { contact: office.into(), municipalities: None })
            .collect(),
        Some(postcode) => {
            let mut listed: Vec<OfficeListing> = Vec::new();
            for (municipality, office) in directory.offices_for_postcode(postcode.as_str()) {
                let index = match listed.iter().position(|listing| listing.contact.id == office.id) {
                    Some(index) => index,
                    None => {
                        listed.push(OfficeListing { contact: office.into(), municipalities: Some(Vec::new()) });
                        listed.len() - 1
                    }
                };
                if let (Some(municipality), Some(list)) = (municipality, listed[index].municipalities.as_mut()) {
                    list.push(municipality.into());
                }
            }
            listed
        }
    };
    Ok(Json(listed))
}

/// This document: the OpenAPI 3.1 description of `/api/v1`.
#[utoipa::path(get, operation_id = "openapi", path = "/api/v1/openapi.json", tag = tag::PUBLIC,
    responses((status = 200, description = "The OpenAPI document.", content_type = "application/json", body = Object)))]
async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], PUBLISHED)
}
