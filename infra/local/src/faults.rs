//! Fault injection for the crash and chaos tests, local runtime only:
//! - `CRASH_ON_SEND=<queue>`: the process dies the moment it hands a message to that queue —
//!   after the step before it has stored its work, the worst moment to crash;
//! - `FAULT_RATE=<0..1>`: that share of the calls to the state store, the documents and the
//!   queues fails, half of the writes and sends only after they took effect (the answer lost);
//! - `DELIVER_TWICE=on`: every message is sent twice.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use async_trait::async_trait;
use shared::ports::{
    DocumentError, DocumentStore, Item, ItemPage, Key, PageSpec, Purged, Queue, QueueError, QueueMessage, QueueName,
    StateStore, StoreError, UploadForm, UploadTerms, Write,
};

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

/// Which calls fail.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    pub rate: f64,
    pub deliver_twice: bool,
}

/// How a call fares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Fine,
    /// Fails without effect.
    Refused,
    /// Takes effect, then fails: the caller cannot tell it from `Refused`.
    AnswerLost,
}

impl Faults {
    fn fate(&self) -> Fate {
        // A fresh random hasher per call: a random number without a dependency.
        let draw = RandomState::new().hash_one(()) as f64 / u64::MAX as f64;
        if draw < self.rate / 2.0 {
            Fate::Refused
        } else if draw < self.rate {
            Fate::AnswerLost
        } else {
            Fate::Fine
        }
    }

    fn fails(&self) -> bool {
        self.fate() != Fate::Fine
    }
}

const INJECTED: &str = "injected fault";

pub struct FaultyStore {
    pub inner: Arc<dyn StateStore>,
    pub faults: Faults,
}

impl FaultyStore {
    fn check(&self) -> Result<(), StoreError> {
        if self.faults.fails() { Err(StoreError::Backend(INJECTED.into())) } else { Ok(()) }
    }
}

#[async_trait]
impl StateStore for FaultyStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.check()?;
        self.inner.get(key).await
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        match self.faults.fate() {
            Fate::Fine => self.inner.write(writes).await,
            Fate::Refused => Err(StoreError::Backend(INJECTED.into())),
            Fate::AnswerLost => {
                self.inner.write(writes).await?;
                Err(StoreError::Backend(format!("{INJECTED} (after the commit)")))
            }
        }
    }

    async fn query(&self, partition: &str, sort_prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.check()?;
        self.inner.query(partition, sort_prefix).await
    }

    async fn query_index(&self, partition: &str, sort_prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.check()?;
        self.inner.query_index(partition, sort_prefix).await
    }

    async fn query_page(&self, partition: &str, sort_prefix: &str, page: &PageSpec) -> Result<ItemPage, StoreError> {
        self.check()?;
        self.inner.query_page(partition, sort_prefix, page).await
    }

    async fn query_index_page(
        &self,
        partition: &str,
        sort_prefix: &str,
        page: &PageSpec,
    ) -> Result<ItemPage, StoreError> {
        self.check()?;
        self.inner.query_index_page(partition, sort_prefix, page).await
    }

    async fn purge_expired(&self, after: Option<Key>, limit: usize) -> Result<Purged, StoreError> {
        self.check()?;
        self.inner.purge_expired(after, limit).await
    }
}

pub struct FaultyDocuments {
    pub inner: Arc<dyn DocumentStore>,
    pub faults: Faults,
}

impl FaultyDocuments {
    fn check(&self) -> Result<(), DocumentError> {
        if self.faults.fails() { Err(DocumentError::Backend(INJECTED.into())) } else { Ok(()) }
    }
}

#[async_trait]
impl DocumentStore for FaultyDocuments {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), DocumentError> {
        match self.faults.fate() {
            Fate::Fine => self.inner.put(key, bytes, content_type).await,
            Fate::Refused => Err(DocumentError::Backend(INJECTED.into())),
            Fate::AnswerLost => {
                self.inner.put(key, bytes, content_type).await?;
                Err(DocumentError::Backend(format!("{INJECTED} (after the upload)")))
            }
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, DocumentError> {
        self.check()?;
        self.inner.get(key).await
    }

    async fn delete(&self, key: &str) -> Result<(), DocumentError> {
        self.check()?;
        self.inner.delete(key).await
    }

    async fn download_link(
        &self,
        key: &str,
        file_name: &str,
        valid_for: time::Duration,
    ) -> Result<String, DocumentError> {
        self.inner.download_link(key, file_name, valid_for).await
    }

    async fn upload_form(&self, terms: &UploadTerms, valid_for: time::Duration) -> Result<UploadForm, DocumentError> {
        self.inner.upload_form(terms, valid_for).await
    }
}

pub struct FaultyQueue {
    pub inner: Arc<dyn Queue>,
    pub faults: Faults,
}

#[async_trait]
impl Queue for FaultyQueue {
    async fn send(&self, queue: QueueName, body: &str) -> Result<String, QueueError> {
        let fate = self.faults.fate();
        if fate == Fate::Refused {
            return Err(QueueError::Backend(INJECTED.into()));
        }
        let id = self.inner.send(queue, body).await?;
        if self.faults.deliver_twice {
            self.inner.send(queue, body).await?;
        }
        match fate {
            Fate::AnswerLost => Err(QueueError::Backend(format!("{INJECTED} (after the send)"))),
            _ => Ok(id),
        }
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        wait: std::time::Duration,
    ) -> Result<Vec<QueueMessage>, QueueError> {
        if self.faults.fails() {
            tokio::time::sleep(wait).await;
            return Err(QueueError::Backend(INJECTED.into()));
        }
        self.inner.receive(queue, max, wait).await
    }

    async fn delete(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        if self.faults.fails() {
            return Err(QueueError::Backend(INJECTED.into()));
        }
        self.inner.delete(queue, receipt).await
    }

    async fn dead_letters(&self, queue: QueueName) -> Result<Vec<QueueMessage>, QueueError> {
        self.inner.dead_letters(queue).await
    }
}

/// `services` as the crash and chaos tests want them: dying on sending to `crash_on`, and with
/// `faults` in their store, documents and queue.
pub fn inject(
    services: &shared::services::Services,
    crash_on: Option<QueueName>,
    faults: Option<Faults>,
) -> shared::services::Services {
    let mut queue = services.queue.clone();
    if let Some(crash_on) = crash_on {
        queue = Arc::new(CrashingQueue::new(queue, crash_on));
    }
    let Some(faults) = faults else {
        return shared::services::Services { queue, ..services.clone() };
    };
    shared::services::Services::new(
        Arc::new(FaultyStore { inner: services.store.clone(), faults }),
        Arc::new(FaultyDocuments { inner: services.documents.clone(), faults }),
        Arc::new(FaultyQueue { inner: queue, faults }),
        services.clock.clone(),
        services.ids.clone(),
        services.verifier.clone(),
    )
    .with_audit_keys(services.audit_keys.clone())
}
