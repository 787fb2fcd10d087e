//! How the domain is laid out in the state store (single-table design):
//!
//! | item | partition | sort | index |
//! |---|---|---|---|
//! | office | `OFFICES` | office id | |
//! | imported directory of municipalities in use | `PLACES` | `CURRENT` | |
//! | draft | `CITIZEN#<sub>` | `DRAFT#<id>` | |
//! | a draft's reminder, due on a day | `DRAFTREMINDERS#<day>` | `<sub>#<draft id>` | |
//! | the reminder she got | `CITIZEN#<sub>` | `REMINDED#<draft id>#<expiry day>` | |
//! | idempotency key | `CITIZEN#<sub>` | `IDEMPOTENCY#<key>` | |
//! | request | `REQUEST#<id>` | `REQUEST` | `OFFICE#<office>` / `<status>#<id>` |
//! | the step of the chain it waits for (outbox) | `REQUEST#<id>` | `HANDON` | `HANDON#<shard>` / `<since, ms>#<id>` |
//! | her request, for her list | `CITIZEN#<sub>` | `REQUEST#<submitted, ms>#<id>` | |
//! | register entry | `REGISTER#<office>` | `<child's birth date>#<id>` | |
//! | certificate verification record | `CERTIFICATE#<sha256 of the code>` | `CERTIFICATE` | |
//! | message | `REQUEST#<id>` | `MESSAGE#<time>#<id>` | |
//! | news she was told of | `REQUEST#<id>` | `NOTICE#<key>` | |
//! | a bounce or complaint about her mail | `REQUEST#<id>` | `NOTICE#feedback:<feedback id>` | |
//! | audit entry | `AUDIT#<request id>` | `<seq>` | |
//! | the last audit entry (the trail's head) | `AUDITHEAD#<request id>` | `HEAD` | |
//! | a staff sign-in under way at an office's provider | `STAFFLOGIN#<state>` | `STAFFLOGIN` | |
//! | a staff member's session | `STAFFSESSION#<sid>` | `STAFFSESSION` | |
//!
//! Drafts live under their owner's partition, so nobody else can even address them.

use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime};

use crate::domain::audit::{AuditEntry, AuditKey};
use crate::domain::draft::Draft;
use crate::domain::message::Message;
use crate::domain::office::Office;
use crate::domain::register::RegisterEntry;
use crate::domain::request::{Request, Status};
use crate::domain::values::{ClientId, format_date};
use crate::domain::verification::{VerificationRecord, code_hash};
use crate::ports::{Condition, Item, Key, PageSpec, StateStore, StoreError, Write};
use crate::texts::Lang;

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

// --- staff sessions -------------------------------------------------------------------------

/// A case worker's session after signing in at the office's provider: what signing out needs
/// (the provider's ID token as hint). It is deleted when they sign out, and expires with the
/// session's longest life; a session token whose record is gone counts no more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StaffSession {
    pub office_id: String,
    pub id_token: String,
}

pub fn staff_session_key(sid: &str) -> Key {
    Key::new(format!("STAFFSESSION#{sid}"), "STAFFSESSION")
}

pub async fn staff_session(store: &dyn StateStore, sid: &str) -> Result<Option<StaffSession>, StoreError> {
    store.get(&staff_session_key(sid)).await?.map(|item| decode(item).map(|v| v.value)).transpose()
}

pub async fn start_staff_session(
    store: &dyn StateStore,
    sid: &str,
    session: &StaffSession,
    until: OffsetDateTime,
) -> Result<(), StoreError> {
    let mut item = Item::new(staff_session_key(sid), encode(session));
    item.expires_at = Some(until);
    store.write(vec![Write::Put { item, condition: Condition::Absent }]).await
}

pub async fn end_staff_session(store: &dyn StateStore, sid: &str) -> Result<(), StoreError> {
    store.write(vec![Write::Delete { key: staff_session_key(sid), condition: Condition::Always }]).await
}

// --- offices --------------------------------------------------------------------------------

pub fn office_key(id: &str) -> Key {
    Key::new("OFFICES", id)
}

