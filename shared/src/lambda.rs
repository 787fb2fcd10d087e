//! The Lambda entrypoints: every function's `main` is one call of [`run_api`], [`run_step`] or
//! [`run_scheduled`].
//!
//! - An API function is its axum `Router`, served by lambda_http when `AWS_LAMBDA_RUNTIME_API` is
//!   set (on Lambda, or under a runtime API emulator), else as a plain HTTP server on
//!   `127.0.0.1:$PORT`.
//! - A queue function handles SQS batches and reports the messages that failed
//!   (`ReportBatchItemFailures`), which SQS delivers again and finally moves to the dead-letter
//!   queue.
//! - A scheduled function runs a job whenever EventBridge invokes it.
//! - A notification function handles the messages of an SNS topic it is subscribed to.
//!
//! Configuration comes only from the environment `template.yaml` sets: the resources (see
//! [`crate::aws::Resources`]), `PUBLIC_BASE_URL` for the certificate, and for each identity
//! provider whose tokens a function accepts `CITIZEN_ISSUER`/`CITIZEN_AUDIENCE`/`CITIZEN_JWKS_URL`
//! or the same with `STAFF_`; staff tokens of an office's own provider are accepted as the
//! offices are configured (see [`crate::office_idp`]). Logs are JSON lines with the Lambda
//! request id, never personal data.

use std::sync::Arc;

use aws_lambda_events::sns::SnsEvent;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use lambda_runtime::{LambdaEvent, service_fn};

use crate::auth::{FetchedIssuer, PrincipalKind, Verifier};
use crate::aws::{Adapters, ConfigError, Resources, required_env};
use crate::http;
use crate::jwks::JwksCache;
use crate::office_idp::OfficeIdentityProviders;
use crate::oidc::Discovery;
use crate::outbound::HttpClient;
use crate::ports::{BatchHandler, Clock, QueueMessage, RandomIds, SystemClock};
use crate::services::Services;
use crate::steps::{Step, StepHandler};

pub use lambda_runtime::Error;

/// Serves an API function's router to `callers` (whose tokens it takes: none for a public one).
pub fn run_api(router: Router<Services>, callers: &'static [PrincipalKind]) -> Result<(), Error> {
    run_api_with(callers, |verifier, _| async move { Ok((router, verifier)) })
}

/// Serves a router that needs setting up first: `make` gets the verifier of the environment and
/// the AWS SDK configuration, and returns the router with the verifier it is to use.
pub fn run_api_with<F, Fut>(callers: &'static [PrincipalKind], make: F) -> Result<(), Error>
where
    F: FnOnce(Verifier, aws_config::SdkConfig) -> Fut,
    Fut: Future<Output = Result<(Router<Services>, Verifier), Error>>,
{
    run(async move {
        let aws = aws_config::load_from_env().await;
        let (router, verifier) = make(verifier_from_env(callers)?, aws.clone()).await?;
        let (services, _) = services_from_env(verifier, &aws)?;
        let app = api(router, services);
        if on_lambda() {
            lambda_http::run(app).await
        } else {
            let port = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
            tracing::info!(address = %listener.local_addr()?, "serving");
            Ok(axum::serve(listener, app).await?)
        }
    })
}

/// Runs a step of the chain as a queue function; `make` builds the step from the services and
/// the SDK configuration (for clients of other services).
pub fn run_step<S: Step + 'static>(
    make: impl FnOnce(&Services, &aws_config::SdkConfig) -> Result<S, Error>,
) -> Result<(), Error> {
    run(async move {
        if !on_lambda() {
            // Outside Lambda the local runtime (`cargo run`, `BACKEND=aws`) polls the queues.
            return Err("AWS_LAMBDA_RUNTIME_API is not set: queue functions run on Lambda".into());
        }
        let aws = aws_config::load_from_env().await;
        let (services, resources) = services_from_env(Verifier::default(), &aws)?;
        let handler = StepHandler::new(make(&services, &aws)?, &services, resources.max_receives);
        let handler = &handler;
        lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
            Ok::<_, Error>(handle_batch(handler, event.payload).await)
        }))
        .await
    })
}

/// Runs `job` on every invocation (an EventBridge schedule; the event itself says nothing);
/// `make` sets up what the job works with, once, from the services and the SDK configuration.
pub fn run_scheduled<J, F, Fut>(
    make: impl FnOnce(Services, &aws_config::SdkConfig) -> Result<J, Error>,
    job: F,
) -> Result<(), Error>
where
    J: Clone,
    F: Fn(J) -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    run(async move {
        let aws = aws_config::load_from_env().await;
        let (services, _) = services_from_env(Verifier::default(), &aws)?;
        let worker = make(services, &aws)?;
        let (job, worker) = (&job, &worker);
        lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| job(worker.clone()))).await
    })
}

/// Runs `handle` on the message of each notification an SNS topic delivers. An error fails the
/// invocation: Lambda tries it again, then hands it to the function's dead-letter queue.
pub fn run_notifications<F, Fut>(handle: F) -> Result<(), Error>
where
    F: Fn(Services, String) -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    run(async move {
        let (services, _) = services_from_env(Verifier::default(), &aws_config::load_from_env().await)?;
        let (handle, services) = (&handle, &services);
        lambda_runtime::run(service_fn(move |event: LambdaEvent<SnsEvent>| async move {
            for record in event.payload.records {
                handle(services.clone(), record.sns.message).await?;
            }
            Ok::<_, Error>(())
        }))
        .await
    })
}

