//! Municipalities subscribe their youth welfare office as a tenant (`POST /api/v1/tenants`,
//! `PUT /api/v1/tenants/{id}`, operators only; the same rules for the operators' CLI
//! `sorgeregister tenant add <file>`). Routing and the pre-check use a tenant at once.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;

use axum::Extension;
use shared::domain::office::{
    Office, Overlap, ProviderAddresses, client_secret, client_secret_name, overlaps, parse_office,
};
use shared::http::{ApiError, JsonBody, StaffCall};
use shared::input::FieldErrors;
use shared::openapi::tag;
use shared::ports::SecretStore;
use shared::ports::StoreError;
use shared::records;
use shared::services::Services;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The operations of the API this function serves, documented.
pub fn api() -> OpenApiRouter<Services> {
    OpenApiRouter::new().routes(routes!(create)).routes(routes!(replace))
}

pub fn router(settings: TenantSettings) -> Router<Services> {
    Router::from(api()).layer(Extension(settings))
}

/// Where the client secrets of offices' providers are kept, and which provider addresses an
/// office may name (https; in local mode loopback http too).
#[derive(Clone)]
pub struct TenantSettings {
    pub secrets: Arc<dyn SecretStore>,
    pub provider_addresses: ProviderAddresses,
}

impl TenantSettings {
    /// Secrets as files in `folder` (local mode; tests).
    pub fn in_folder(folder: std::path::PathBuf, provider_addresses: ProviderAddresses) -> TenantSettings {
        TenantSettings { secrets: Arc::new(shared::embedded::FsSecretStore::new(folder)), provider_addresses }
    }
}

/// Whether saving may create, replace, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    CreateOnly,
    CreateOrReplace,
}

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("invalid tenant")]
    Invalid(FieldErrors),
    #[error("the area overlaps with other offices")]
    Overlap(Vec<Overlap>),
    #[error("a tenant with this id exists already")]
    Exists,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the client secret could not be kept: {0}")]
    Secret(String),
}

/// Validates and stores a tenant; refuses areas that belong to another office. Reads the
/// offices afresh, so that an office another process just stored counts, and the change counts
/// at once in this process.
/// A client secret of the office's provider goes to the secret store first (never into the
/// record): an office is stored only with its secret in place.
pub async fn save_tenant(
    services: &Services,
    settings: &TenantSettings,
    body: &Value,
    mode: Mode,
) -> Result<Office, TenantError> {
    services.directory.invalidate();
    let directory = services.directory.get().await?;
    let office = parse_office(body, directory.places(), settings.provider_addresses).map_err(TenantError::Invalid)?;
    let found = overlaps(&directory, &office);
    if !found.is_empty() {
        return Err(TenantError::Overlap(found));
    }
    if let Some(secret) = client_secret(body) {
        let name = client_secret_name(&office.id);
        settings.secrets.put(&name, secret.as_bytes()).await.map_err(|e| TenantError::Secret(e.to_string()))?;
    }
    let stored = records::put_office(&*services.store, &office, mode == Mode::CreateOnly).await?;
    services.directory.invalidate();
    if !stored {
        return Err(TenantError::Exists);
    }
    Ok(office)
}

fn operators_only(call: &StaffCall) -> Result<(), ApiError> {
    if call.who.is_operator() { Ok(()) } else { Err(call.forbidden()) }
}

fn answer(
    call: &StaffCall,
    result: Result<Office, TenantError>,
    created: StatusCode,
) -> Result<(StatusCode, Json<Office>), ApiError> {
    match result {
        Ok(office) => {
            tracing::info!(office_id = %office.id, "tenant saved");
            Ok((created, Json(office)))
        }
        Err(TenantError::Invalid(errors)) => Err(call.invalid(&errors)),
        Err(TenantError::Overlap(found)) => {
            Err(call.error(StatusCode::UNPROCESSABLE_ENTITY, "area_overlap").with_details(json!(found)))
        }
        Err(TenantError::Exists) => Err(call.error(StatusCode::CONFLICT, "conflict")),
        Err(TenantError::Store(e)) => call.store(Err(e)),
        Err(TenantError::Secret(reason)) => {
            tracing::error!(%reason, "tenant not saved");
            Err(ApiError::internal(call.lang))
        }
    }
}

/// Subscribes an office as a tenant. Its municipalities are named by key (`{"ags"}`), or by
/// name where the name is unique in the directory; its area must not overlap another office's.
#[utoipa::path(post, operation_id = "createTenant", path = "/api/v1/tenants", tag = tag::OPERATOR, security(("staff" = [])),
    request_body = Office,
    responses(
        (status = 201, description = "Stored; routing and the pre-check use it at once.", body = Office),
        (status = 409, description = "An office with this id exists (`conflict`).", body = shared::http::ErrorBody),
        (status = 422, description = "Invalid (`invalid_input`), or the area overlaps another office's \
            (`area_overlap`, the overlaps in `details`).", body = shared::http::ErrorBody),
    ))]
async fn create(
    call: StaffCall,
    Extension(settings): Extension<TenantSettings>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Office>), ApiError> {
    operators_only(&call)?;
    answer(&call, save_tenant(&call.services, &settings, &body, Mode::CreateOnly).await, StatusCode::CREATED)
}

/// Creates or replaces the office `id` (the body's `id` must be the same).
#[utoipa::path(put, operation_id = "replaceTenant", path = "/api/v1/tenants/{id}", tag = tag::OPERATOR, security(("staff" = [])),
    params(("id" = String, Path)), request_body = Office,
    responses(
        (status = 200, description = "Stored.", body = Office),
        (status = 422, description = "Invalid (`invalid_input`), or the area overlaps another office's \
            (`area_overlap`).", body = shared::http::ErrorBody),
    ))]
async fn replace(
    call: StaffCall,
    Extension(settings): Extension<TenantSettings>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Office>), ApiError> {
    operators_only(&call)?;
    if body.get("id").and_then(Value::as_str) != Some(id.as_str()) {
        let mut errors = FieldErrors::default();
        errors.add("id", shared::domain::values::Problem::IdFormat);
        return Err(call.invalid(&errors));
    }
    answer(&call, save_tenant(&call.services, &settings, &body, Mode::CreateOrReplace).await, StatusCode::OK)
}