pub async fn offices(store: &dyn StateStore) -> Result<Vec<Office>, StoreError> {
    store.query("OFFICES", "").await?.into_iter().map(|item| decode(item).map(|v| v.value)).collect()
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

// --- directory of municipalities --------------------------------------------------------------

fn places_key() -> Key {
    Key::new("PLACES", "CURRENT")
}

/// The Gebietsstand of the imported directory of municipalities in use, if one was imported.
pub async fn places_stand(store: &dyn StateStore) -> Result<Option<String>, StoreError> {
    let item = store.get(&places_key()).await?;
    Ok(item.and_then(|item| item.body.get("stand").and_then(Value::as_str).map(str::to_owned)))
}

pub async fn set_places_stand(store: &dyn StateStore, stand: &str) -> Result<(), StoreError> {
    let item = Item::new(places_key(), json!({ "stand": stand }));
    store.write(vec![Write::Put { item, condition: Condition::Always }]).await
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

/// Saves the draft. With `remind_in` (the language of the form she saved it in), and where it
/// holds an address for mail, she is reminded before it expires. The reminder is filed under
/// its day, so the daily job reads that day's alone; a later save files a later one, and the
/// earlier is passed over.
pub async fn save_draft(
    store: &dyn StateStore,
    owner: &str,
    draft: &Draft,
    remind_in: Option<Lang>,
) -> Result<(), StoreError> {
    let item = Item { expires_at: Some(draft.expires_at), ..Item::new(draft_key(owner, &draft.id), encode(draft)) };
    let mut writes = vec![Write::Put { item, condition: Condition::Always }];
    if let Some(lang) = remind_in.filter(|_| draft.reminder_address().is_some()) {
        let reminder = DraftReminder { owner: owner.to_owned(), draft_id: draft.id.clone(), lang };
        let key = Key::new(
            format!("{DRAFT_REMINDERS}{}", format_date(draft.reminder_day())),
            format!("{owner}#{}", draft.id.as_str()),
        );
        let item = Item { expires_at: Some(draft.expires_at), ..Item::new(key, encode(&reminder)) };
        writes.push(Write::Put { item, condition: Condition::Always });
    }
    store.write(writes).await
}

const DRAFT_REMINDERS: &str = "DRAFTREMINDERS#";

/// A draft to remind its owner of.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DraftReminder {
    pub owner: String,
    pub draft_id: ClientId,
    pub lang: Lang,
}

/// The reminders filed under `day`, a page at a time (`after`: the previous page's cursor).
pub async fn draft_reminders_due(
    store: &dyn StateStore,
    day: Date,
    limit: usize,
    after: Option<String>,
) -> Result<(Vec<DraftReminder>, Option<String>), StoreError> {
    let page = PageSpec { limit, after, newest_first: false };
    let listed = store.query_page(&format!("{DRAFT_REMINDERS}{}", format_date(day)), "", &page).await?;
    let reminders = listed.items.into_iter().map(|item| decode(item).map(|v| v.value)).collect::<Result<_, _>>()?;
    Ok((reminders, listed.next))
}

fn reminded_key(owner: &str, draft: &Draft) -> Key {
    Key::new(citizen_partition(owner), format!("REMINDED#{}#{}", draft.id.as_str(), format_date(draft.expiry_day())))
}

/// Whether she was reminded of this draft's expiry already.
pub async fn reminded(store: &dyn StateStore, owner: &str, draft: &Draft) -> Result<bool, StoreError> {
    Ok(store.get(&reminded_key(owner, draft)).await?.is_some())
}

/// Records that she was reminded (or that her address refused it): once per expiry.
pub async fn record_reminder(
    store: &dyn StateStore,
    owner: &str,
    draft: &Draft,
    record: &NoticeRecord,
) -> Result<(), StoreError> {
    let item = Item { expires_at: Some(draft.expires_at), ..Item::new(reminded_key(owner, draft), encode(record)) };
    match store.write(vec![Write::Put { item, condition: Condition::Absent }]).await {
        Err(StoreError::ConditionFailed) => Ok(()),
        result => result,
    }
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

/// The partition of a request: the request itself, its messages and what she was told of.
pub fn request_partition(id: &str) -> String {
    format!("REQUEST#{id}")
}

pub fn request_key(id: &str) -> Key {
    Key::new(request_partition(id), "REQUEST")
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

/// The writes that store a request changed at `at`: the request, and in the same transaction
/// the step of the chain it waits for from then on (or that it waits for none), so that no
/// hand-on is lost between a write and the message that passes it on.
fn request_writes(request: &Request, condition: Condition, at: OffsetDateTime) -> [Write; 3] {
    [Write::Put { item: request_item(request), condition }, hand_on_write(request, at), retention_write(request)]
}

// --- retention ------------------------------------------------------------------------------

/// Where retention finds a finished request: under its office, by the time it finished, so that
/// a run reads only what is due. Like the hand-on, kept without index key while it is open.
fn retention_key(request_id: &str) -> Key {
    Key::new(request_partition(request_id), "RETENTION")
}

fn retention_partition(office_id: &str) -> String {
    format!("RETAIN#{office_id}")
}

fn retention_item(request: &Request) -> Item {
    let item = Item::new(retention_key(&request.id), json!({"request_id": request.id}));
    match request.finished_at() {
        Some(at) => {
            let at = at.unix_timestamp_nanos() / 1_000_000;
            let sort = format!("{at:013}#{}", request.id);
            Item { index: Some(Key::new(retention_partition(&request.office_id), sort)), ..item }
        }
        None => item,
    }
}

fn retention_write(request: &Request) -> Write {
    Write::Put { item: retention_item(request), condition: Condition::Always }
}

/// The items that go with the request itself when retention deletes it last: its hand-on and
/// its place in the retention index (deleted earlier, a change meanwhile would lose them).
pub fn request_companion_keys(request_id: &str) -> [Key; 2] {
    [hand_on_key(request_id), retention_key(request_id)]
}

/// The ids of `office_id`'s requests that finished before `before`, oldest first, a page of
/// `limit` after `after` (the `next` of the page before). The index is read eventually
/// consistent: retention reads each request again before deleting it.
pub async fn finished_before(
    store: &dyn StateStore,
    office_id: &str,
    before: OffsetDateTime,
    limit: usize,
    after: Option<String>,
) -> Result<(Vec<String>, Option<String>), StoreError> {
    let page = PageSpec { limit, after, newest_first: false };
    let listed = store.query_index_page(&retention_partition(office_id), "", &page).await?;
    let before = before.unix_timestamp_nanos() / 1_000_000;
    let mut ids = Vec::new();
    for item in &listed.items {
        let Some((at, id)) = item.index.as_ref().and_then(|index| index.sort.split_once('#')) else { continue };
        if at.parse::<i128>().map_or(true, |at| at >= before) {
            return Ok((ids, None));
        }
        ids.push(id.to_owned());
    }
    Ok((ids, listed.next))
}

/// Puts a request finished before the retention index existed into it (see
/// [`RetentionBackfill`]); one that has its place already keeps it.
pub async fn index_for_retention(store: &dyn StateStore, request: &Request) -> Result<(), StoreError> {
    match store.write(vec![Write::Put { item: retention_item(request), condition: Condition::Absent }]).await {
        Err(StoreError::ConditionFailed) => Ok(()),
        result => result,
    }
}

/// How far retention has gone through an office's requests to put those that finished before
/// the retention index existed into it: a page at a time, continued by the next run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RetentionBackfill {
    /// The office index's sort key the next page begins after.
    pub after: Option<String>,
    pub done: bool,
}

fn retention_backfill_key(office_id: &str) -> Key {
    Key::new(retention_partition(office_id), "BACKFILL")
}

pub async fn retention_backfill(store: &dyn StateStore, office_id: &str) -> Result<RetentionBackfill, StoreError> {
    progress(store, &retention_backfill_key(office_id)).await
}

pub async fn set_retention_backfill(
    store: &dyn StateStore,
    office_id: &str,
    backfill: &RetentionBackfill,
) -> Result<(), StoreError> {
    set_progress(store, retention_backfill_key(office_id), backfill).await
}

/// Where a piece of work that goes on over several runs stands (none stored: at its start).
async fn progress<T: DeserializeOwned + Default>(store: &dyn StateStore, key: &Key) -> Result<T, StoreError> {
    Ok(store.get(key).await?.map(decode::<T>).transpose()?.map(|stored| stored.value).unwrap_or_default())
}

async fn set_progress(store: &dyn StateStore, key: Key, progress: &impl Serialize) -> Result<(), StoreError> {
    let item = Item::new(key, encode(progress));
    store.write(vec![Write::Put { item, condition: Condition::Always }]).await
}

/// Where the purge of expired items stands: the key the next page begins after, or when the
/// last pass over the table ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PurgeCursor {
    pub after: Option<Key>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub passed_at: Option<OffsetDateTime>,
}

fn purge_cursor_key() -> Key {
    Key::new("RETENTION", "PURGE")
}

pub async fn purge_cursor(store: &dyn StateStore) -> Result<PurgeCursor, StoreError> {
    progress(store, &purge_cursor_key()).await
}

pub async fn set_purge_cursor(store: &dyn StateStore, cursor: &PurgeCursor) -> Result<(), StoreError> {
    set_progress(store, purge_cursor_key(), cursor).await
}

// --- hand-ons -------------------------------------------------------------------------------

/// A request waits for a step of the chain ([`Request::next_step`]) since `since`: the outbox
/// of the hand-ons. Written with every change of the request, it leaves the index once the
/// request waits for no step; one that waits too long is handed on again by the sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct HandOn {
    pub request_id: String,
    /// Since when it waits for this step.
    #[serde(with = "time::serde::rfc3339")]
    pub waiting_since: OffsetDateTime,
    /// Since when it waits for this step or was last handed on by the sweep (its index key).
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// How often the sweep handed it on since its last change.
    #[serde(default)]
    pub swept: u32,
}

