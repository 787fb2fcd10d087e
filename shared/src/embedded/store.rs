use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params};

use super::database::{Database, from_millis, millis};
use crate::ports::{
    Clock, Condition, Item, ItemPage, Key, MAX_WRITES, PageSpec, Purged, StateStore, StoreError, Write,
};

/// The state store on SQLite. Expired items are invisible at once and purged later, like
/// DynamoDB's TTL (whose deletion is lazy).
pub struct SqliteStateStore {
    database: Database,
    clock: Arc<dyn Clock>,
}

impl SqliteStateStore {
    pub fn new(database: Database, clock: Arc<dyn Clock>) -> Self {
        Self { database, clock }
    }
}

fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

const COLUMNS: &str = "pk, sk, body, version, expires_at_ms, index_pk, index_sk";

fn read_item(row: &rusqlite::Row) -> rusqlite::Result<Item> {
    let body: String = row.get(2)?;
    let index_pk: Option<String> = row.get(5)?;
    let index_sk: Option<String> = row.get(6)?;
    Ok(Item {
        key: Key::new(row.get::<_, String>(0)?, row.get::<_, String>(1)?),
        body: serde_json::from_str(&body)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e)))?,
        version: row.get::<_, i64>(3)? as u64,
        expires_at: row.get::<_, Option<i64>>(4)?.map(from_millis),
        index: index_pk.zip(index_sk).map(|(p, s)| Key::new(p, s)),
    })
}

/// The version of the live (unexpired) item under `key`, if any.
fn live_version(tx: &Transaction, key: &Key, now_ms: i64) -> rusqlite::Result<Option<u64>> {
    tx.query_row(
        "SELECT version FROM items WHERE pk = ?1 AND sk = ?2 AND (expires_at_ms IS NULL OR expires_at_ms > ?3)",
        params![key.partition, key.sort, now_ms],
        |row| row.get::<_, i64>(0),
    )
    .optional()
    .map(|v| v.map(|v| v as u64))
}

fn holds(condition: Condition, live: Option<u64>) -> bool {
    match condition {
        Condition::Always => true,
        Condition::Absent => live.is_none(),
        Condition::Version(expected) => live == Some(expected),
    }
}

/// Everything at or after `prefix` and before the next prefix, in byte order.
fn prefix_bounds(prefix: &str) -> (String, String) {
    (prefix.to_owned(), format!("{prefix}\u{10FFFF}"))
}

#[async_trait]
impl StateStore for SqliteStateStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let key = key.clone();
        let now = millis(self.clock.now());
        self.database
            .run(move |db| {
                db.query_row(
                    &format!("SELECT {COLUMNS} FROM items WHERE pk = ?1 AND sk = ?2 AND (expires_at_ms IS NULL OR expires_at_ms > ?3)"),
                    params![key.partition, key.sort, now],
                    read_item,
                )
                .optional()
            })
            .await
            .map_err(backend)
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if writes.len() > MAX_WRITES {
            return Err(StoreError::Backend(format!("a transaction of {} writes; at most {MAX_WRITES}", writes.len())));
        }
        let mut keys = std::collections::HashSet::new();
        if !writes.iter().all(|write| keys.insert(write.key())) {
            return Err(StoreError::Backend("a transaction writes one item twice".into()));
        }
        let now = millis(self.clock.now());
        self.database
            .run(move |db| {
                let tx = db.transaction().map_err(backend)?;
                for write in writes {
                    match write {
                        Write::Put { item, condition } => {
                            let live = live_version(&tx, &item.key, now).map_err(backend)?;
                            if !holds(condition, live) {
                                return Err(StoreError::ConditionFailed);
                            }
                            let (index_pk, index_sk) = item.index.map(|k| (k.partition, k.sort)).unzip();
                            tx.execute(
                                &format!(
                                    "INSERT OR REPLACE INTO items ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                                ),
                                params![
                                    item.key.partition,
                                    item.key.sort,
                                    item.body.to_string(),
                                    (live.unwrap_or(0) + 1) as i64,
                                    item.expires_at.map(millis),
                                    index_pk,
                                    index_sk,
                                ],
                            )
                            .map_err(backend)?;
                        }
                        Write::Delete { key, condition } => {
                            let live = live_version(&tx, &key, now).map_err(backend)?;
                            if !holds(condition, live) {
                                return Err(StoreError::ConditionFailed);
                            }
                            tx.execute("DELETE FROM items WHERE pk = ?1 AND sk = ?2", params![key.partition, key.sort])
                                .map_err(backend)?;
                        }
                    }
                }
                tx.commit().map_err(backend)
            })
            .await
    }

    async fn query(&self, partition: &str, sort_prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.select("pk", "sk", partition, sort_prefix).await
    }

    async fn query_index(&self, partition: &str, sort_prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.select("index_pk", "index_sk", partition, sort_prefix).await
    }

    async fn query_page(&self, partition: &str, sort_prefix: &str, page: &PageSpec) -> Result<ItemPage, StoreError> {
        let after = page.after.clone().map(|sort| (sort, String::new(), String::new()));
        let (items, more) = self.page(false, partition, sort_prefix, page, after).await?;
        let next = if more { items.last().map(|item| item.key.sort.clone()) } else { None };
        Ok(ItemPage { items, next })
    }

    async fn query_index_page(
        &self,
        partition: &str,
        sort_prefix: &str,
        page: &PageSpec,
    ) -> Result<ItemPage, StoreError> {
        let after = match &page.after {
            Some(cursor) => Some(
                serde_json::from_str::<(String, String, String)>(cursor)
                    .map_err(|_| StoreError::Backend("unreadable index cursor".into()))?,
            ),
            None => None,
        };
        let (items, more) = self.page(true, partition, sort_prefix, page, after).await?;
        let next = match items.last() {
            Some(Item { key, index: Some(index), .. }) if more => {
                Some(serde_json::json!([index.sort, key.partition, key.sort]).to_string())
            }
            _ => None,
        };
        Ok(ItemPage { items, next })
    }

    async fn purge_expired(&self, after: Option<Key>, limit: usize) -> Result<Purged, StoreError> {
        let now = millis(self.clock.now());
        let (pk, sk) = after.map(|key| (key.partition, key.sort)).unwrap_or_default();
        let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
        let (items, last) = self
            .database
            .run(move |db| {
                let transaction = db.transaction()?;
                // Keys after `after` in key order: the page looked at, as DynamoDB's scan does.
                let page: Vec<(String, String, bool)> = transaction
                    .prepare(
                        "SELECT pk, sk, expires_at_ms IS NOT NULL AND expires_at_ms <= ?3 FROM items \
                         WHERE (pk, sk) > (?1, ?2) ORDER BY pk, sk LIMIT ?4",
                    )?
                    .query_map(params![pk, sk, now, limit], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                    .collect::<Result<_, _>>()?;
                let mut deleted = 0;
                for (pk, sk, _) in page.iter().filter(|(_, _, expired)| *expired) {
                    deleted += transaction.execute(
                        "DELETE FROM items WHERE pk = ?1 AND sk = ?2 AND expires_at_ms <= ?3",
                        params![pk, sk, now],
                    )?;
                }
                transaction.commit()?;
                let full = page.len() as i64 == limit;
                Ok((deleted, page.into_iter().last().filter(|_| full).map(|(pk, sk, _)| Key::new(pk, sk))))
            })
            .await
            .map_err(backend)?;
        Ok(Purged { items, next: last })
    }
}

