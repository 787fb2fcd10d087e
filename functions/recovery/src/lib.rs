//! Nothing stuck: the sweep that hands on again every request whose hand-on was lost (run every
//! minute, `src/bin/sweep.rs`), and the operators' retry of failed requests
//! (`POST /api/v1/operators/requests/{id}/retry`; the same for the CLI
//! `sorgeregister requests retry`). The rules are `shared::steps`'s.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::{Json, Router};
use serde::Serialize;
use shared::domain::request::Status;
use shared::http::{ApiError, StaffCall};
use shared::openapi::tag;
use shared::services::Services;
use shared::steps::{RetryError, SweepReport, retry};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How long a request may wait for a step on AWS before the sweep hands it on again: longer
/// than a step's deliveries with their visibility timeouts take to end in the dead-letter queue.
pub const DEADLINE_ON_AWS: time::Duration = time::Duration::minutes(20);

/// The operations of the API this function serves, documented.
pub fn api() -> OpenApiRouter<Services> {
    OpenApiRouter::new().routes(routes!(retry_request))
}

pub fn router() -> Router<Services> {
    Router::from(api())
}

/// A failed request, tried again.
#[derive(Serialize, ToSchema)]
pub struct Retried {
    pub id: String,
    /// The state it is in again: the one it failed in.
    pub status: Status,
}

/// Tries a failed request again from the step it failed in (operators only).
#[utoipa::path(post, operation_id = "retryRequest", path = "/api/v1/operators/requests/{id}/retry", tag = tag::OPERATOR,
    security(("staff" = [])), params(("id" = String, Path)),
    responses(
        (status = 200, description = "Back in the state it failed in and handed on to its step.", body = Retried),
        (status = 409, description = "The request has not failed (`not_failed`), or changed meanwhile \
            (`changed_meanwhile`).", body = shared::http::ErrorBody),
    ))]
async fn retry_request(call: StaffCall, Path(id): Path<String>) -> Result<Json<Retried>, ApiError> {
    if !call.who.is_operator() {
        return Err(call.forbidden());
    }
    match retry(&call.services, &id, &call.who.sub).await {
        Ok(status) => {
            tracing::info!(request_id = %id, operator = %call.who.sub, status = status.as_str(), "failed request retried");
            Ok(Json(Retried { id, status }))
        }
        Err(RetryError::NotFound) => Err(call.not_found()),
        Err(RetryError::NotFailed) => Err(call.error(StatusCode::CONFLICT, "not_failed")),
        Err(RetryError::Changed) => Err(call.error(StatusCode::CONFLICT, "changed_meanwhile")),
        Err(RetryError::Store(error)) => call.store(Err(error)),
    }
}

/// The sweep's report as a CloudWatch embedded-metric log line: `OverdueHandOns` feeds the
/// alarm on requests stuck past their deadline.
pub fn metric_line(report: &SweepReport, at: time::OffsetDateTime) -> String {
    let timestamp = at.unix_timestamp_nanos() / 1_000_000;
    serde_json::json!({
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": "Sorgeregister",
                "Dimensions": [[]],
                "Metrics": [
                    {"Name": "OverdueHandOns", "Unit": "Count"},
                    {"Name": "HandedOnAgain", "Unit": "Count"},
                    {"Name": "FailedWithoutProgress", "Unit": "Count"},
                    {"Name": "SweepUnfinished", "Unit": "Count"},
                ],
            }],
        },
        "OverdueHandOns": report.overdue,
        "HandedOnAgain": report.handed_on,
        "FailedWithoutProgress": report.failed,
        "SweepUnfinished": report.unfinished,
    })
    .to_string()
}