/// The index is spread over a few partitions, so that busy hours do not write one alone.
const HAND_ON_SHARDS: u32 = 8;

fn hand_on_key(request_id: &str) -> Key {
    Key::new(request_partition(request_id), "HANDON")
}

fn hand_on_item(hand_on: &HandOn) -> Item {
    let id = &hand_on.request_id;
    let shard =
        id.bytes().fold(0u32, |hash, byte| hash.wrapping_mul(31).wrapping_add(u32::from(byte))) % HAND_ON_SHARDS;
    let since = hand_on.since.unix_timestamp_nanos() / 1_000_000;
    Item {
        index: Some(Key::new(format!("HANDON#{shard}"), format!("{since:013}#{id}"))),
        ..Item::new(hand_on_key(id), encode(hand_on))
    }
}

/// A request that waits for no step keeps its hand-on item without the index key, so that the
/// sweep no longer finds it; a put rather than a delete, so that whoever writes requests needs
/// no right to delete (retention deletes it with the request).
fn hand_on_write(request: &Request, at: OffsetDateTime) -> Write {
    let item = match request.next_step() {
        Some(_) => hand_on_item(&HandOn { request_id: request.id.clone(), waiting_since: at, since: at, swept: 0 }),
        None => Item::new(hand_on_key(&request.id), json!({})),
    };
    Write::Put { item, condition: Condition::Always }
}

