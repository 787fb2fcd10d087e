//! Fault injection for the crash tests: with `CRASH_ON_SEND=<queue>` the process dies the
//! moment it hands a message to that queue — after the step before it has stored its work,
//! the worst moment to crash. Local runtime only.

use std::sync::Arc;

use async_trait::async_trait;
use shared::ports::{Queue, QueueError, QueueMessage, QueueName};

pub struct CrashingQueue {
    inner: Arc<dyn Queue>,
    crash_on: QueueName,
}

impl CrashingQueue {
    pub fn new(inner: Arc<dyn Queue>, crash_on: QueueName) -> Self {
        Self { inner, crash_on }
    }
}

#[async_trait]
impl Queue for CrashingQueue {
    async fn send(&self, queue: QueueName, body: &str) -> Result<String, QueueError> {
        if queue == self.crash_on {
            eprintln!("CRASH_ON_SEND={}: crashing on purpose", queue.as_str());
            std::process::abort();
        }
        self.inner.send(queue, body).await
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        wait: std::time::Duration,
    ) -> Result<Vec<QueueMessage>, QueueError> {
        self.inner.receive(queue, max, wait).await
    }

    async fn delete(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        self.inner.delete(queue, receipt).await
    }

    async fn dead_letters(&self, queue: QueueName) -> Result<Vec<QueueMessage>, QueueError> {
        self.inner.dead_letters(queue).await
    }
}
