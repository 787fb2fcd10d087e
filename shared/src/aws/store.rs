use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use time::OffsetDateTime;

use super::describe;
use crate::ports::{Clock, Condition, Item, ItemPage, Key, PageSpec, Purged, StateStore, StoreError, Write};

/// The name of the secondary index in `template.yaml`.
pub const INDEX_NAME: &str = "by-index";

/// The state store on one DynamoDB table: `pk`, `sk`, `body` (the JSON text: it reads back exactly
/// as written, whereas DynamoDB numbers are normalised), `version`, `write` (the id of the put
/// that wrote it), `index_pk`/`index_sk` and the
/// TTL attribute `expires_at` (epoch seconds, rounded up so TTL never deletes an item early).
///
/// DynamoDB deletes expired items lazily (often days later), so every read and every condition
/// treats an item whose `expires_at` has passed as absent, as the embedded store does.
pub struct DynamoStateStore {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

type Attributes = HashMap<String, AttributeValue>;

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Every attribute is addressed through a placeholder, so reserved words never get in the way.
const NAMES: [(&str, &str); 7] = [
    ("#pk", "pk"),
    ("#sk", "sk"),
    ("#body", "body"),
    ("#version", "version"),
    ("#expires", "expires_at"),
    ("#ipk", "index_pk"),
    ("#isk", "index_sk"),
];

/// The placeholders an expression uses (DynamoDB refuses unused ones).
fn names_in(expressions: &[&str]) -> Option<HashMap<String, String>> {
    let used: HashMap<String, String> = NAMES
        .iter()
        .filter(|(placeholder, _)| expressions.iter().any(|e| e.contains(placeholder)))
        .map(|(placeholder, name)| ((*placeholder).to_owned(), (*name).to_owned()))
        .collect();
    (!used.is_empty()).then_some(used)
}

/// `now` as epoch seconds with milliseconds, compared with `expires_at`.
fn now_value(now: OffsetDateTime) -> AttributeValue {
    let millis = now.unix_timestamp_nanos() / 1_000_000;
    n(format!("{}.{:03}", millis.div_euclid(1000), millis.rem_euclid(1000)))
}

/// The item has not expired (or never expires).
const LIVE: &str = "(attribute_not_exists(#expires) OR #expires > :now)";
/// No item, or an expired one.
const ABSENT: &str = "(attribute_not_exists(#pk) OR #expires <= :now)";
/// A live item, or none.
const LIVE_OR_ABSENT: &str = "(attribute_not_exists(#pk) OR attribute_not_exists(#expires) OR #expires > :now)";
/// The live item at the expected version.
const CURRENT: &str = "#version = :expected AND (attribute_not_exists(#expires) OR #expires > :now)";

fn key_attributes(key: &Key) -> Attributes {
    HashMap::from([("pk".into(), s(&key.partition)), ("sk".into(), s(&key.sort))])
}

fn expiry_seconds(at: OffsetDateTime) -> i64 {
    let seconds = at.unix_timestamp();
    if at.nanosecond() > 0 { seconds + 1 } else { seconds }
}

/// The attributes a put writes; `write` is new for each put, so that a put whose condition
/// failed can tell its own earlier attempt (sent again by the SDK) from anyone else's.
fn item_attributes(item: &Item, version: u64) -> Attributes {
    let mut attributes = key_attributes(&item.key);
    attributes.insert("body".into(), s(item.body.to_string()));
    attributes.insert("version".into(), n(version));
    attributes.insert("write".into(), s(uuid::Uuid::new_v4().to_string()));
    if let Some(at) = item.expires_at {
        attributes.insert("expires_at".into(), n(expiry_seconds(at)));
    }
    if let Some(index) = &item.index {
        attributes.insert("index_pk".into(), s(&index.partition));
        attributes.insert("index_sk".into(), s(&index.sort));
    }
    attributes
}

fn unreadable(what: &str) -> StoreError {
    StoreError::Backend(format!("unreadable item: {what}"))
}

fn string(attributes: &Attributes, name: &str) -> Result<String, StoreError> {
    attributes.get(name).and_then(|v| v.as_s().ok()).cloned().ok_or_else(|| unreadable(name))
}

fn number<T: std::str::FromStr>(attributes: &Attributes, name: &str) -> Result<Option<T>, StoreError> {
    attributes
        .get(name)
        .map(|v| v.as_n().ok().and_then(|raw| raw.parse().ok()).ok_or_else(|| unreadable(name)))
        .transpose()
}

/// The item, or `None` if it has expired.
fn read_item(attributes: &Attributes, now: OffsetDateTime) -> Result<Option<Item>, StoreError> {
    let expires_at = number::<i64>(attributes, "expires_at")?
        .map(|seconds| OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| unreadable("expires_at")))
        .transpose()?;
    if expires_at.is_some_and(|at| at <= now) {
        return Ok(None);
    }
    let index = match (attributes.get("index_pk"), attributes.get("index_sk")) {
        (Some(_), Some(_)) => Some(Key::new(string(attributes, "index_pk")?, string(attributes, "index_sk")?)),
        _ => None,
    };
    Ok(Some(Item {
        key: Key::new(string(attributes, "pk")?, string(attributes, "sk")?),
        body: serde_json::from_str(&string(attributes, "body")?).map_err(|_| unreadable("body"))?,
        version: number(attributes, "version")?.ok_or_else(|| unreadable("version"))?,
        expires_at,
        index,
    }))
}