/// The hand-ons of every shard waiting since before `before`, oldest first per shard, at most
/// `limit` per shard. The index is read eventually consistent: what it names is read again.
pub async fn overdue_hand_ons(
    store: &dyn StateStore,
    before: OffsetDateTime,
    limit: usize,
) -> Result<Vec<Versioned<HandOn>>, StoreError> {
    let mut overdue = Vec::new();
    for shard in 0..HAND_ON_SHARDS {
        let mut after = None;
        let mut found = 0;
        'pages: loop {
            let page = PageSpec { limit: limit.min(100), after, newest_first: false };
            let listed = store.query_index_page(&format!("HANDON#{shard}"), "", &page).await?;
            for item in listed.items {
                let hand_on: Versioned<HandOn> = decode(item)?;
                if hand_on.value.since >= before || found == limit {
                    break 'pages;
                }
                found += 1;
                overdue.push(hand_on);
            }
            match listed.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    Ok(overdue)
}

/// The hand-on as the table holds it now (the index may lag).
pub async fn hand_on(store: &dyn StateStore, request_id: &str) -> Result<Option<Versioned<HandOn>>, StoreError> {
    store.get(&hand_on_key(request_id)).await?.filter(|item| item.index.is_some()).map(decode).transpose()
}

/// Records that the sweep hands the request on, due again as if it had waited since `since`,
/// if the hand-on is still the one read at `version` (else the request moved on meanwhile, or
/// another sweep took it).
pub async fn sweep_hand_on(
    store: &dyn StateStore,
    hand_on: &HandOn,
    version: u64,
    since: OffsetDateTime,
) -> Result<(), StoreError> {
    let swept = HandOn { since, swept: hand_on.swept + 1, ..hand_on.clone() };
    store.write(vec![Write::Put { item: hand_on_item(&swept), condition: Condition::Version(version) }]).await
}

/// Where her list finds the request: under her partition, by the time it was submitted.
pub fn citizen_request_key(request: &Request) -> Key {
    let submitted = request.timeline.first().map_or(0, |entry| entry.at.unix_timestamp_nanos() / 1_000_000);
    Key::new(citizen_partition(&request.login.subject), format!("{OWN_REQUEST}{submitted:013}#{}", request.id))
}

const OWN_REQUEST: &str = "REQUEST#";

/// Her requests, newest first, `limit` at a time; `after` is the `next` of the page before (any
/// text: it only positions within her own list). Answers the page and the next `after`.
pub async fn own_requests(
    store: &dyn StateStore,
    owner: &str,
    limit: usize,
    after: Option<&str>,
) -> Result<(Vec<Request>, Option<String>), StoreError> {
    let page = PageSpec { limit, after: after.map(|after| format!("{OWN_REQUEST}{after}")), newest_first: true };
    let listed = store.query_page(&citizen_partition(owner), OWN_REQUEST, &page).await?;
    let mut requests = Vec::with_capacity(listed.items.len());
    for item in &listed.items {
        let id = item.key.sort.rsplit('#').next().unwrap_or_default();
        // One removed meanwhile (retention) is left out.
        requests.extend(own_request(store, id, owner).await?);
    }
    let next = listed.next.map(|sort| sort.trim_start_matches(OWN_REQUEST).to_owned());
    Ok((requests, next))
}

pub async fn request(store: &dyn StateStore, id: &str) -> Result<Option<Versioned<Request>>, StoreError> {
    store.get(&request_key(id)).await?.map(decode).transpose()
}

/// The request if `owner` submitted it; someone else's reads as missing, so that its existence
/// is not disclosed.
pub async fn own_request(store: &dyn StateStore, id: &str, owner: &str) -> Result<Option<Request>, StoreError> {
    Ok(request(store, id).await?.map(|r| r.value).filter(|r| r.is_owned_by(owner)))
}

/// Who did what to a request, for its audit trail (ids only).
#[derive(Debug, Clone, Copy)]
pub struct Audit<'a> {
    pub key: &'a AuditKey,
    pub actor: &'a str,
    pub action: &'a str,
    pub at: OffsetDateTime,
}

