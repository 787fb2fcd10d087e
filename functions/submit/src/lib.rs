//! Submission of an application (`POST /api/v1/requests`): validates it, routes it to the
//! office of the mother's residence, stores it with its idempotency key and the removal of its
//! draft in one transaction, and hands it to the document pipeline. The form's submit button
//! and its confirmation page ([`pages`]) use the same [`submit_application`].

pub mod pages;

use std::collections::BTreeMap;

use aws_lc_rs::digest::{SHA256, digest};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;
use shared::auth::CitizenClaims;
use shared::domain::application::{SubmissionBody, parse_submission};
use shared::domain::places::Municipality;
use shared::domain::request::{LoginIdentity, Request, Status};
use shared::domain::routing::route;
use shared::domain::upload::Upload;
use shared::domain::values::{ClientId, Problem, parse_date, today_in_germany};
use shared::http::{ApiError, CitizenCall, JsonBody, choices_detail};
use shared::input::FieldErrors;
use shared::openapi::tag;
use shared::ports::{DocumentError, QueueName, StoreError};
use shared::records::{self, Versioned};
use shared::services::Services;
use shared::steps::{hand_on, tell_her};
use shared::texts::Lang;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The operations of the API this function serves, documented.
pub fn api() -> OpenApiRouter<Services> {
    OpenApiRouter::new().routes(routes!(submit))
}

/// The API and the pages.
pub fn router() -> Router<Services> {
    Router::from(api()).merge(pages::router())
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
    hex::encode(digest(&SHA256, body.to_string().as_bytes()))
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

/// A stored submission: the request and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Accepted {
    pub id: String,
    pub status: Status,
}

/// Municipalities to choose from, by the field that asks for one.
pub type Choices = BTreeMap<String, Vec<Municipality>>;

/// Why a submission was not stored.
#[derive(Debug)]
pub enum SubmitError {
    /// The caller's fault: the fields that are wrong, and where a place names several
    /// municipalities, the ones to choose from.
    Invalid(FieldErrors, Choices),
    /// The idempotency key was used before for a different application.
    KeyReused,
    Store(StoreError),
    Documents(DocumentError),
    /// A stored idempotency record points nowhere.
    Inconsistent,
}

impl From<StoreError> for SubmitError {
    fn from(error: StoreError) -> Self {
        SubmitError::Store(error)
    }
}

impl From<DocumentError> for SubmitError {
    fn from(error: DocumentError) -> Self {
        SubmitError::Documents(error)
    }
}

fn invalid_field(path: &str, problem: Problem) -> SubmitError {
    let mut errors = FieldErrors::default();
    errors.add(path, problem);
    SubmitError::Invalid(errors, Choices::new())
}

/// Submits an application for `citizen`: validates `body` (the contract's shape), routes it to
/// the office of the mother's residence, moves her `uploads` to the request, stores it with its
/// idempotency key and the removal of its draft in one transaction, and hands it to the
/// document pipeline. The JSON API and the form's submit button both come here; `lang` is
/// the language she applied in, which her mails are written in.
pub async fn submit_application(
    services: &Services,
    citizen: &CitizenClaims,
    lang: Lang,
    body: &Value,
    idempotency_key: Option<&ClientId>,
    uploads: &[Upload],
) -> Result<Accepted, SubmitError> {
    let store = &*services.store;
    let fingerprint = fingerprint(body);
    if let Some(key) = idempotency_key {
        if let Some(accepted) = replay(services, &citizen.sub, key, &fingerprint).await? {
            return Ok(accepted);
        }
    }

    let now = services.clock.now();
    let submission =
        parse_submission(body, today_in_germany(now)).map_err(|errors| SubmitError::Invalid(errors, Choices::new()))?;
    let directory = services.directory.get().await?;
    let routed = route(&submission, &directory).map_err(|unresolved| {
        let mut errors = FieldErrors::default();
        let mut choices = Choices::new();
        for place in unresolved {
            errors.add(place.field, place.problem);
            if !place.choices.is_empty() {
                choices.insert(place.field.to_owned(), place.choices.into_iter().cloned().collect());
            }
        }
        SubmitError::Invalid(errors, choices)
    })?;
    let mut application = submission.application.clone();
    application.mother.address.municipality = routed.residence_municipality.clone();
    application.child.birth_municipality = routed.birth_municipality.clone();
    application.contact.language = lang;
    let mut request = Request::submitted(
        services.ids.new_id(),
        login_identity(citizen),
        routed.issuing_office.id.clone(),
        routed.register_office.map(|office| office.id.clone()),
        application,
        now,
    );
    // Loaded before the uploads are copied: without it nothing can be stored.
    let audit_key = services.audit_keys.key().await?;
    request.documents.uploads = copy_uploads(services, &request, uploads).await?;

    let idempotency = idempotency_key.map(|key| (key, fingerprint.as_str()));
    match records::create_request(store, &request, idempotency, submission.draft_id.as_ref(), audit_key, now).await {
        Ok(()) => {}
        // A concurrent retry with the same key won the race: answer as it did.
        Err(StoreError::ConditionFailed) if idempotency_key.is_some() => {
            discard(services, &request.documents.uploads).await;
            let key = idempotency_key.expect("checked above");
            return replay(services, &citizen.sub, key, &fingerprint).await?.ok_or(SubmitError::Inconsistent);
        }
        // An error may come after the commit (its answer lost): ask the store before discarding
        // the documents of what may be a stored request.
        Err(e) => match records::request(store, &request.id).await {
            Ok(Some(_)) => tracing::warn!(request_id = %request.id, error = %e, "stored despite the error"),
            _ => {
                discard(services, &request.documents.uploads).await;
                return Err(e.into());
            }
        },
    }
    // The request has its own copies now; the draft's are no longer needed.
    discard(services, uploads).await;
    tracing::info!(request_id = %request.id, office_id = %request.office_id, "request submitted");
    start_pipeline(services, &request.id).await;
    Ok(Accepted { id: request.id, status: request.status })
}

