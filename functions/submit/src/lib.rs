//! Submission of an application (`POST /api/v1/requests`): validates it, routes it to the
//! office of the mother's residence, stores it with its idempotency key and the removal of its
//! draft in one transaction, and hands it to the document pipeline.

use aws_lc_rs::digest::{SHA256, digest};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::post};
use serde_json::{Value, json};
use shared::auth::CitizenClaims;
use shared::domain::application::parse_submission;
use shared::domain::request::{LoginIdentity, Request, Status};
use shared::domain::values::{ClientId, Problem, parse_date, today_in_germany};
use shared::http::{ApiError, Citizen, JsonBody, Services};
use shared::input::FieldErrors;
use shared::pipeline::hand_on;
use shared::ports::{QueueName, StoreError};
use shared::records::{self, Versioned};
use shared::texts::Lang;

pub fn router() -> Router<Services> {
    Router::new().route("/api/v1/requests", post(submit))
}

const IDEMPOTENCY_HEADER: &str = "idempotency-key";

fn invalid(lang: Lang, path: &str, problem: Problem) -> ApiError {
    let mut errors = FieldErrors::default();
    errors.add(path, problem);
    ApiError::invalid(lang, &errors)
}

/// A fingerprint of the body, to tell a retry from a different application under the same key.
fn fingerprint(body: &Value) -> String {
    // serde_json keeps object keys sorted, so equal JSON gives equal text.
    digest(&SHA256, body.to_string().as_bytes()).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn login_identity(citizen: &CitizenClaims) -> LoginIdentity {
    LoginIdentity {
        subject: citizen.sub.clone(),
        given_names: citizen.given_name.clone(),
        family_name: citizen.family_name.clone(),
        birth_date: citizen.birthdate.as_deref().and_then(|d| parse_date(d).ok()),
        trust_level: citizen.trust_level,
    }
}

fn accepted(request_id: &str, status: Status) -> Response {
    let mut response = (StatusCode::ACCEPTED, Json(json!({"id": request_id, "status": status}))).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/requests/{request_id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

async fn submit(
    State(services): State<Services>,
    lang: Lang,
    Citizen(citizen): Citizen,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let store = &*services.store;
    let idempotency_key = match headers.get(IDEMPOTENCY_HEADER) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| Problem::IdFormat)
                .and_then(ClientId::parse)
                .map_err(|problem| invalid(lang, "Idempotency-Key", problem))?,
        ),
    };
    let fingerprint = fingerprint(&body);
    if let Some(key) = &idempotency_key {
        if let Some(response) = replay(&services, lang, &citizen.sub, key, &fingerprint).await? {
            return Ok(response);
        }
    }

    let now = services.clock.now();
    let submission =
        parse_submission(&body, today_in_germany(now)).map_err(|errors| ApiError::invalid(lang, &errors))?;
    let application = submission.application;
    let directory = records::directory(store).await.map_err(|e| ApiError::store(lang, e))?;
    let office = directory
        .residence_office(application.mother.address.postcode.as_str())
        .ok_or_else(|| invalid(lang, "mother.address.postcode", Problem::NoOfficeForPostcode))?;
    if !office.connected {
        return Err(invalid(lang, "mother.address.postcode", Problem::OfficeNotConnected));
    }
    let register_office = directory
        .register_office(application.child.birth_place.as_str(), application.child.born_abroad)
        .map(|o| o.id.clone());
    let request = Request::submitted(
        services.ids.new_id(),
        login_identity(&citizen),
        office.id.clone(),
        register_office,
        application,
        now,
    );

    let idempotency = idempotency_key.as_ref().map(|key| (key, fingerprint.as_str()));
    match records::create_request(store, &request, idempotency, submission.draft_id.as_ref(), now).await {
        Ok(()) => {}
        // A concurrent retry with the same key won the race: answer as it did.
        Err(StoreError::ConditionFailed) if idempotency_key.is_some() => {
            let key = idempotency_key.as_ref().expect("checked above");
            return replay(&services, lang, &citizen.sub, key, &fingerprint)
                .await?
                .ok_or_else(|| ApiError::internal(lang));
        }
        Err(e) => return Err(ApiError::store(lang, e)),
    }
    tracing::info!(request_id = %request.id, office_id = %request.office_id, "request submitted");
    start_pipeline(&services, &request.id).await;
    Ok(accepted(&request.id, request.status))
}

/// The answer to a repeated idempotency key: the same request, or 422 if the body differs.
async fn replay(
    services: &Services,
    lang: Lang,
    owner: &str,
    key: &ClientId,
    fingerprint: &str,
) -> Result<Option<Response>, ApiError> {
    let store = &*services.store;
    let Some(record) = records::idempotency_record(store, owner, key).await.map_err(|e| ApiError::store(lang, e))?
    else {
        return Ok(None);
    };
    if record.fingerprint != fingerprint {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", lang));
    }
    let Some(Versioned { value: request, .. }) =
        records::request(store, &record.request_id).await.map_err(|e| ApiError::store(lang, e))?
    else {
        return Err(ApiError::internal(lang));
    };
    // The first attempt may have stored the request but not reached the queue; steps are
    // idempotent, so handing it on again is safe.
    if request.status == Status::Submitted {
        start_pipeline(services, &request.id).await;
    }
    Ok(Some(accepted(&request.id, request.status)))
}

async fn start_pipeline(services: &Services, request_id: &str) {
    if let Err(error) = hand_on(&*services.queue, QueueName::Submitted, request_id).await {
        // The request is stored; a retry of the submission (same Idempotency-Key) hands it on again.
        tracing::error!(%request_id, %error, "could not queue the submitted request");
    }
}