/// One write as a DynamoDB operation: `put` and `delete` with a condition expression, or an
/// `update` that increments the version.
enum Operation {
    Put(Attributes),
    Update { expression: String, values: Attributes },
    Delete,
}

struct Planned {
    key: Key,
    operation: Operation,
    condition: Option<&'static str>,
    /// The version a `CURRENT` condition expects.
    expected: Option<u64>,
}

impl Planned {
    /// Unconditional puts count up the version of the live item, which they cannot know without
    /// reading: first as an update of a live (or missing) item; if the item turns out to be
    /// expired-but-not-yet-deleted, as the creation of a new one (`replace_expired`).
    fn new(write: &Write, replace_expired: bool) -> Planned {
        match write {
            Write::Put { item, condition: Condition::Absent } => Planned::create(item),
            Write::Put { item, condition: Condition::Always } if replace_expired => Planned::create(item),
            Write::Put { item, condition: Condition::Always } => {
                let mut set = vec!["#body = :body", "#version = if_not_exists(#version, :zero) + :one"];
                let mut remove = vec![];
                let mut values = HashMap::from([
                    (":body".into(), s(item.body.to_string())),
                    (":zero".into(), n(0)),
                    (":one".into(), n(1)),
                ]);
                match item.expires_at {
                    Some(at) => {
                        set.push("#expires = :expires");
                        values.insert(":expires".into(), n(expiry_seconds(at)));
                    }
                    None => remove.push("#expires"),
                }
                match &item.index {
                    Some(index) => {
                        set.extend(["#ipk = :ipk", "#isk = :isk"]);
                        values.insert(":ipk".into(), s(&index.partition));
                        values.insert(":isk".into(), s(&index.sort));
                    }
                    None => remove.extend(["#ipk", "#isk"]),
                }
                let mut expression = format!("SET {}", set.join(", "));
                if !remove.is_empty() {
                    expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
                }
                Planned {
                    key: item.key.clone(),
                    operation: Operation::Update { expression, values },
                    condition: Some(LIVE_OR_ABSENT),
                    expected: None,
                }
            }
            Write::Put { item, condition: Condition::Version(version) } => Planned {
                key: item.key.clone(),
                operation: Operation::Put(item_attributes(item, version + 1)),
                condition: Some(CURRENT),
                expected: Some(*version),
            },
            Write::Delete { key, condition } => Planned {
                key: key.clone(),
                operation: Operation::Delete,
                condition: match condition {
                    Condition::Always => None,
                    Condition::Absent => Some(ABSENT),
                    Condition::Version(_) => Some(CURRENT),
                },
                expected: match condition {
                    Condition::Version(version) => Some(*version),
                    _ => None,
                },
            },
        }
    }

    fn create(item: &Item) -> Planned {
        Planned {
            key: item.key.clone(),
            operation: Operation::Put(item_attributes(item, 1)),
            condition: Some(ABSENT),
            expected: None,
        }
    }

