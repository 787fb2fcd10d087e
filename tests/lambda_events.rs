//! The Lambda entrypoints fed with the sample events in `events/`: API Gateway HTTP API (payload
//! 2.0) requests through lambda_http into each function's router, and SQS batches through each
//! queue function, in the order of the chain: a request is submitted, prepared, checked against
//! the register and certified, and then found by its owner, the office and a public check.
//!
//! The events are as API Gateway and SQS deliver them; only the bearer tokens are placeholders
//! (`{{CITIZEN_TOKEN}}`, `{{STAFF_TOKEN}}`, `{{ADMIN_TOKEN}}`), replaced by tokens of the test
//! identity provider.
//! Ids and certificate codes are fixed so that the events can name the request.

use std::path::PathBuf;
use std::sync::Arc;

use aws_lambda_events::sns::SnsEvent;
use aws_lambda_events::sqs::SqsEvent;
use axum::Router;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent, Service};
use render::Renderer;
use serde_json::{Value, json};
use shared::ports::{BatchHandler, Ids, QueueName};
use shared::services::Services;
use shared::steps::StepHandler;
use shared::testing::TestApp;

/// The request id and certificate code the events name.
const REQUEST_ID: &str = "0d9c1f4e-6b1a-4f5e-9a77-3c2b8e5d1a10";
const CERTIFICATE_CODE: &str = "7QK2M9XH4TDZ8PRW5B3N";
const MAX_RECEIVES: u32 = 5;

struct FixedIds;

impl Ids for FixedIds {
    fn new_id(&self) -> String {
        REQUEST_ID.into()
    }
    fn secret_code(&self) -> String {
        CERTIFICATE_CODE.into()
    }
}

struct Lambda {
    app: TestApp,
    services: Services,
}

impl Lambda {
    async fn new() -> Lambda {
        let app = TestApp::new(Router::new()).await;
        let services = Services { ids: Arc::new(FixedIds), ..app.services.clone() };
        Lambda { app, services }
    }

    fn event(&self, name: &str) -> String {
        raw_event(name)
            .replace("{{CITIZEN_TOKEN}}", &self.app.mother())
            .replace("{{STAFF_TOKEN}}", &self.app.staff("jugendamt-bremen"))
            .replace("{{REGISTER_TOKEN}}", &self.app.office_admin("jugendamt-bremen"))
            .replace("{{ADMIN_TOKEN}}", &self.app.admin())
    }

    /// An API event through lambda_http into the function's router, as on Lambda; returns the
    /// response as API Gateway receives it.
    async fn api(&self, router: axum::Router<Services>, event: &str) -> (u16, Value) {
        self.api_with(router, &self.event(event)).await
    }

    /// An API Gateway event given as text through an API function.
    async fn api_with(&self, router: axum::Router<Services>, event: &str) -> (u16, Value) {
        let request: LambdaRequest = serde_json::from_str(event).expect("an API Gateway event");
        let app = shared::lambda::api(router, self.services.clone());
        let response =
            Adapter::from(app).call(LambdaEvent::new(request, Context::default())).await.expect("a response");
        let response = serde_json::to_value(response).expect("the response serialises");
        let status = response["statusCode"].as_u64().expect("statusCode") as u16;
        let body = response["body"].as_str().map(|body| serde_json::from_str(body).expect("a JSON body"));
        (status, body.unwrap_or(Value::Null))
    }

    /// An SQS event through a queue function; returns its batch response as SQS receives it.
    async fn queue(&self, handler: &dyn BatchHandler, event: &str) -> Value {
        let event: SqsEvent = serde_json::from_str(&self.event(event)).expect("an SQS event");
        serde_json::to_value(shared::lambda::handle_batch(handler, event).await).expect("the response serialises")
    }

