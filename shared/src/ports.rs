//! What the functions need from the outside world. The embedded adapters (SQLite, file system)
//! and the AWS adapters (DynamoDB, S3, SQS) implement the same traits with the same semantics.

use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

pub use crate::upload_policy::UploadTerms;

/// The current time; injected so that expiry can be tested without waiting.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to (tests).
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self(Mutex::new(start))
    }
    pub fn advance(&self, by: Duration) {
        *self.0.lock().expect("clock lock") += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().expect("clock lock")
    }
}

/// New unique identifiers (request ids, message ids) and unguessable codes.
pub trait Ids: Send + Sync {
    fn new_id(&self) -> String;
    /// A code of 100 random bits in Crockford base32 (20 characters, no I, L, O, U), for
    /// certificate verification.
    fn secret_code(&self) -> String;
}

pub struct RandomIds;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl Ids for RandomIds {
    fn new_id(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }

    fn secret_code(&self) -> String {
        let mut bytes = [0u8; 13];
        aws_lc_rs::rand::fill(&mut bytes).expect("the system's random source works");
        let bits = bytes.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
        (0..20).map(|i| CROCKFORD[((bits >> (i * 5)) & 31) as usize] as char).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// State store: items under a partition and sort key, as in a DynamoDB single-table design.

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Key {
    pub partition: String,
    pub sort: String,
}

impl Key {
    pub fn new(partition: impl Into<String>, sort: impl Into<String>) -> Self {
        Self { partition: partition.into(), sort: sort.into() }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub key: Key,
    pub body: Value,
    /// Set by the store: 1 on creation, +1 on every put.
    pub version: u64,
    /// After this instant the item is gone for every reader (TTL) and may be purged.
    pub expires_at: Option<OffsetDateTime>,
    /// Secondary index key (one global secondary index).
    pub index: Option<Key>,
}

impl Item {
    pub fn new(key: Key, body: Value) -> Self {
        Self { key, body, version: 0, expires_at: None, index: None }
    }
}

/// When a write may happen. An expired item counts as absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Always,
    Absent,
    /// The stored item has exactly this version.
    Version(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Put { item: Item, condition: Condition },
    Delete { key: Key, condition: Condition },
}

impl Write {
    /// The item it writes.
    pub fn key(&self) -> &Key {
        match self {
            Write::Put { item, .. } => &item.key,
            Write::Delete { key, .. } => key,
        }
    }
}

/// Which page of a query to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSpec {
    pub limit: usize,
    /// The sort key of the last item of the previous page.
    pub after: Option<String>,
    pub newest_first: bool,
}

/// One page of a query, and where the next one starts (`None`: this was the last).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemPage {
    pub items: Vec<Item>,
    pub next: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a write condition did not hold")]
    ConditionFailed,
    #[error("state store unavailable: {0}")]
    Backend(String),
}

/// The most writes one transaction takes (DynamoDB's limit, which the embedded store enforces
/// too, so that a write too large fails in tests before it fails on AWS).
pub const MAX_WRITES: usize = 100;

#[async_trait]
pub trait StateStore: Send + Sync {
    /// The item, unless it is missing or expired.
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;
    /// Applies all writes or none (a transaction, at most [`MAX_WRITES`], each item at most
    /// once); `ConditionFailed` if any condition fails.
    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError>;
    /// Unexpired items of a partition whose sort key starts with `sort_prefix`, in sort order.
    async fn query(&self, partition: &str, sort_prefix: &str) -> Result<Vec<Item>, StoreError>;
    /// Like `query`, over the secondary index.
    async fn query_index(&self, partition: &str, sort_prefix: &str) -> Result<Vec<Item>, StoreError>;
    /// One page of `query`: at most `page.limit` items, in sort order or (`newest_first`) in
    /// reverse, after the item `page.after` (the `next` of the previous page). `next` is set
    /// while there may be more; a page may hold fewer items than the limit (expired items are
    /// left out, as DynamoDB filters after its limit).
    async fn query_page(&self, partition: &str, sort_prefix: &str, page: &PageSpec) -> Result<ItemPage, StoreError>;
    /// One page of `query_index`, like `query_page` in index order; `page.after` is the `next`
    /// of the page before, a cursor only the same store reads (index keys need not be unique).
    async fn query_index_page(
        &self,
        partition: &str,
        sort_prefix: &str,
        page: &PageSpec,
    ) -> Result<ItemPage, StoreError>;
    /// Deletes expired items for good, one page at a time: at most `limit` items looked at, in
    /// key order after `after` (the `next` of the page before), so that a table of millions is
    /// purged over several runs. `next` is set while there may be more.
    async fn purge_expired(&self, after: Option<Key>, limit: usize) -> Result<Purged, StoreError>;
}

/// What one page of [`StateStore::purge_expired`] deleted, and where the next one begins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    pub items: usize,
    pub next: Option<Key>,
}

// ---------------------------------------------------------------------------------------------
// Document store: PDFs and XML under a path-like key.

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("invalid document key")]
    InvalidKey,
    #[error("document store unavailable: {0}")]
    Backend(String),
}

