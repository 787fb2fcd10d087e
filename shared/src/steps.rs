//! The steps of the document chain as queue functions: each works on one request per message,
//! idempotently, and reports the messages that failed so they are delivered again. On the last
//! allowed delivery a failing step marks the request `failed` with a reason for operators before
//! the message moves to the dead-letter queue.
//!
//! Every hand-on (submit, the steps, a decision) is [`hand_on`]: the message names only the
//! request, and each step loads the request itself, so a duplicate or late message only ever
//! sees the current state.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::request::{Request, Status};
use crate::ports::{
    BatchHandler, Clock, DocumentError, Queue, QueueError, QueueMessage, QueueName, StateStore, StoreError,
};
use crate::records::{self, Versioned};
use crate::services::Services;

/// The message every step of the chain passes on: which request to work on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepMessage {
    pub request_id: String,
}

impl StepMessage {
    pub fn parse(body: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(body)
    }
}

/// Hands a request to the next step.
pub async fn hand_on(queue: &dyn Queue, next: QueueName, request_id: &str) -> Result<String, QueueError> {
    let body =
        serde_json::to_string(&StepMessage { request_id: request_id.to_owned() }).expect("step messages serialise");
    queue.send(next, &body).await
}

/// Tells the notifier that the request may have news for her. A mail never holds the request
/// up: a failure is only logged, and the next news of the request carries this one along.
pub async fn tell_her(queue: &dyn Queue, request_id: &str) {
    if let Err(error) = hand_on(queue, QueueName::Notify, request_id).await {
        tracing::warn!(%request_id, %error, "could not queue the news for her");
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("state store: {0}")]
    Store(#[from] StoreError),
    #[error("document store: {0}")]
    Documents(#[from] DocumentError),
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    /// Anything else, described without personal data.
    #[error("{0}")]
    Failed(String),
}

/// One step of the chain.
#[async_trait]
pub trait Step: Send + Sync {
    /// The queue the step consumes.
    fn queue(&self) -> QueueName;
    /// For logs and failure reasons.
    fn name(&self) -> &'static str;
    /// Does the step's work for one request; doing it twice must change nothing.
    async fn run(&self, request_id: &str) -> Result<(), StepError>;
    /// Whether giving up on a message marks its request `failed`: yes for the chain, whose
    /// request cannot go on without the step; no for steps beside it (telling her).
    fn fails_request(&self) -> bool {
        true
    }
}

/// A step as a queue function.
pub struct StepHandler<S> {
    step: S,
    store: Arc<dyn StateStore>,
    clock: Arc<dyn Clock>,
    /// Deliveries after which the queue gives the message to its dead-letter queue.
    max_receives: u32,
}

impl<S: Step> StepHandler<S> {
    pub fn new(step: S, services: &Services, max_receives: u32) -> Self {
        Self { step, store: services.store.clone(), clock: services.clock.clone(), max_receives }
    }

    async fn mark_failed(&self, request_id: &str, reason: &str) -> Result<(), StoreError> {
        let store = &*self.store;
        let Some(Versioned { value: mut request, version }) = records::request(store, request_id).await? else {
            return Ok(());
        };
        if request.status.is_open() && request.advance(Status::Failed, self.clock.now()).is_ok() {
            request.failure = Some(format!("{}: {reason}", self.step.name()));
            let audit = records::Audit { actor: "system", action: "failed", at: self.clock.now() };
            records::update_request(store, &request, version, audit).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl<S: Step> BatchHandler for StepHandler<S> {
    fn queue(&self) -> QueueName {
        self.step.queue()
    }

    async fn handle(&self, batch: Vec<QueueMessage>) -> Vec<String> {
        let mut failed = Vec::new();
        for message in batch {
            let parsed = StepMessage::parse(&message.body);
            let outcome = match &parsed {
                Ok(step_message) => self.step.run(&step_message.request_id).await.map_err(|e| e.to_string()),
                Err(e) => Err(format!("unreadable message: {e}")),
            };
            let Err(reason) = outcome else { continue };
            let request_id = parsed.as_ref().map(|m| m.request_id.as_str()).unwrap_or("-");
            tracing::error!(step = self.step.name(), message_id = %message.message_id, %request_id, attempt = message.receive_count, %reason, "step failed");
            if message.receive_count >= self.max_receives && self.step.fails_request() {
                if let Err(error) = self.mark_failed(request_id, &reason).await {
                    tracing::error!(step = self.step.name(), %request_id, %error, "could not mark the request failed");
                }
            }
            failed.push(message.message_id);
        }
        failed
    }
}

/// The request a queue message names. A message for a request that is gone (deleted by
/// retention) is acknowledged, not retried: there is nothing left to do for it.
pub async fn request_of_message(
    store: &dyn StateStore,
    request_id: &str,
) -> Result<Option<Versioned<Request>>, StepError> {
    let request = records::request(store, request_id).await?;
    if request.is_none() {
        tracing::warn!(%request_id, "message for an unknown request ignored");
    }
    Ok(request)
}