    /// Names and values of the expressions.
    fn expression_parts(&self, now: OffsetDateTime) -> (Option<HashMap<String, String>>, Option<Attributes>) {
        let update = match &self.operation {
            Operation::Update { expression, .. } => expression.as_str(),
            _ => "",
        };
        let condition = self.condition.unwrap_or("");
        let names = names_in(&[update, condition]);
        let mut values = match &self.operation {
            Operation::Update { values, .. } => values.clone(),
            _ => HashMap::new(),
        };
        if condition.contains(":now") {
            values.insert(":now".into(), now_value(now));
        }
        if let Some(version) = self.expected {
            values.insert(":expected".into(), n(version));
        }
        (names, (!values.is_empty()).then_some(values))
    }

    fn transact_item(&self, table: &str, now: OffsetDateTime) -> TransactWriteItem {
        let (names, values) = self.expression_parts(now);
        let built = match &self.operation {
            Operation::Put(attributes) => TransactWriteItem::builder().put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(attributes.clone()))
                    .set_condition_expression(self.condition.map(Into::into))
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .expect("table, item set"),
            ),
            Operation::Update { expression, .. } => TransactWriteItem::builder().update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key_attributes(&self.key)))
                    .update_expression(expression)
                    .set_condition_expression(self.condition.map(Into::into))
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .expect("table, key and expression set"),
            ),
            Operation::Delete => TransactWriteItem::builder().delete(
                Delete::builder()
                    .table_name(table)
                    .set_key(Some(key_attributes(&self.key)))
                    .set_condition_expression(self.condition.map(Into::into))
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .expect("table and key set"),
            ),
        };
        built.build()
    }
}

/// How one attempt of a batch ended.
enum Attempt {
    Done,
    /// These writes' conditions failed.
    ConditionsFailed(Vec<usize>),
}

/// Attempts before an unconditional put gives up on an item that keeps changing between its
/// "live" and "expired" forms.
const ATTEMPTS: usize = 4;

impl DynamoStateStore {
    pub fn new(client: Client, table: &str, clock: Arc<dyn Clock>) -> Self {
        Self { client, table: table.into(), clock }
    }