/// Writes a changed request if nobody else changed it since `version` was read, together with
/// its audit entry.
pub async fn update_request(
    store: &dyn StateStore,
    request: &Request,
    version: u64,
    audit: Audit<'_>,
) -> Result<(), StoreError> {
    update_request_with(store, request, version, audit, Vec::new()).await
}

/// [`update_request`] with `more` writes in the same transaction.
async fn update_request_with(
    store: &dyn StateStore,
    request: &Request,
    version: u64,
    audit: Audit<'_>,
    more: Vec<Write>,
) -> Result<(), StoreError> {
    let mut writes = Vec::from(request_writes(request, Condition::Version(version), audit.at));
    writes.extend(more);
    write_audited(store, &request.id, Some(Condition::Version(version)), audit, writes).await
}

/// How often a write is made again because only the audit trail moved under it.
const AUDIT_ATTEMPTS: usize = 6;

/// Writes `writes` with the request's next audit entry, all or nothing. An entry someone
/// appended meanwhile (a read in another tab, a message) is no conflict: the entry is made
/// again after it. Only a request that is no longer as `request` expects (`Absent`, or at a
/// version) fails the write with `ConditionFailed`; without `request`, nothing else conflicts.
async fn write_audited(
    store: &dyn StateStore,
    request_id: &str,
    request: Option<Condition>,
    audit: Audit<'_>,
    writes: Vec<Write>,
) -> Result<(), StoreError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut all = writes.clone();
        all.extend(next_audit_writes(store, request_id, audit).await?);
        match store.write(all).await {
            Err(StoreError::ConditionFailed) if attempt < AUDIT_ATTEMPTS => {
                let stored = self::request(store, request_id).await?.map(|stored| stored.version);
                let unchanged = match request {
                    None => true,
                    Some(Condition::Absent) => stored.is_none(),
                    Some(Condition::Version(version)) => stored == Some(version),
                    Some(Condition::Always) => true,
                };
                if !unchanged {
                    return Err(StoreError::ConditionFailed);
                }
            }
            result => return result,
        }
    }
}

/// Her changed contact for the request (as [`update_request`]); where her address changed, the
/// reports that the old one bounced go with it, so that the new one gets mail.
pub async fn change_contact(
    store: &dyn StateStore,
    request: &Request,
    version: u64,
    audit: Audit<'_>,
    address_changed: bool,
) -> Result<(), StoreError> {
    let mut forget = Vec::new();
    if address_changed {
        for (key, record) in notices(store, &request.id).await? {
            if crate::domain::notice::Feedback::is_feedback(&record.news) {
                forget.push(Write::Delete { key: notice_key(&request.id, &key), condition: Condition::Always });
            }
        }
    }
    update_request_with(store, request, version, audit, forget).await
}

// --- audit trail ----------------------------------------------------------------------------

fn audit_partition(request_id: &str) -> String {
    format!("AUDIT#{request_id}")
}

/// The trail of a request, oldest first. It outlives the request (retention keeps it).
pub async fn audit_trail(store: &dyn StateStore, request_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
    store.query(&audit_partition(request_id), "").await?.into_iter().map(|item| decode(item).map(|v| v.value)).collect()
}

/// Where the last entry of a trail is kept beside it, so that a trail cut off at its end is
/// detected, and appending reads one item instead of the whole trail.
fn audit_head_key(request_id: &str) -> Key {
    Key::new(format!("AUDITHEAD#{request_id}"), "HEAD")
}

/// The last entry of the trail as it was appended (`None` for trails older than the head).
pub async fn audit_head(store: &dyn StateStore, request_id: &str) -> Result<Option<AuditEntry>, StoreError> {
    store.get(&audit_head_key(request_id)).await?.map(|item| decode(item).map(|v| v.value)).transpose()
}

