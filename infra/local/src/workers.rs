//! Background work of the local runtime: queue consumers in place of Lambda's event source
//! mapping, and retention (with the purge of expired items) in place of the scheduled function.

use std::sync::Arc;
use std::time::Duration;

use shared::ports::{BatchHandler, Queue};
use shared::services::Services;
use tokio::sync::watch;

const BATCH_SIZE: usize = 10;
const LONG_POLL: Duration = Duration::from_secs(1);
const RETENTION_EVERY: Duration = Duration::from_secs(600);
const BACKOFF: Duration = Duration::from_secs(1);

/// Receives batches and acknowledges every message the handler did not report as failed;
/// failed ones come back after the visibility timeout and end in the dead-letter queue.
pub async fn poll(queue: Arc<dyn Queue>, handler: Arc<dyn BatchHandler>, mut stop: watch::Receiver<bool>) {
    let name = handler.queue();
    while !*stop.borrow() {
        let batch = tokio::select! {
            received = queue.receive(name, BATCH_SIZE, LONG_POLL) => received,
            _ = stop.changed() => break,
        };
        let batch = match batch {
            Ok(batch) if batch.is_empty() => continue,
            Ok(batch) => batch,
            Err(error) => {
                tracing::error!(queue = name.as_str(), %error, "receive failed");
                tokio::time::sleep(BACKOFF).await;
                continue;
            }
        };
        let receipts: Vec<(String, String)> = batch.iter().map(|m| (m.message_id.clone(), m.receipt.clone())).collect();
        let failed = handler.handle(batch).await;
        for (message_id, receipt) in receipts {
            if failed.contains(&message_id) {
                tracing::warn!(queue = name.as_str(), %message_id, "message failed; it will be retried");
            } else if let Err(error) = queue.delete(name, &receipt).await {
                tracing::error!(queue = name.as_str(), %message_id, %error, "could not acknowledge; it will be delivered again");
            }
        }
    }
}

/// Retention in place of the scheduled function: expired drafts and finished requests past
/// their office's retention period are deleted, now and then.
pub async fn retention(services: Services, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(error) = retention::run(&services).await {
            tracing::error!(%error, "retention run failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(RETENTION_EVERY) => {}
            _ = stop.changed() => break,
        }
    }
}