/// The router as a function serves it: with `/health`, the contract's 404 and 405, the
/// client's address from API Gateway's request context, and the services as state.
pub fn api(router: Router<Services>, services: Services) -> Router {
    http::contract_errors(
        router
            .route("/health", get(|| async { StatusCode::OK }))
            .fallback(http::not_found)
            .method_not_allowed_fallback(http::method_not_allowed)
            .with_state(services),
    )
    .layer(axum::middleware::from_fn(client_address))
}

/// API Gateway's `sourceIp` as the request's [`http::ClientAddress`].
async fn client_address(mut request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use lambda_http::request::RequestContext;
    let source = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.as_deref().and_then(|ip| ip.parse().ok()),
        _ => None,
    };
    if let Some(address) = source {
        request.extensions_mut().insert(http::ClientAddress(address));
    }
    next.run(request).await
}

/// One SQS batch through a queue function: the failed messages are reported by id, so SQS
/// deletes the others and delivers these again.
pub async fn handle_batch(handler: &dyn BatchHandler, event: SqsEvent) -> SqsBatchResponse {
    let batch = event
        .records
        .into_iter()
        .map(|record| QueueMessage {
            message_id: record.message_id.unwrap_or_default(),
            receipt: record.receipt_handle.unwrap_or_default(),
            body: record.body.unwrap_or_default(),
            receive_count: record.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1),
        })
        .collect::<Vec<_>>();
    tracing::info!(queue = handler.queue().as_str(), messages = batch.len(), "batch received");
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = handler
        .handle(batch)
        .await
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}

fn on_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// A single-threaded runtime: a Lambda instance handles one event at a time, and a fresh
/// thread pool would only lengthen the cold start.
fn run(main: impl Future<Output = Result<(), Error>>) -> Result<(), Error> {
    init_logs();
    let result = tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(main);
    if let Err(error) = &result {
        tracing::error!(%error, "function stopped");
    }
    result
}

/// JSON lines; the span list carries lambda_runtime's `requestId` and `xrayTraceId`. The level
/// comes from `RUST_LOG`, else from Lambda's log level setting, else `info`.
fn init_logs() {
    use tracing_subscriber::EnvFilter;
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().filter(|level| !level.is_empty());
    let filter = EnvFilter::try_from_default_env()
        .ok()
        .or_else(|| lambda_level.and_then(|level| EnvFilter::try_new(level.to_lowercase()).ok()))
        .unwrap_or_else(|| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_target(false)
        .with_current_span(false)
        .flatten_event(true)
        .init();
}

/// The services on the AWS adapters (SDK configuration `aws`), with the resources they were
/// built from.
pub fn services_from_env(
    verifier: Verifier,
    aws: &aws_config::SdkConfig,
) -> Result<(Services, Resources), ConfigError> {
    let resources = Resources::from_env()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let adapters = Adapters::with_config(aws, &resources, clock.clone());
    let services = Services::new(
        adapters.store,
        adapters.documents,
        adapters.queue,
        clock,
        Arc::new(RandomIds),
        Arc::new(verifier),
    )
    .with_audit_keys(adapters.audit_keys);
    Ok((services, resources))
}

/// Trusts the identity providers of `callers` (`CITIZEN_*` or `STAFF_*`: issuer, audience and
/// JWKS URL, all three required, so that a function missing them does not start rather than
/// refuse everyone), and the offices' own providers for staff; with `PUBLIC_BASE_URL`, staff
/// also by the sessions of the office sign-in ([`crate::auth::staff_sessions`]). Keys are fetched when first
/// needed and again when a token names a key the set lacks ([`crate::jwks`]): a rotation counts
/// at once.
pub fn verifier_from_env(callers: &[PrincipalKind]) -> Result<Verifier, ConfigError> {
    let mut issuers = Vec::new();
    for &kind in callers {
        let prefix = match kind {
            PrincipalKind::Citizen => "CITIZEN",
            PrincipalKind::Staff => "STAFF",
        };
        issuers.push(FetchedIssuer {
            issuer: required_env(&format!("{prefix}_ISSUER"))?,
            audience: required_env(&format!("{prefix}_AUDIENCE"))?,
            kind,
            jwks_url: required_env(&format!("{prefix}_JWKS_URL"))?,
        });
    }
    // The office sign-in's sessions, for the office's pages.
    if callers.contains(&PrincipalKind::Staff) {
        if let Ok(base) = std::env::var("PUBLIC_BASE_URL") {
            issuers.push(crate::auth::staff_sessions(&base));
        }
    }
    let clock = Arc::new(SystemClock);
    let client = HttpClient::https_only();
    let keys = Arc::new(JwksCache::new(Arc::new(client), clock.clone()));
    let discovery = Arc::new(Discovery::new(client, clock.clone()));
    let offices = OfficeIdentityProviders::new(Arc::new(client), clock).discovering(discovery);
    Ok(Verifier::default().fetching(issuers, keys).with_office_providers(Arc::new(offices)))
}
