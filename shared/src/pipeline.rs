//! The message every step of the chain passes on: which request to work on. Steps load the
//! request itself, so a duplicate or late message only ever sees the current state.

use serde::{Deserialize, Serialize};

use crate::ports::{Queue, QueueError, QueueName};

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