impl SqliteStateStore {
    /// One page of the table (ordered by sort key) or of the index (by index sort key, then the
    /// item's key, so that equal index keys page too), after `after` (sort key, partition, sort
    /// key; on the table only the first counts); and whether there is more.
    async fn page(
        &self,
        on_index: bool,
        partition: &str,
        sort_prefix: &str,
        page: &PageSpec,
        after: Option<(String, String, String)>,
    ) -> Result<(Vec<Item>, bool), StoreError> {
        let partition = partition.to_owned();
        let (from, to) = prefix_bounds(sort_prefix);
        let now = millis(self.clock.now());
        let (beyond, order) = if page.newest_first { ("<", "DESC") } else { (">", "ASC") };
        let (pk, sk, position, ordering) = if on_index {
            (
                "index_pk",
                "index_sk",
                format!("(index_sk, pk, sk) {beyond} (?5, ?6, ?7)"),
                format!("index_sk {order}, pk {order}, sk {order}"),
            )
        } else {
            ("pk", "sk", format!("sk {beyond} ?5"), format!("sk {order}"))
        };
        let limit = page.limit.max(1);
        let mut items: Vec<Item> = self
            .database
            .run(move |db| {
                let mut statement = db.prepare(&format!(
                    "SELECT {COLUMNS} FROM items WHERE {pk} = ?1 AND {sk} >= ?2 AND {sk} < ?3 \
                     AND (expires_at_ms IS NULL OR expires_at_ms > ?4) AND (?5 IS NULL OR {position}) \
                     ORDER BY {ordering} LIMIT ?8"
                ))?;
                let (a, b, c) = after.map(|(a, b, c)| (Some(a), Some(b), Some(c))).unwrap_or_default();
                // One more than asked for tells whether there is a next page.
                statement.query_map(params![partition, from, to, now, a, b, c, limit as i64 + 1], read_item)?.collect()
            })
            .await
            .map_err(backend)?;
        let more = items.len() > limit;
        items.truncate(limit);
        Ok((items, more))
    }

    async fn select(
        &self,
        pk_column: &'static str,
        sk_column: &'static str,
        partition: &str,
        sort_prefix: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let partition = partition.to_owned();
        let (from, to) = prefix_bounds(sort_prefix);
        let now = millis(self.clock.now());
        self.database
            .run(move |db| {
                let mut statement = db.prepare(&format!(
                    "SELECT {COLUMNS} FROM items WHERE {pk_column} = ?1 AND {sk_column} >= ?2 AND {sk_column} < ?3 \
                     AND (expires_at_ms IS NULL OR expires_at_ms > ?4) ORDER BY {sk_column}"
                ))?;
                let items = statement.query_map(params![partition, from, to, now], read_item)?.collect();
                items
            })
            .await
            .map_err(backend)
    }
}