/// The writes that append the next entry and move the head to it; they fail with
/// `ConditionFailed` if someone appended meanwhile, so a trail never forks.
async fn next_audit_writes(
    store: &dyn StateStore,
    request_id: &str,
    audit: Audit<'_>,
) -> Result<[Write; 2], StoreError> {
    let (last, head_condition) = match store.get(&audit_head_key(request_id)).await? {
        Some(item) => {
            let version = item.version;
            (Some(decode::<AuditEntry>(item)?.value), Condition::Version(version))
        }
        // A trail from before the head: its last entry, read once.
        None => (audit_trail(store, request_id).await?.pop(), Condition::Absent),
    };
    let entry = AuditEntry::after(audit.key, last.as_ref(), audit.at, audit.actor, audit.action);
    let key = Key::new(audit_partition(request_id), format!("{:010}", entry.seq));
    Ok([
        Write::Put { item: Item::new(key, encode(&entry)), condition: Condition::Absent },
        Write::Put { item: Item::new(audit_head_key(request_id), encode(&entry)), condition: head_condition },
    ])
}

/// Appends an entry on its own (reads, messages, deletions).
pub async fn append_audit(store: &dyn StateStore, request_id: &str, audit: Audit<'_>) -> Result<(), StoreError> {
    write_audited(store, request_id, None, audit, Vec::new()).await
}

// --- messages -------------------------------------------------------------------------------

pub async fn messages(store: &dyn StateStore, request_id: &str) -> Result<Vec<Message>, StoreError> {
    store
        .query(&request_partition(request_id), "MESSAGE#")
        .await?
        .into_iter()
        .map(|item| decode(item).map(|v| v.value))
        .collect()
}

pub async fn add_message(store: &dyn StateStore, request_id: &str, message: &Message) -> Result<(), StoreError> {
    let at = message.at.format(&time::format_description::well_known::Rfc3339).expect("timestamps format");
    let key = Key::new(request_partition(request_id), format!("MESSAGE#{at}#{}", message.id));
    store.write(vec![Write::Put { item: Item::new(key, encode(message)), condition: Condition::Absent }]).await
}

// --- notices --------------------------------------------------------------------------------

/// That she was told of one piece of news (or that her address refused it), or that the mail
/// service reported a bounce or complaint (`news` is then the `Feedback` code).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NoticeRecord {
    pub news: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// False where the mail service refused her address: the office sees it.
    pub delivered: bool,
}

fn notice_key(request_id: &str, key: &str) -> Key {
    Key::new(request_partition(request_id), format!("NOTICE#{key}"))
}

/// The news of the request she was told of, by notice key.
pub async fn notices(
    store: &dyn StateStore,
    request_id: &str,
) -> Result<std::collections::BTreeMap<String, NoticeRecord>, StoreError> {
    let items = store.query(&request_partition(request_id), "NOTICE#").await?;
    items
        .into_iter()
        .map(|item| {
            let key = item.key.sort.trim_start_matches("NOTICE#").to_owned();
            decode(item).map(|record| (key, record.value))
        })
        .collect()
}

/// Whether a mail about the request was refused by her address: she learns of news only on her
/// status page, which the office may want to tell her otherwise.
pub async fn mail_undeliverable(store: &dyn StateStore, request_id: &str) -> Result<bool, StoreError> {
    Ok(notices(store, request_id).await?.values().any(|record| !record.delivered))
}

/// Records a notice once; a second record of the same news (a duplicate run) changes nothing.
pub async fn record_notice(
    store: &dyn StateStore,
    request_id: &str,
    key: &str,
    record: &NoticeRecord,
) -> Result<(), StoreError> {
    let item = Item::new(notice_key(request_id, key), encode(record));
    match store.write(vec![Write::Put { item, condition: Condition::Absent }]).await {
        Err(StoreError::ConditionFailed) => Ok(()),
        result => result,
    }
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
    audit_key: &AuditKey,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let owner = &request.login.subject;
    let audit = Audit { key: audit_key, actor: owner, action: "submitted", at: now };
    let listed = Item::new(citizen_request_key(request), json!({}));
    let mut writes = Vec::from(request_writes(request, Condition::Absent, now));
    writes.push(Write::Put { item: listed, condition: Condition::Absent });
    if let Some((key, fingerprint)) = idempotency {
        let record = json!({"request_id": request.id, "fingerprint": fingerprint});
        let item =
            Item { expires_at: Some(now + IDEMPOTENCY_LIFETIME), ..Item::new(idempotency_key(owner, key), record) };
        writes.push(Write::Put { item, condition: Condition::Absent });
    }
    if let Some(draft_id) = draft {
        writes.push(Write::Delete { key: draft_key(owner, draft_id), condition: Condition::Always });
    }
    // A new request's trail: nobody else can append to it yet.
    writes.extend(next_audit_writes(store, &request.id, audit).await?);
    store.write(writes).await
}

// --- register entries -----------------------------------------------------------------------

fn register_partition(office_id: &str) -> String {
    format!("REGISTER#{office_id}")
}