    async fn attempt(&self, plans: &[Planned]) -> Result<Attempt, StoreError> {
        let now = self.clock.now();
        if let [plan] = plans {
            return self.single(plan, now).await;
        }
        let items = plans.iter().map(|plan| plan.transact_item(&self.table, now));
        // The SDK gives each call a `ClientRequestToken` that its own retries repeat: a commit
        // whose answer was lost then succeeds again instead of failing its conditions on itself
        // (tests/aws.rs, through a proxy that drops the first answer).
        match self.client.transact_write_items().set_transact_items(Some(items.collect())).send().await {
            Ok(_) => Ok(Attempt::Done),
            Err(SdkError::ServiceError(failure)) => match failure.err() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                    let reasons = cancelled.cancellation_reasons();
                    let failed: Vec<usize> = reasons
                        .iter()
                        .enumerate()
                        .filter(|(_, reason)| reason.code() == Some("ConditionalCheckFailed"))
                        .map(|(i, _)| i)
                        .collect();
                    if failed.is_empty() {
                        // A conflicting transaction or throttling: nothing was written.
                        let codes: Vec<&str> = reasons.iter().filter_map(|r| r.code()).collect();
                        Err(StoreError::Backend(format!("transaction cancelled: {codes:?}")))
                    } else {
                        Ok(Attempt::ConditionsFailed(failed))
                    }
                }
                other => Err(StoreError::Backend(describe(other))),
            },
            Err(error) => Err(StoreError::Backend(describe(&error))),
        }
    }

    async fn single(&self, plan: &Planned, now: OffsetDateTime) -> Result<Attempt, StoreError> {
        let (names, values) = plan.expression_parts(now);
        let condition = plan.condition.map(String::from);
        let table = &self.table;
        let key = Some(key_attributes(&plan.key));
        // Each operation has its own error type; all that matters is whether the condition failed.
        fn outcome<O, E>(
            result: Result<O, SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>>,
        ) -> Result<Attempt, StoreError>
        where
            E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
        {
            match result {
                Ok(_) => Ok(Attempt::Done),
                Err(SdkError::ServiceError(failure))
                    if failure.err().code() == Some("ConditionalCheckFailedException") =>
                {
                    Ok(Attempt::ConditionsFailed(vec![0]))
                }
                Err(error) => Err(StoreError::Backend(describe(&error))),
            }
        }
        match &plan.operation {
            Operation::Put(attributes) => {
                let result = self
                    .client
                    .put_item()
                    .table_name(table)
                    .set_item(Some(attributes.clone()))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .send()
                    .await;
                // A single put carries no token: when the SDK sent it again after its answer was
                // lost, its condition fails on the very item it wrote (its own `write` id).
                if let Err(SdkError::ServiceError(failure)) = &result
                    && let PutItemError::ConditionalCheckFailedException(failed) = failure.err()
                    && failed.item() == Some(attributes)
                {
                    return Ok(Attempt::Done);
                }
                outcome(result)
            }
            Operation::Update { expression, .. } => outcome(
                self.client
                    .update_item()
                    .table_name(table)
                    .set_key(key)
                    .update_expression(expression)
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .send()
                    .await,
            ),
            Operation::Delete => outcome(
                self.client
                    .delete_item()
                    .table_name(table)
                    .set_key(key)
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .send()
                    .await,
            ),
        }
    }

    /// Unexpired items of a query on the table or on the index, in sort order, page by page.
    async fn select(&self, index: Option<&str>, partition: &str, sort_prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let (page, next) = self.query_call(index, partition, sort_prefix, None, true, start).await?;
            items.extend(page);
            match next {
                Some(key) => start = Some(key),
                None => return Ok(items),
            }
        }
    }

    /// One Query call: the unexpired items it read (at most `limit` evaluated), and the key it
    /// stopped at if there may be more.
    async fn query_call(
        &self,
        index: Option<&str>,
        partition: &str,
        sort_prefix: &str,
        limit: Option<i32>,
        forward: bool,
        start: Option<HashMap<String, AttributeValue>>,
    ) -> Result<(Vec<Item>, Option<HashMap<String, AttributeValue>>), StoreError> {
        let (pk, sk) = if index.is_some() { ("#ipk", "#isk") } else { ("#pk", "#sk") };
        // `begins_with` refuses an empty prefix.
        let key_condition = if sort_prefix.is_empty() {
            format!("{pk} = :partition")
        } else {
            format!("{pk} = :partition AND begins_with({sk}, :prefix)")
        };
        let mut values = HashMap::from([(":partition".to_owned(), s(partition))]);
        if !sort_prefix.is_empty() {
            values.insert(":prefix".into(), s(sort_prefix));
        }
        let now = self.clock.now();
        values.insert(":now".into(), now_value(now));
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(Into::into))
            // Reads of the table see every write before them; index reads cannot be consistent.
            .consistent_read(index.is_none())
            .key_condition_expression(&key_condition)
            .filter_expression(LIVE)
            .set_expression_attribute_names(names_in(&[&key_condition, LIVE]))
            .set_expression_attribute_values(Some(values))
            .set_limit(limit)
            .scan_index_forward(forward)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| StoreError::Backend(describe(&e)))?;
        let mut items = Vec::new();
        for attributes in page.items() {
            items.extend(read_item(attributes, now)?);
        }
        Ok((items, page.last_evaluated_key))
    }
}

