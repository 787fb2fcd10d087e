//! Background work of the local runtime: queue consumers in place of Lambda's event source
//! mapping, and the purge of expired items in place of DynamoDB's TTL sweeper.

use std::sync::Arc;
use std::time::Duration;

use shared::ports::{BatchHandler, Queue, StateStore};
use tokio::sync::watch;

const BATCH_SIZE: usize = 10;
const LONG_POLL: Duration = Duration::from_secs(1);
const PURGE_EVERY: Duration = Duration::from_secs(600);
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

/// Deletes expired items (drafts after 30 days) for good, now and then.
pub async fn purge_expired(store: Arc<dyn StateStore>, mut stop: watch::Receiver<bool>) {
    loop {
        match store.purge_expired().await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired items purged"),
            Err(error) => tracing::error!(%error, "purging expired items failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(PURGE_EVERY) => {}
            _ = stop.changed() => break,
        }
    }
}
