use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::params;
use time::Duration;
use tokio::sync::Notify;

use super::database::{Database, millis};
use crate::ports::{Clock, Ids, Queue, QueueError, QueueMessage, QueueName};

/// Per-queue settings, as SQS queue attributes.
#[derive(Debug, Clone, Copy)]
pub struct QueueSettings {
    /// How long a received message stays hidden before it is delivered again.
    pub visibility_timeout: Duration,
    /// Receives after which the message moves to the dead-letter queue.
    pub max_receives: u32,
}

impl QueueSettings {
    pub const DEFAULT_MAX_RECEIVES: u32 = 5;
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self { visibility_timeout: Duration::seconds(30), max_receives: Self::DEFAULT_MAX_RECEIVES }
    }
}

/// Durable queues in SQLite: at-least-once delivery, visibility timeout, receive count and a
/// dead-letter queue per queue.
pub struct SqliteQueue {
    database: Database,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn Ids>,
    settings: HashMap<QueueName, QueueSettings>,
    arrived: Notify,
}

impl SqliteQueue {
    pub fn new(database: Database, clock: Arc<dyn Clock>, ids: Arc<dyn Ids>, settings: QueueSettings) -> Self {
        let settings = QueueName::ALL.into_iter().map(|q| (q, settings)).collect();
        Self { database, clock, ids, settings, arrived: Notify::new() }
    }

    async fn take_visible(&self, queue: QueueName, max: usize) -> Result<Vec<QueueMessage>, QueueError> {
        let settings = self.settings[&queue];
        let now = self.clock.now();
        let now_ms = millis(now);
        let hidden_until = millis(now + settings.visibility_timeout);
        let receipts: Vec<String> = (0..max).map(|_| self.ids.new_id()).collect();
        self.database
            .run(move |db| {
                let tx = db.transaction()?;
                // A message that was received too often goes to the dead-letter queue instead.
                tx.execute(
                    "UPDATE messages SET dead = 1, receipt = NULL
                     WHERE queue = ?1 AND dead = 0 AND visible_at_ms <= ?2 AND receive_count >= ?3",
                    params![queue.as_str(), now_ms, settings.max_receives],
                )?;
                let visible: Vec<(String, String, u32)> = tx
                    .prepare(
                        "SELECT id, body, receive_count FROM messages
                         WHERE queue = ?1 AND dead = 0 AND visible_at_ms <= ?2 ORDER BY sent_at_ms, id LIMIT ?3",
                    )?
                    .query_map(params![queue.as_str(), now_ms, max as i64], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                let mut messages = Vec::with_capacity(visible.len());
                for ((id, body, count), receipt) in visible.into_iter().zip(receipts) {
                    tx.execute(
                        "UPDATE messages SET visible_at_ms = ?2, receive_count = ?3, receipt = ?4 WHERE id = ?1",
                        params![id, hidden_until, count + 1, receipt],
                    )?;
                    messages.push(QueueMessage { message_id: id, receipt, body, receive_count: count + 1 });
                }
                tx.commit()?;
                Ok(messages)
            })
            .await
            .map_err(|e: rusqlite::Error| QueueError::Backend(e.to_string()))
    }
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn send(&self, queue: QueueName, body: &str) -> Result<String, QueueError> {
        let id = self.ids.new_id();
        let now = millis(self.clock.now());
        let (message_id, body) = (id.clone(), body.to_owned());
        self.database
            .run(move |db| {
                db.execute(
                    "INSERT INTO messages (id, queue, body, sent_at_ms, visible_at_ms) VALUES (?1, ?2, ?3, ?4, ?4)",
                    params![message_id, queue.as_str(), body, now],
                )
            })
            .await
            .map_err(|e| QueueError::Backend(e.to_string()))?;
        self.arrived.notify_waiters();
        Ok(id)
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        wait: std::time::Duration,
    ) -> Result<Vec<QueueMessage>, QueueError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Register interest before looking, so a message sent in between still wakes us.
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let messages = self.take_visible(queue, max).await?;
            if !messages.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(messages);
            }
            // Any send wakes us, also one to another queue: then look again until the deadline.
            let _ = tokio::time::timeout_at(deadline, arrived).await;
        }
    }

    async fn delete(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        let receipt = receipt.to_owned();
        self.database
            .run(move |db| {
                db.execute(
                    "DELETE FROM messages WHERE queue = ?1 AND receipt = ?2 AND dead = 0",
                    params![queue.as_str(), receipt],
                )
            })
            .await
            .map(|_| ())
            .map_err(|e| QueueError::Backend(e.to_string()))
    }

    async fn dead_letters(&self, queue: QueueName) -> Result<Vec<QueueMessage>, QueueError> {
        self.database
            .run(move |db| {
                db.prepare("SELECT id, body, receive_count FROM messages WHERE queue = ?1 AND dead = 1 ORDER BY sent_at_ms, id")?
                    .query_map(params![queue.as_str()], |row| {
                        Ok(QueueMessage { message_id: row.get(0)?, receipt: String::new(), body: row.get(1)?, receive_count: row.get(2)? })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .await
            .map_err(|e| QueueError::Backend(e.to_string()))
    }
}