/// Document keys are relative paths of plain segments (letters, digits, `-`, `_`, `.`, none
/// starting with a dot), so that no key can point outside the store, on any backend.
pub fn check_document_key(key: &str) -> Result<(), DocumentError> {
    let plain = |segment: &str| {
        !segment.is_empty()
            && !segment.starts_with('.')
            && segment.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    if key.split('/').all(plain) { Ok(()) } else { Err(DocumentError::InvalidKey) }
}

/// How long a download link lasts: long enough to follow it at once, too short to pass on.
pub const DOWNLOAD_LINK_LIFETIME: time::Duration = time::Duration::seconds(60);

#[async_trait]
pub trait DocumentStore: Send + Sync {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), DocumentError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, DocumentError>;
    async fn delete(&self, key: &str) -> Result<(), DocumentError>;
    /// A link to download the document, valid for `valid_for` (S3: a presigned URL; locally: a
    /// signed URL of the runtime).
    async fn download_link(&self, key: &str, file_name: &str, valid_for: Duration) -> Result<String, DocumentError>;
    /// A form with which a browser stores one file under `terms.key` itself, valid for
    /// `valid_for` (S3: a presigned POST; locally: the runtime's upload endpoint, which checks
    /// the same signed policy).
    async fn upload_form(&self, terms: &UploadTerms, valid_for: Duration) -> Result<UploadForm, DocumentError>;
}

/// A form that uploads one file straight into the document store: where it posts, and its
/// hidden fields; the file follows them as the field `file`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UploadForm {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

// ---------------------------------------------------------------------------------------------
// Queues: at-least-once delivery with visibility timeout, receive count and dead-letter queue.

/// The queues that chain the functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueName {
    /// Submitted requests, consumed by `xfamilie`.
    Submitted,
    /// Prepared requests (XML and PDF stored), consumed by `register`.
    Prepared,
    /// Requests to certify, consumed by `certificate`.
    Issue,
    /// Requests with news for the mother, consumed by `notify`.
    Notify,
}

impl QueueName {
    pub const ALL: [QueueName; 4] = [QueueName::Submitted, QueueName::Prepared, QueueName::Issue, QueueName::Notify];

    pub fn parse(name: &str) -> Option<QueueName> {
        Self::ALL.into_iter().find(|queue| queue.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            QueueName::Submitted => "submitted",
            QueueName::Prepared => "prepared",
            QueueName::Issue => "issue",
            QueueName::Notify => "notify",
        }
    }
}

/// A message as a consumer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub message_id: String,
    /// Handle to delete this delivery (changes with every receive).
    pub receipt: String,
    pub body: String,
    /// How often the message has been received, this time included.
    pub receive_count: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue unavailable: {0}")]
    Backend(String),
}

#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends a message; returns its id.
    async fn send(&self, queue: QueueName, body: &str) -> Result<String, QueueError>;
    /// Up to `max` visible messages, hidden for the queue's visibility timeout; waits up to
    /// `wait` for one to arrive. A message received more often than the queue allows moves to
    /// its dead-letter queue instead.
    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        wait: std::time::Duration,
    ) -> Result<Vec<QueueMessage>, QueueError>;
    /// Acknowledges a delivery: the message is gone.
    async fn delete(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError>;
    /// Messages that ended in the queue's dead-letter queue, for operators.
    async fn dead_letters(&self, queue: QueueName) -> Result<Vec<QueueMessage>, QueueError>;
}

/// A queue function: handles a batch and names the messages that failed (partial batch
/// failure), which are delivered again later.
#[async_trait]
pub trait BatchHandler: Send + Sync {
    fn queue(&self) -> QueueName;
    async fn handle(&self, batch: Vec<QueueMessage>) -> Vec<String>;
}

// ---------------------------------------------------------------------------------------------
// Secret store: keys the platform makes for itself (the SAML service provider's, the session
// key), created on first use and the same for every instance afterwards.

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret store unavailable: {0}")]
    Backend(String),
    #[error("cannot create secret {0}: {1}")]
    Create(String, String),
}

/// Makes a secret's value when the store has none yet.
pub type MakeSecret<'a> = &'a (dyn Fn() -> Result<Vec<u8>, String> + Send + Sync);

#[async_trait]
pub trait SecretStore: Send + Sync {
    /// The secret `name`; if there is none, `make` creates it. Two instances racing to create
    /// it both end up with the one that was stored first.
    async fn get_or_create(&self, name: &str, make: MakeSecret<'_>) -> Result<Vec<u8>, SecretError>;
    /// The secret `name`, if there is one.
    async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, SecretError>;
    /// Keeps `value` as the secret `name`, in place of what was there.
    async fn put(&self, name: &str, value: &[u8]) -> Result<(), SecretError>;
}

// ---------------------------------------------------------------------------------------------
// Mailer: tells the mother that there is news (SES on AWS, an office's SMTP relay, files in
// local mode; a BundID mailbox adapter would write to `account` instead of `to`).

/// One mail to one mother, in her language, as plain text and HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// Stable for one piece of news: the `Message-ID`, and the outbox's file name.
    pub id: String,
    /// The request the mail is about, so that a report of its bounce is recorded there.
    pub request_id: Option<String>,
    pub to: crate::domain::values::EmailAddress,
    /// Her BundID account (pseudonym), for a mailbox that is addressed by account.
    pub account: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Try again later (relay down, throttled): nothing is lost.
    #[error("mail service unavailable: {0}")]
    Unavailable(String),
    /// The service will never take this mail (address refused): retrying does not help.
    #[error("mail refused: {0}")]
    Refused(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Hands the mail on for delivery.
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}