    async fn status(&self) -> Value {
        let (status, body) = self.api(status::router(), "status.json").await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

/// An event file as it is, placeholders included.
fn raw_event(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn no_failures() -> Value {
    json!({"batchItemFailures": []})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_drive_every_function() {
    let lambda = Lambda::new().await;
    let services = &lambda.services;
    let renderer = Arc::new(Renderer::new());

    let (status, body) = lambda.api(precheck::router(), "precheck.json").await;
    assert_eq!((status, &body["eligible"]), (200, &json!(true)), "{body}");
    let (status, body) = lambda.api(precheck::router(), "offices.json").await;
    assert_eq!((status, &body[0]["id"]), (200, &json!("jugendamt-bremen")), "{body}");

    let (status, body) = lambda.api(drafts::router(), "drafts.json").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["expires_at"].is_string(), "a draft tells when it expires: {body}");

    let (status, body) = lambda.api(submit::router(), "submit.json").await;
    assert_eq!((status, body), (202, json!({"id": REQUEST_ID, "status": "submitted"})));
    let queued = services.queue.receive(QueueName::Submitted, 10, std::time::Duration::ZERO).await.unwrap();
    assert_eq!(queued.len(), 1, "the submission is handed to the chain");

    let xfamilie =
        StepHandler::new(xfamilie::XFamilieStep::new(services.clone(), renderer.clone()), services, MAX_RECEIVES);
    assert_eq!(lambda.queue(&xfamilie, "xfamilie.json").await, no_failures());
    assert_eq!(lambda.status().await["status"], "prepared");

    let register = StepHandler::new(register_check::RegisterCheckStep::new(services.clone()), services, MAX_RECEIVES);
    assert_eq!(lambda.queue(&register, "register-check.json").await, no_failures());

    // The batch holds the request and an unreadable message: only that one is reported.
    let step = certificate::CertificateStep::new(services.clone(), renderer, "https://sorgeregister.example");
    let certificate = StepHandler::new(step, services, MAX_RECEIVES);
    assert_eq!(
        lambda.queue(&certificate, "certificate.json").await,
        json!({"batchItemFailures": [{"itemIdentifier": "e9a1c3d5-7f2b-4d6e-8a0c-1b3d5f7a9c04"}]})
    );
    let status = lambda.status().await;
    assert_eq!((&status["status"], &status["certificate"]["code"]), (&json!("issued"), &json!(CERTIFICATE_CODE)));

    // She gave an address: received and ready, as two mails in the outbox.
    let outbox = tempfile::tempdir().unwrap();
    let from = "Sorgeregister online <noreply@sorgeregister.example>".parse().unwrap();
    let mailer = Arc::new(shared::mail::Outbox::new(outbox.path(), from));
    let step = notify::NotifyStep::new(services.clone(), mailer, "https://sorgeregister.example");
    assert_eq!(lambda.queue(&StepHandler::new(step, services, MAX_RECEIVES), "notify.json").await, no_failures());
    assert_eq!(std::fs::read_dir(outbox.path()).unwrap().count(), 2);

    // SES reports through SNS that her address bounced: recorded for the office (twice is once).
    let event: SnsEvent = serde_json::from_str(&lambda.event("mail-feedback.json")).expect("an SNS event");
    for record in event.records.iter().chain(&event.records) {
        mail_feedback::handle(services, &record.sns.message).await.unwrap();
    }
    let told = shared::records::notices(&*services.store, REQUEST_ID).await.unwrap();
    assert_eq!(told.values().filter(|record| record.news == "bounce" && !record.delivered).count(), 1, "{told:?}");

    let (status, body) = lambda.api(verify::router(), "verify.json").await;
    assert_eq!((status, &body["valid"]), (200, &json!(true)), "{body}");
    // Checks are limited per client, told apart by API Gateway's sourceIp.
    for _ in 1..verify::CHECKS_PER_MINUTE {
        assert_eq!(lambda.api(verify::router(), "verify.json").await.0, 200);
    }
    assert_eq!(lambda.api(verify::router(), "verify.json").await.0, 429, "203.0.113.24 has had its checks");
    let elsewhere =
        lambda.event("verify.json").replace("\"sourceIp\": \"203.0.113.24\"", "\"sourceIp\": \"198.51.100.9\"");
    assert_eq!(lambda.api_with(verify::router(), &elsewhere).await.0, 200, "another client is not held up");

    let (status, body) = lambda.api(inbox::router(), "inbox.json").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.to_string().contains(REQUEST_ID), "the office sees the request: {body}");

    let (status, body) = lambda.api(register_api::router(), "register-api.json").await;
    assert_eq!((status, &body["office"]), (201, &json!("jugendamt-bremen")), "{body}");

    let (status, body) = lambda
        .api(
            tenants::router(tenants::TenantSettings::in_folder(
                tempfile::tempdir().unwrap().keep(),
                shared::domain::office::ProviderAddresses::HttpsOnly,
            )),
            "tenants.json",
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_bad_token_is_refused_in_the_contracts_format() {
    let lambda = Lambda::new().await;
    let request = raw_event("status.json").replace("{{CITIZEN_TOKEN}}", "not-a-token");
    let request: LambdaRequest = serde_json::from_str(&request).unwrap();
    let app = shared::lambda::api(status::router(), lambda.services.clone());
    let response = Adapter::from(app).call(LambdaEvent::new(request, Context::default())).await.unwrap();
    let response = serde_json::to_value(response).unwrap();
    assert_eq!(response["statusCode"], 401);
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
}
