//! Background work of the local runtime: queue consumers in place of Lambda's event source
//! mapping, and the scheduled functions' runs in place of their schedules.

use std::sync::Arc;
use std::time::Duration;

use shared::ports::{BatchHandler, Queue};
use tokio::sync::watch;

const BATCH_SIZE: usize = 10;
const LONG_POLL: Duration = Duration::from_secs(1);
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

/// A scheduled function's run, `every` so often in place of its EventBridge schedule: retention
/// (with the purge of expired items), the draft reminders, the sweep. Each is safe to run as
/// often as it likes; a failed run is logged and the next one catches up.
pub async fn scheduled<F, Fut, T, E>(name: &'static str, every: Duration, mut run: F, mut stop: watch::Receiver<bool>)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    loop {
        if let Err(error) = run().await {
            tracing::error!(job = name, %error, "scheduled run failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
    }
}