/// Copies the draft's uploads next to the request's other documents, where the office reads
/// them and its retention period applies.
async fn copy_uploads(services: &Services, request: &Request, uploads: &[Upload]) -> Result<Vec<Upload>, SubmitError> {
    let mut copies = Vec::new();
    for upload in uploads {
        let Some(bytes) = services.documents.get(&upload.key).await? else {
            discard(services, &copies).await;
            return Err(invalid_field(&format!("uploads.{}", upload.kind.code()), Problem::Required));
        };
        let key = format!(
            "{}/requests/{}/nachweis-{}.{}",
            request.office_id,
            request.id,
            upload.kind.code(),
            upload.file_type.extension()
        );
        services.documents.put(&key, bytes, upload.file_type.content_type()).await?;
        copies.push(Upload { key, ..upload.clone() });
    }
    Ok(copies)
}

/// Deletes documents no longer referenced; a leftover is only storage, so failures are logged.
async fn discard(services: &Services, uploads: &[Upload]) {
    for upload in uploads {
        if let Err(error) = services.documents.delete(&upload.key).await {
            tracing::warn!(%error, "an upload could not be deleted");
        }
    }
}

/// Submits her application. It is routed to the office of her residence and, where the
/// register allows, certified within seconds; `GET /api/v1/requests/{id}` tells where it stands.
#[utoipa::path(post, operation_id = "submitRequest", path = "/api/v1/requests", tag = tag::CITIZEN, security(("citizen" = [])),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "1–64 of `A–Z a–z 0–9 - _`: a retry with the same key and body answers as the first time.")),
    request_body = SubmissionBody,
    responses(
        (status = 202, description = "Stored and on its way.", body = Accepted,
            headers(("Location" = String, description = "The request's status: `/api/v1/requests/{id}`.")),
            links(
                ("status" = (operation_id = "getRequestStatus", parameters(("id" = "$response.body#/id")))),
                ("messages" = (operation_id = "listMessages", parameters(("id" = "$response.body#/id")))),
                ("write" = (operation_id = "sendMessage", parameters(("id" = "$response.body#/id")))),
                ("certificate" = (operation_id = "downloadCertificate", parameters(("id" = "$response.body#/id")))),
            )),
        (status = 422, description = "Invalid input (`invalid_input`, with `fields`; where a place names several \
            municipalities, `details.choices` lists them), or the key was used for another application \
            (`idempotency_key_reused`).", body = shared::http::ErrorBody),
    ))]
async fn submit(call: CitizenCall, headers: HeaderMap, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    let lang = call.lang;
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
    match submit_application(&call.services, &call.who, lang, &body, idempotency_key.as_ref(), &[]).await {
        Ok(accepted) => Ok(accepted_response(&accepted)),
        Err(SubmitError::Invalid(errors, choices)) if choices.is_empty() => Err(ApiError::invalid(lang, &errors)),
        Err(SubmitError::Invalid(errors, choices)) => Err(ApiError::invalid(lang, &errors)
            .with_details(choices_detail(choices.iter().map(|(field, list)| (field.as_str(), list))))),
        Err(SubmitError::KeyReused) => {
            Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", lang))
        }
        Err(SubmitError::Store(error)) => Err(ApiError::store(lang, error)),
        Err(SubmitError::Documents(error)) => {
            tracing::error!(%error, "document store failed");
            Err(ApiError::internal(lang))
        }
        Err(SubmitError::Inconsistent) => Err(ApiError::internal(lang)),
    }
}

fn accepted_response(accepted: &Accepted) -> Response {
    let mut response = (StatusCode::ACCEPTED, Json(accepted)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/requests/{}", accepted.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// The answer to a repeated idempotency key: the same request, or an error if the body differs.
async fn replay(
    services: &Services,
    owner: &str,
    key: &ClientId,
    fingerprint: &str,
) -> Result<Option<Accepted>, SubmitError> {
    let store = &*services.store;
    let Some(record) = records::idempotency_record(store, owner, key).await? else {
        return Ok(None);
    };
    if record.fingerprint != fingerprint {
        return Err(SubmitError::KeyReused);
    }
    let Some(Versioned { value: request, .. }) = records::request(store, &record.request_id).await? else {
        return Err(SubmitError::Inconsistent);
    };
    // The first attempt may have stored the request but not reached the queue; steps are
    // idempotent, so handing it on again is safe.
    if request.status == Status::Submitted {
        start_pipeline(services, &request.id).await;
    }
    Ok(Some(Accepted { id: request.id, status: request.status }))
}

async fn start_pipeline(services: &Services, request_id: &str) {
    if let Err(error) = hand_on(&*services.queue, QueueName::Submitted, request_id).await {
        // The request is stored with its hand-on: the sweep sends it (or a retried submission).
        tracing::warn!(%request_id, %error, "submitted request not queued; the sweep hands it on");
    }
    tell_her(&*services.queue, request_id).await;
}
