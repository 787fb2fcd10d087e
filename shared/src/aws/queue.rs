use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName};
use tokio::sync::OnceCell;

use super::describe;
use crate::ports::{Queue, QueueError, QueueMessage, QueueName};

/// The message attribute naming the function that sent a message, so that an operator looking
/// at a dead letter sees where it came from.
pub const SENDER_ATTRIBUTE: &str = "sender";

/// The queues of the chain on SQS. Visibility timeout, receive count and the move to the
/// dead-letter queue are SQS's own (the queues' redrive policies in `template.yaml`).
pub struct SqsQueue {
    client: Client,
    urls: HashMap<QueueName, String>,
    /// Who sends: the Lambda function's name, else `local`.
    sender: String,
    /// Dead-letter queue URLs, looked up from the redrive policies when first needed.
    dead_letter_urls: HashMap<QueueName, OnceCell<String>>,
}

fn backend(error: impl std::error::Error + 'static) -> QueueError {
    QueueError::Backend(describe(&error))
}

/// SQS hands out at most 10 messages per receive and long-polls for whole seconds, at most 20.
const MAX_BATCH: usize = 10;
const MAX_WAIT_SECONDS: u64 = 20;

/// How long `dead_letters` hides the messages it is reading, before it shows them again.
const PEEK_SECONDS: i32 = 30;

impl SqsQueue {
    pub fn new(client: Client, urls: HashMap<QueueName, String>) -> Self {
        let sender = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".into());
        let dead_letter_urls = QueueName::ALL.into_iter().map(|queue| (queue, OnceCell::new())).collect();
        Self { client, urls, sender, dead_letter_urls }
    }

    fn url(&self, queue: QueueName) -> Result<&str, QueueError> {
        self.urls
            .get(&queue)
            .map(String::as_str)
            .ok_or_else(|| QueueError::Backend(format!("no URL for queue {}", queue.as_str())))
    }

    /// The dead-letter queue named by the queue's redrive policy.
    async fn dead_letter_url(&self, queue: QueueName) -> Result<&str, QueueError> {
        let url = self.url(queue)?;
        let resolve = async {
            let attributes = self
                .client
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(QueueAttributeName::RedrivePolicy)
                .send()
                .await
                .map_err(backend)?;
            let policy = attributes
                .attributes()
                .and_then(|a| a.get(&QueueAttributeName::RedrivePolicy))
                .ok_or_else(|| QueueError::Backend(format!("queue {} has no dead-letter queue", queue.as_str())))?;
            let policy: serde_json::Value =
                serde_json::from_str(policy).map_err(|e| QueueError::Backend(format!("redrive policy: {e}")))?;
            let name = policy["deadLetterTargetArn"]
                .as_str()
                .and_then(|arn| arn.rsplit(':').next())
                .ok_or_else(|| QueueError::Backend("redrive policy without deadLetterTargetArn".into()))?;
            let found = self.client.get_queue_url().queue_name(name).send().await.map_err(backend)?;
            found.queue_url.ok_or_else(|| QueueError::Backend(format!("no URL for dead-letter queue {name}")))
        };
        self.dead_letter_urls[&queue].get_or_try_init(|| resolve).await.map(String::as_str)
    }

    async fn receive_from(
        &self,
        url: &str,
        max: usize,
        wait_seconds: u64,
        visibility: Option<i32>,
    ) -> Result<Vec<QueueMessage>, QueueError> {
        let received = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.clamp(1, MAX_BATCH) as i32)
            .wait_time_seconds(wait_seconds.min(MAX_WAIT_SECONDS) as i32)
            .set_visibility_timeout(visibility)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(backend)?;
        received
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|message| {
                let receive_count = message
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|count| count.parse().ok())
                    .ok_or_else(|| QueueError::Backend("message without ApproximateReceiveCount".into()))?;
                Ok(QueueMessage {
                    message_id: message.message_id.unwrap_or_default(),
                    receipt: message.receipt_handle.unwrap_or_default(),
                    body: message.body.unwrap_or_default(),
                    receive_count,
                })
            })
            .collect()
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, queue: QueueName, body: &str) -> Result<String, QueueError> {
        let sender = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(&self.sender)
            .build()
            .expect("data type set");
        let sent = self
            .client
            .send_message()
            .queue_url(self.url(queue)?)
            .message_body(body)
            .message_attributes(SENDER_ATTRIBUTE, sender)
            .send()
            .await
            .map_err(backend)?;
        sent.message_id.ok_or_else(|| QueueError::Backend("SQS returned no message id".into()))
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        wait: std::time::Duration,
    ) -> Result<Vec<QueueMessage>, QueueError> {
        // Whole seconds, rounded up, so a short wait still waits.
        let wait_seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        self.receive_from(self.url(queue)?, max, wait_seconds, None).await
    }

    async fn delete(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(self.url(queue)?)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Reads the whole dead-letter queue by hiding what it has read until nothing is left, then
    /// makes every message visible again: reading must not consume them.
    async fn dead_letters(&self, queue: QueueName) -> Result<Vec<QueueMessage>, QueueError> {
        let url = self.dead_letter_url(queue).await?;
        let mut seen: Vec<QueueMessage> = Vec::new();
        loop {
            let batch = self.receive_from(url, MAX_BATCH, 0, Some(PEEK_SECONDS)).await?;
            if batch.is_empty() {
                break;
            }
            for message in batch {
                if !seen.iter().any(|s| s.message_id == message.message_id) {
                    seen.push(message);
                }
            }
        }
        for message in &mut seen {
            self.client
                .change_message_visibility()
                .queue_url(url)
                .receipt_handle(std::mem::take(&mut message.receipt))
                .visibility_timeout(0)
                .send()
                .await
                .map_err(backend)?;
        }
        Ok(seen)
    }
}
