//! The embedded default adapters: a real SQLite database on disk for state and queues, and the
//! file system for documents. Used by the local runtime and the tests; the semantics match the
//! AWS adapters (conditional writes, TTL, visibility timeout, dead-letter queue).

mod database;
mod documents;
mod queue;
mod secrets;
mod store;

pub use database::Database;
pub use documents::{FsDocumentStore, SignedLink};
pub use queue::{QueueSettings, SqliteQueue};
/// What can go wrong opening the database.
pub use rusqlite::Error as DatabaseError;
pub use secrets::FsSecretStore;
pub use store::SqliteStateStore;