/// Entries are sorted by the child's birth date, which every lookup starts from.
pub fn register_entry_key(entry: &RegisterEntry) -> Key {
    Key::new(register_partition(&entry.office_id), format!("{}#{}", format_date(entry.child.birth_date), entry.id))
}

/// Entries are also found by their id (corrections and deletions name it).
fn register_entry_item(entry: &RegisterEntry) -> Item {
    Item {
        index: Some(Key::new(format!("REGISTER-ENTRY#{}", entry.office_id), entry.id.clone())),
        ..Item::new(register_entry_key(entry), encode(entry))
    }
}

pub async fn add_register_entry(store: &dyn StateStore, entry: &RegisterEntry) -> Result<(), StoreError> {
    add_register_entries(store, std::slice::from_ref(entry)).await
}

/// Adds entries none of which is stored yet, in one transaction (at most [`crate::ports::MAX_WRITES`]);
/// `ConditionFailed` if one is, and then none is added.
pub async fn add_register_entries(store: &dyn StateStore, entries: &[RegisterEntry]) -> Result<(), StoreError> {
    let writes =
        entries.iter().map(|entry| Write::Put { item: register_entry_item(entry), condition: Condition::Absent });
    store.write(writes.collect()).await
}

pub async fn register_entry(
    store: &dyn StateStore,
    office_id: &str,
    id: &str,
) -> Result<Option<RegisterEntry>, StoreError> {
    let items = store.query_index(&format!("REGISTER-ENTRY#{office_id}"), id).await?;
    items
        .into_iter()
        .find(|item| item.index.as_ref().is_some_and(|k| k.sort == id))
        .map(|item| decode(item).map(|v| v.value))
        .transpose()
}

/// Replaces an entry by its corrected version (XFamilie 0805), in one transaction even when the
/// birth date and so the key changes.
pub async fn correct_register_entry(
    store: &dyn StateStore,
    old: &RegisterEntry,
    corrected: &RegisterEntry,
) -> Result<(), StoreError> {
    let mut writes = Vec::new();
    if register_entry_key(old) != register_entry_key(corrected) {
        writes.push(Write::Delete { key: register_entry_key(old), condition: Condition::Always });
    }
    writes.push(Write::Put { item: register_entry_item(corrected), condition: Condition::Always });
    store.write(writes).await
}

/// Deletes an entry (XFamilie 0806).
pub async fn delete_register_entry(store: &dyn StateStore, entry: &RegisterEntry) -> Result<(), StoreError> {
    store.write(vec![Write::Delete { key: register_entry_key(entry), condition: Condition::Always }]).await
}

/// The entries of `office_id` for children born on any of `birth_dates`.
pub async fn register_entries_born_on(
    store: &dyn StateStore,
    office_id: &str,
    birth_dates: &[Date],
) -> Result<Vec<RegisterEntry>, StoreError> {
    let mut entries = Vec::new();
    for date in birth_dates {
        for item in store.query(&register_partition(office_id), &format!("{}#", format_date(*date))).await? {
            entries.push(decode(item)?.value);
        }
    }
    Ok(entries)
}

// --- certificates ---------------------------------------------------------------------------

/// The verification record of a certificate, found by its code's hash (the code is never stored
/// as a key).
pub fn certificate_key(code: &str) -> Key {
    Key::new(format!("CERTIFICATE#{}", code_hash(code)), "CERTIFICATE")
}

pub async fn certificate(
    store: &dyn StateStore,
    code: &str,
) -> Result<Option<Versioned<VerificationRecord>>, StoreError> {
    store.get(&certificate_key(code)).await?.map(decode).transpose()
}

/// A check counted on the record read at `version` (a conflict: someone checked at the same
/// moment; read again).
pub async fn count_check(
    store: &dyn StateStore,
    code: &str,
    record: &VerificationRecord,
    version: u64,
) -> Result<(), StoreError> {
    let mut item = Item::new(certificate_key(code), encode(record));
    item.expires_at = record.kept_until;
    store.write(vec![Write::Put { item, condition: Condition::Version(version) }]).await
}

/// Where certificates issued before the verification record was keyed by the code's hash were
/// found: by the code in clear.
fn legacy_certificate_key(code: &str) -> Key {
    Key::new(format!("CERTIFICATE#{code}"), "CERTIFICATE")
}

/// Moves the request's certificate lookup from its old key (the code in clear) to its
/// verification record, in one transaction; `true` if a record was written. Idempotent: once
/// moved, it only makes sure the old key is gone.
pub async fn migrate_certificate_lookup(store: &dyn StateStore, request: &Request) -> Result<bool, StoreError> {
    let Some((code, record)) = VerificationRecord::of(request) else { return Ok(false) };
    let forget_old = Write::Delete { key: legacy_certificate_key(&code), condition: Condition::Always };
    if certificate(store, &code).await?.is_some() {
        store.write(vec![forget_old]).await?;
        return Ok(false);
    }
    let put = Write::Put { item: Item::new(certificate_key(&code), encode(&record)), condition: Condition::Absent };
    store.write(vec![put, forget_old]).await?;
    Ok(true)
}

