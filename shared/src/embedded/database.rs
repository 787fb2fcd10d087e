use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use time::OffsetDateTime;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    body TEXT NOT NULL,
    version INTEGER NOT NULL,
    expires_at_ms INTEGER,
    index_pk TEXT,
    index_sk TEXT,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_by_index ON items (index_pk, index_sk) WHERE index_pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_by_expiry ON items (expires_at_ms) WHERE expires_at_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at_ms INTEGER NOT NULL,
    visible_at_ms INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT,
    dead INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_by_visibility ON messages (queue, dead, visible_at_ms);
";

/// One SQLite database file shared by the state store and the queues.
#[derive(Clone)]
pub struct Database {
    connection: Arc<Mutex<Connection>>,
}

impl Database {
    /// Opens (or creates) the database; data survives restarts.
    pub fn open(path: &Path) -> rusqlite::Result<Database> {
        let connection = Connection::open(path)?;
        // WAL with full sync: a committed write survives a crash of the process or the machine.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.execute_batch(SCHEMA)?;
        Ok(Database { connection: Arc::new(Mutex::new(connection)) })
    }

    /// Runs blocking database work off the async threads.
    pub(super) async fn run<T, E>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let connection = self.connection.clone();
        tokio::task::spawn_blocking(move || {
            let mut connection = connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&mut connection)
        })
        .await
        .unwrap_or_else(|failure| std::panic::resume_unwind(failure.into_panic()))
    }
}

pub(super) fn millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(super) fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).expect("stored timestamps are in range")
}