#[async_trait]
impl StateStore for DynamoStateStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::Backend(describe(&e)))?;
        match output.item() {
            Some(attributes) => read_item(attributes, self.clock.now()),
            None => Ok(None),
        }
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut replace_expired = vec![false; writes.len()];
        for _ in 0..ATTEMPTS {
            let plans: Vec<Planned> = writes.iter().zip(&replace_expired).map(|(w, r)| Planned::new(w, *r)).collect();
            let failed = match self.attempt(&plans).await? {
                Attempt::Done => return Ok(()),
                Attempt::ConditionsFailed(failed) => failed,
            };
            // A failed unconditional put met an item in the other form than assumed: switch it
            // and try again. Any other failed condition is the caller's conflict.
            let mut retry = false;
            for i in failed {
                match writes[i] {
                    Write::Put { condition: Condition::Always, .. } => {
                        replace_expired[i] = !replace_expired[i];
                        retry = true;
                    }
                    _ => return Err(StoreError::ConditionFailed),
                }
            }
            if !retry {
                return Err(StoreError::ConditionFailed);
            }
        }
        Err(StoreError::Backend("an item kept changing under an unconditional write".into()))
    }

    async fn query(&self, partition: &str, sort_prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.select(None, partition, sort_prefix).await
    }

    async fn query_index(&self, partition: &str, sort_prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.select(Some(INDEX_NAME), partition, sort_prefix).await
    }

    async fn query_page(&self, partition: &str, sort_prefix: &str, page: &PageSpec) -> Result<ItemPage, StoreError> {
        let start =
            page.after.as_ref().map(|sort| HashMap::from([("pk".into(), s(partition)), ("sk".into(), s(sort))]));
        let limit = i32::try_from(page.limit.max(1)).unwrap_or(i32::MAX);
        let (items, next) =
            self.query_call(None, partition, sort_prefix, Some(limit), !page.newest_first, start).await?;
        let next = next.and_then(|key| key.get("sk").and_then(|sk| sk.as_s().ok()).cloned());
        Ok(ItemPage { items, next })
    }

    async fn query_index_page(
        &self,
        partition: &str,
        sort_prefix: &str,
        page: &PageSpec,
    ) -> Result<ItemPage, StoreError> {
        // The cursor is the key DynamoDB stopped at (table and index keys), as JSON.
        let start = match &page.after {
            Some(cursor) => {
                let key: HashMap<String, String> =
                    serde_json::from_str(cursor).map_err(|_| StoreError::Backend("unreadable index cursor".into()))?;
                Some(key.into_iter().map(|(name, value)| (name, s(&value))).collect())
            }
            None => None,
        };
        let limit = i32::try_from(page.limit.max(1)).unwrap_or(i32::MAX);
        let (items, next) =
            self.query_call(Some(INDEX_NAME), partition, sort_prefix, Some(limit), !page.newest_first, start).await?;
        let next = next.map(|key| {
            let key: HashMap<&String, &str> =
                key.iter().filter_map(|(name, value)| Some((name, value.as_s().ok()?.as_str()))).collect();
            serde_json::to_string(&key).expect("keys serialise")
        });
        Ok(ItemPage { items, next })
    }

    /// DynamoDB's TTL deletes expired items by itself, late; this deletes them now (the local
    /// runtime calls it periodically). Each delete is conditional, so a renewed item survives.
    async fn purge_expired(&self, after: Option<Key>, limit: usize) -> Result<Purged, StoreError> {
        let expired = "#expires <= :now";
        let now = now_value(self.clock.now());
        let start =
            after.map(|key| HashMap::from([("pk".to_owned(), s(key.partition)), ("sk".to_owned(), s(key.sort))]));
        let page = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression(expired)
            .projection_expression("#pk, #sk")
            .set_expression_attribute_names(names_in(&[expired, "#pk, #sk"]))
            .expression_attribute_values(":now", now.clone())
            .set_exclusive_start_key(start)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| StoreError::Backend(describe(&e)))?;
        let mut purged = 0;
        for key in page.items() {
            let deleted = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key.clone()))
                .condition_expression(expired)
                .set_expression_attribute_names(names_in(&[expired]))
                .expression_attribute_values(":now", now.clone())
                .send()
                .await;
            match deleted {
                Ok(_) => purged += 1,
                Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {}
                Err(e) => return Err(StoreError::Backend(describe(&e))),
            }
        }
        let next = match page.last_evaluated_key() {
            Some(key) => Some(Key::new(string(key, "pk")?, string(key, "sk")?)),
            None => None,
        };
        Ok(Purged { items: purged, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn expiry_is_rounded_up_to_whole_seconds() {
        assert_eq!(expiry_seconds(datetime!(2025-03-03 09:00:00 UTC)), 1_740_992_400);
        assert_eq!(expiry_seconds(datetime!(2025-03-03 09:00:00.001 UTC)), 1_740_992_401);
    }

    #[test]
    fn now_keeps_milliseconds() {
        assert_eq!(now_value(datetime!(2025-03-03 09:00:00.042 UTC)), n("1740992400.042"));
    }

    #[test]
    fn only_used_placeholders_are_declared() {
        let names = names_in(&["#pk = :partition", LIVE]).unwrap();
        assert_eq!(names.len(), 2);
        assert_eq!(names["#expires"], "expires_at");
    }
}
