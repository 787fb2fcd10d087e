//! The document chain wired in-process to the embedded adapters and driven message by message,
//! so duplicates, failures and every register variant can be staged exactly.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use serde_json::{Value, json};
use shared::ports::{BatchHandler, Mailer};
use shared::records;
use shared::services::Services;
use shared::steps::StepHandler;
use shared::testing::TestApp;

/// As the queues of `TestApp` are set up: handlers and queues must agree on it.
pub const MAX_RECEIVES: u32 = shared::embedded::QueueSettings::DEFAULT_MAX_RECEIVES;

pub struct Chain {
    pub app: TestApp,
    pub handlers: Vec<Box<dyn BatchHandler>>,
}

pub fn handlers(services: &Services) -> Vec<Box<dyn BatchHandler>> {
    let renderer = Arc::new(render::Renderer::new());
    vec![
        Box::new(StepHandler::new(
            xfamilie::XFamilieStep::new(services.clone(), renderer.clone()),
            services,
            MAX_RECEIVES,
        )),
        Box::new(StepHandler::new(register_check::RegisterCheckStep::new(services.clone()), services, MAX_RECEIVES)),
        Box::new(StepHandler::new(
            certificate::CertificateStep::new(services.clone(), renderer, "https://sorgeregister.example"),
            services,
            MAX_RECEIVES,
        )),
    ]
}

impl Chain {
    /// The chain with the notify step, mailing through `mailer`.
    pub async fn telling_her(mailer: Arc<dyn Mailer>) -> Chain {
        let mut chain = Chain::new().await;
        let services = &chain.app.services;
        let notify = notify::NotifyStep::new(services.clone(), mailer, "https://sorgeregister.example");
        chain.handlers.push(Box::new(StepHandler::new(notify, services, MAX_RECEIVES)));
        chain
    }

    pub async fn new() -> Chain {
        let router = submit::router()
            .merge(drafts::router())
            .merge(status::router())
            .merge(verify::router())
            .merge(register_api::router())
            .merge(inbox::router());
        let app = TestApp::new(router).await;
        let handlers = handlers(&app.services);
        Chain { app, handlers }
    }

    /// Delivers queued messages until every queue is empty; with `duplicates`, every message
    /// is delivered twice (once more as a copy sent alongside).
    pub async fn run(&self, duplicates: bool) {
        let queue = &self.app.services.queue;
        loop {
            let mut delivered = false;
            for handler in &self.handlers {
                let batch = queue.receive(handler.queue(), 10, StdDuration::ZERO).await.unwrap();
                if batch.is_empty() {
                    continue;
                }
                delivered = true;
                if duplicates {
                    for message in &batch {
                        if message.receive_count == 1 && !message.body.contains("\"copy\"") {
                            let mut copy: Value = serde_json::from_str(&message.body).unwrap();
                            copy["copy"] = json!(true);
                            queue.send(handler.queue(), &copy.to_string()).await.unwrap();
                        }
                    }
                }
                let failed = handler.handle(batch.clone()).await;
                for message in batch.iter().filter(|m| !failed.contains(&m.message_id)) {
                    queue.delete(handler.queue(), &message.receipt).await.unwrap();
                }
            }
            if !delivered {
                return;
            }
        }
    }

    pub async fn submit(&self, token: &str, changes: &[(&str, Value)]) -> String {
        self.submit_in("de", token, changes).await
    }

    /// Submits in the language `lang` (`Accept-Language`), with `changes` (JSON pointer, value)
    /// to the usual application (a pointer may add a member).
    pub async fn submit_in(&self, lang: &str, token: &str, changes: &[(&str, Value)]) -> String {
        let mut body = json!({
            "applicant": {"role": "mother"},
            "mother": {"given_names": "Sophia", "family_name": "Beispiel", "birth_date": "1994-05-02", "birth_place": "Bremen",
                       "address": {"street": "Am Markt", "house_number": "1", "postcode": "28195", "city": "Bremen"}},
            "child": {"given_names": "Mia", "family_name": "Beispiel", "birth_date": "2021-03-14", "birth_place": "Bremen", "born_abroad": false},
            "delivery": "download"
        });
        for (pointer, value) in changes {
            let (parent, name) = pointer.rsplit_once('/').unwrap();
            body.pointer_mut(parent).unwrap()[name] = value.clone();
        }
        let (status, created) = self
            .app
            .call_with_headers("POST", "/api/v1/requests", Some(token), Some(body), &[("accept-language", lang)])
            .await;
        assert_eq!(status, 202, "{created}");
        created["id"].as_str().unwrap().to_owned()
    }

    pub async fn request(&self, id: &str) -> shared::domain::request::Request {
        records::request(&*self.app.services.store, id).await.unwrap().unwrap().value
    }

    pub async fn register(&self, office: &str, child: (&str, &str, &str), mother: (&str, &str), kind: &str) {
        let body = json!({"child": {"given_names": child.0, "family_name": child.1, "birth_date": child.2, "birth_place": "Bremen"},
                          "mother": {"given_names": mother.0, "family_name": mother.1}, "kind": kind});
        let admin = self.app.admin();
        let (status, _) =
            self.app.call("POST", &format!("/api/v1/registers/{office}/entries"), Some(&admin), Some(body)).await;
        assert_eq!(status, 201);
    }
}