/// The write [`count_check`] makes, for a code no certificate has: conditioned on a version no
/// item has, so it never holds and writes nothing.
pub async fn count_check_of_nothing(store: &dyn StateStore, code: &str) -> Result<(), StoreError> {
    let item = Item::new(certificate_key(code), json!({}));
    match store.write(vec![Write::Put { item, condition: Condition::Version(u64::MAX) }]).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(error) => Err(error),
    }
}

/// Records an issued certificate: the request (if unchanged since `version`), its verification
/// record and the audit entry in one transaction, so a request never gets two certificates.
pub async fn issue_certificate(
    store: &dyn StateStore,
    request: &Request,
    version: u64,
    audit: Audit<'_>,
) -> Result<(), StoreError> {
    let (code, record) = VerificationRecord::of(request).expect("an issued request has its certificate");
    let mut writes = Vec::from(request_writes(request, Condition::Version(version), audit.at));
    writes.push(Write::Put { item: Item::new(certificate_key(&code), encode(&record)), condition: Condition::Absent });
    write_audited(store, &request.id, Some(Condition::Version(version)), audit, writes).await
}

/// Records a revoked certificate: the request (if unchanged since `version`), its verification
/// record (which then answers revoked, its counts kept) and the audit entry, in one transaction.
/// A check counted on the record meanwhile is read again; a changed request is the caller's
/// conflict.
pub async fn revoke_certificate(
    store: &dyn StateStore,
    request: &Request,
    version: u64,
    audit: Audit<'_>,
) -> Result<(), StoreError> {
    let (code, fresh) = VerificationRecord::of(request).expect("a revoked request has its certificate");
    let mut result = Err(StoreError::ConditionFailed);
    for _ in 0..3 {
        let (record, condition) = match certificate(store, &code).await? {
            Some(Versioned { mut value, version }) => {
                value.revoked_at = fresh.revoked_at;
                (value, Condition::Version(version))
            }
            None => (fresh.clone(), Condition::Absent),
        };
        let mut writes = Vec::from(request_writes(request, Condition::Version(version), audit.at));
        writes.push(Write::Put { item: Item::new(certificate_key(&code), encode(&record)), condition });
        result = write_audited(store, &request.id, Some(Condition::Version(version)), audit, writes).await;
        if !matches!(result, Err(StoreError::ConditionFailed)) {
            break;
        }
        if self::request(store, &request.id).await?.map(|stored| stored.version) != Some(version) {
            break;
        }
    }
    result
}

/// What stays of a deleted request's certificate: its verification record without the child,
/// until `keep_until` (genuine old certificates still verify). `None`: there is none.
pub async fn verification_to_keep(
    store: &dyn StateStore,
    request: &Request,
    keep_until: OffsetDateTime,
) -> Result<Option<Write>, StoreError> {
    let Some(code) = request.certificate.as_ref().map(|c| c.code.as_str()) else { return Ok(None) };
    let Some(Versioned { value, version }) = certificate(store, code).await? else { return Ok(None) };
    let mut item = Item::new(certificate_key(code), encode(&value.without_the_request(keep_until)));
    item.expires_at = Some(keep_until);
    Ok(Some(Write::Put { item, condition: Condition::Version(version) }))
}

/// A page of `limit` of an office's requests, in the office index's order, after `after` (the
/// `next` of the page before).
pub async fn office_requests_page(
    store: &dyn StateStore,
    office_id: &str,
    limit: usize,
    after: Option<String>,
) -> Result<(Vec<Request>, Option<String>), StoreError> {
    let page = PageSpec { limit, after, newest_first: false };
    let listed = store.query_index_page(&format!("OFFICE#{office_id}"), "", &page).await?;
    let requests = listed.items.into_iter().map(|item| decode(item).map(|v| v.value)).collect::<Result<_, _>>()?;
    Ok((requests, listed.next))
}

/// Requests of an office, optionally only those in `status`.
pub async fn office_requests(
    store: &dyn StateStore,
    office_id: &str,
    status: Option<Status>,
) -> Result<Vec<Request>, StoreError> {
    let prefix = status.map(|s| format!("{}#", s.as_str())).unwrap_or_default();
    store
        .query_index(&format!("OFFICE#{office_id}"), &prefix)
        .await?
        .into_iter()
        .map(|item| decode(item).map(|v| v.value))
        .collect()
}
