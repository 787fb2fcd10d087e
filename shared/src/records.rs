//! How the domain is laid out in the state store (single-table design):
//!
//! | item | partition | sort | index |
//! |---|---|---|---|
//! | office | `OFFICES` | office id | |
//! | draft | `CITIZEN#<sub>` | `DRAFT#<id>` | |
//! | idempotency key | `CITIZEN#<sub>` | `IDEMPOTENCY#<key>` | |
//! | request | `REQUEST#<id>` | `REQUEST` | `OFFICE#<office>` / `<status>#<id>` |
//!
//! Drafts live under their owner's partition, so nobody else can even address them.

use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::domain::draft::Draft;
use crate::domain::office::{Directory, Office};
use crate::domain::request::Request;
use crate::domain::values::ClientId;
use crate::ports::{Condition, Item, Key, StateStore, StoreError, Write};

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_LIFETIME: Duration = Duration::days(7);

/// A value with the store version it was read at (for conditional updates).
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

fn decode<T: DeserializeOwned>(item: Item) -> Result<Versioned<T>, StoreError> {
    let value = serde_json::from_value(item.body)
        .map_err(|e| StoreError::Backend(format!("unreadable record {}/{}: {e}", item.key.partition, item.key.sort)))?;
    Ok(Versioned { value, version: item.version })
}

fn encode(value: &impl Serialize) -> Value {
    serde_json::to_value(value).expect("domain records serialise")
}

// --- offices --------------------------------------------------------------------------------

pub fn office_key(id: &str) -> Key {
    Key::new("OFFICES", id)
}

pub async fn offices(store: &dyn StateStore) -> Result<Vec<Office>, StoreError> {
    store.query("OFFICES", "").await?.into_iter().map(|item| decode(item).map(|v| v.value)).collect()
}

pub async fn directory(store: &dyn StateStore) -> Result<Directory, StoreError> {
    offices(store).await.map(Directory::new)
}

/// Stores an office; with `only_if_new`, an existing one is left as it is (returns false).
pub async fn put_office(store: &dyn StateStore, office: &Office, only_if_new: bool) -> Result<bool, StoreError> {
    let condition = if only_if_new { Condition::Absent } else { Condition::Always };
    let item = Item::new(office_key(&office.id), encode(office));
    match store.write(vec![Write::Put { item, condition }]).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) if only_if_new => Ok(false),
        Err(e) => Err(e),
    }
}

// --- drafts ---------------------------------------------------------------------------------

fn citizen_partition(subject: &str) -> String {
    format!("CITIZEN#{subject}")
}

pub fn draft_key(owner: &str, id: &ClientId) -> Key {
    Key::new(citizen_partition(owner), format!("DRAFT#{}", id.as_str()))
}

pub async fn draft(store: &dyn StateStore, owner: &str, id: &ClientId) -> Result<Option<Draft>, StoreError> {
    store.get(&draft_key(owner, id)).await?.map(|item| decode(item).map(|v| v.value)).transpose()
}

pub async fn save_draft(store: &dyn StateStore, owner: &str, draft: &Draft) -> Result<(), StoreError> {
    let item = Item { expires_at: Some(draft.expires_at), ..Item::new(draft_key(owner, &draft.id), encode(draft)) };
    store.write(vec![Write::Put { item, condition: Condition::Always }]).await
}

/// Deletes the draft; false if there was none.
pub async fn delete_draft(store: &dyn StateStore, owner: &str, id: &ClientId) -> Result<bool, StoreError> {
    let key = draft_key(owner, id);
    let Some(item) = store.get(&key).await? else { return Ok(false) };
    match store.write(vec![Write::Delete { key, condition: Condition::Version(item.version) }]).await {
        Ok(()) => Ok(true),
        // Deleted or saved again meanwhile: retrying is the caller's call; report it as gone.
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

// --- requests -------------------------------------------------------------------------------

pub fn request_key(id: &str) -> Key {
    Key::new(format!("REQUEST#{id}"), "REQUEST")
}

fn request_item(request: &Request) -> Item {
    Item {
        index: Some(Key::new(
            format!("OFFICE#{}", request.office_id),
            format!("{}#{}", request.status.as_str(), request.id),
        )),
        ..Item::new(request_key(&request.id), encode(request))
    }
}

pub async fn request(store: &dyn StateStore, id: &str) -> Result<Option<Versioned<Request>>, StoreError> {
    store.get(&request_key(id)).await?.map(decode).transpose()
}

/// Writes a changed request if nobody else changed it since `version` was read.
pub async fn update_request(store: &dyn StateStore, request: &Request, version: u64) -> Result<(), StoreError> {
    store.write(vec![Write::Put { item: request_item(request), condition: Condition::Version(version) }]).await
}

/// What an idempotency key remembers: the request it created and a fingerprint of the body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdempotencyRecord {
    pub request_id: String,
    pub fingerprint: String,
}

pub fn idempotency_key(owner: &str, key: &ClientId) -> Key {
    Key::new(citizen_partition(owner), format!("IDEMPOTENCY#{}", key.as_str()))
}

pub async fn idempotency_record(
    store: &dyn StateStore,
    owner: &str,
    key: &ClientId,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    store.get(&idempotency_key(owner, key)).await?.map(|item| decode(item).map(|v| v.value)).transpose()
}

/// Stores a new request in one transaction with its idempotency key and the removal of the
/// draft it came from: all of it or nothing.
pub async fn create_request(
    store: &dyn StateStore,
    request: &Request,
    idempotency: Option<(&ClientId, &str)>,
    draft: Option<&ClientId>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let owner = &request.login.subject;
    let mut writes = vec![Write::Put { item: request_item(request), condition: Condition::Absent }];
    if let Some((key, fingerprint)) = idempotency {
        let record = json!({"request_id": request.id, "fingerprint": fingerprint});
        let item =
            Item { expires_at: Some(now + IDEMPOTENCY_LIFETIME), ..Item::new(idempotency_key(owner, key), record) };
        writes.push(Write::Put { item, condition: Condition::Absent });
    }
    if let Some(draft_id) = draft {
        writes.push(Write::Delete { key: draft_key(owner, draft_id), condition: Condition::Always });
    }
    store.write(writes).await
}
