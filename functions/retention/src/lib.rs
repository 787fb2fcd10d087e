//! Retention: deletes finished requests with their documents and messages once the office's
//! retention period has passed since the last step, and drafts after 30 days (TTL). The audit
//! trail keeps a `deleted:retention` entry, without personal data; a certificate's verification
//! record stays without the child's name for [`Settings::verification_kept`], so that genuine
//! old certificates still verify. Runs on a schedule (EventBridge on AWS, a periodic task locally).

use shared::domain::request::Request;
use shared::ports::{Condition, StoreError, Write};
use shared::records::{self, PurgeCursor, RetentionBackfill, Versioned};
use shared::services::Services;
use time::{Duration, OffsetDateTime};

/// What a run deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub requests: usize,
    pub documents: usize,
    pub expired_items: usize,
    /// The run stopped at its time budget with more to do: the next run goes on.
    pub unfinished: bool,
}

/// Writes per transaction: DynamoDB's limit is 100.
const MAX_WRITES_AT_ONCE: usize = shared::ports::MAX_WRITES;

/// Requests read from the retention index at a time.
const PAGE: usize = 100;

/// Items the purge looks at per page (a DynamoDB scan page).
const PURGE_PAGE: usize = 1000;

/// How retention treats what outlives a request, and how long a run may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How long a deleted request's certificate still verifies (`VERIFICATION_KEPT_DAYS`,
    /// default two years).
    pub verification_kept: Duration,
    /// After how long a run stops, between two requests or two pages, so that it ends within
    /// its Lambda's timeout (`RETENTION_TIME_BUDGET_SECONDS`, default 240 of 300); each run
    /// does at least one request and one page of the purge.
    pub time_budget: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { verification_kept: Duration::days(730), time_budget: Duration::seconds(240) }
    }
}

impl Settings {
    /// From `VERIFICATION_KEPT_DAYS` and `RETENTION_TIME_BUDGET_SECONDS`, else the defaults; a
    /// value that is no number is refused rather than ignored.
    pub fn from_env() -> Result<Settings, String> {
        let number = |name: &str| -> Result<Option<u16>, String> {
            match std::env::var(name) {
                Err(_) => Ok(None),
                Ok(value) => value.trim().parse().map(Some).map_err(|_| format!("{name} is no number: {value:?}")),
            }
        };
        let defaults = Settings::default();
        Ok(Settings {
            verification_kept: number("VERIFICATION_KEPT_DAYS")?
                .map_or(defaults.verification_kept, |days| Duration::days(i64::from(days))),
            time_budget: number("RETENTION_TIME_BUDGET_SECONDS")?
                .map_or(defaults.time_budget, |seconds| Duration::seconds(i64::from(seconds))),
        })
    }
}

/// One run: the requests due first (what the law asks for), then the purge of expired items,
/// both continuing where the run before stopped.
pub async fn run(services: &Services, settings: &Settings) -> Result<Report, StoreError> {
    let store = &*services.store;
    let started = services.clock.now();
    let out_of_time = || services.clock.now() - started >= settings.time_budget;
    let mut report = Report::default();
    'offices: for office in records::offices(store).await? {
        if !index_finished_requests(services, &office.id, &out_of_time).await? {
            report.unfinished = true;
            break 'offices;
        }
        let before = started - Duration::days(i64::from(office.retention_days));
        let mut after = None;
        loop {
            let (due, next) = records::finished_before(store, &office.id, before, PAGE, after).await?;
            for id in due {
                match delete_if_due(services, &id, before, started + settings.verification_kept).await {
                    Ok(Some(documents)) => {
                        report.documents += documents;
                        report.requests += 1;
                    }
                    Ok(None) => {}
                    // Changed meanwhile (a check counted on its certificate, say): the next run.
                    Err(StoreError::ConditionFailed) => {
                        tracing::info!(request_id = %id, "changed while being deleted; left for the next run");
                    }
                    Err(error) => return Err(error),
                }
                if out_of_time() {
                    report.unfinished = true;
                    break 'offices;
                }
            }
            match next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    if !report.unfinished {
        report.unfinished = purge_expired(services, &out_of_time, &mut report.expired_items).await?;
    }
    if report != Report::default() {
        tracing::info!(
            requests = report.requests,
            documents = report.documents,
            expired = report.expired_items,
            unfinished = report.unfinished,
            "retention run"
        );
    }
    Ok(report)
}

/// The store deletes expired items itself (DynamoDB's TTL, within days); retention goes over
/// the table once a day as well, so that nothing outlives its time by more than a day. A pass
/// is continued by the next run where the last one stopped; answers whether it stopped early.
async fn purge_expired(
    services: &Services,
    out_of_time: &(dyn Fn() -> bool + Sync),
    purged: &mut usize,
) -> Result<bool, StoreError> {
    let store = &*services.store;
    let mut cursor = records::purge_cursor(store).await?;
    let now = services.clock.now();
    if cursor.after.is_none() && cursor.passed_at.is_some_and(|at| now - at < PURGE_EVERY) {
        return Ok(false);
    }
    loop {
        let page = store.purge_expired(cursor.after.take(), PURGE_PAGE).await?;
        *purged += page.items;
        cursor = match page.next {
            Some(next) => PurgeCursor { after: Some(next), passed_at: cursor.passed_at },
            None => PurgeCursor { after: None, passed_at: Some(services.clock.now()) },
        };
        records::set_purge_cursor(store, &cursor).await?;
        if cursor.after.is_none() {
            return Ok(false);
        }
        if out_of_time() {
            return Ok(true);
        }
    }
}

/// How often the purge goes over the whole table (a little less than a day, so that a daily
/// run is never skipped).
const PURGE_EVERY: Duration = Duration::hours(23);

/// Puts the office's requests that finished before the retention index existed into it, a page
/// at a time and once for good; false if the run's time ran out first (the next run goes on from
/// that page).
async fn index_finished_requests(
    services: &Services,
    office_id: &str,
    out_of_time: &(dyn Fn() -> bool + Sync),
) -> Result<bool, StoreError> {
    let store = &*services.store;
    let mut backfill = records::retention_backfill(store, office_id).await?;
    while !backfill.done {
        let (requests, next) = records::office_requests_page(store, office_id, PAGE, backfill.after.take()).await?;
        for request in requests.iter().filter(|request| request.finished_at().is_some()) {
            records::index_for_retention(store, request).await?;
        }
        backfill = RetentionBackfill { done: next.is_none(), after: next };
        records::set_retention_backfill(store, office_id, &backfill).await?;
        if !backfill.done && out_of_time() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Deletes the request `id` if it is still finished since before `before` (the index may lag
/// behind a retry); answers how many documents went with it.
async fn delete_if_due(
    services: &Services,
    id: &str,
    before: OffsetDateTime,
    verification_until: OffsetDateTime,
) -> Result<Option<usize>, StoreError> {
    let Some(current) = records::request(&*services.store, id).await? else { return Ok(None) };
    if !current.value.finished_at().is_some_and(|at| at < before) {
        return Ok(None);
    }
    delete_request(services, current, verification_until).await.map(Some)
}

/// Deletes the documents first: a crash in between leaves a request that the next run deletes
/// again, never a document nobody knows of.
async fn delete_request(
    services: &Services,
    Versioned { value: request, version }: Versioned<Request>,
    verification_until: OffsetDateTime,
) -> Result<usize, StoreError> {
    let request = &request;
    let store = &*services.store;
    let keys = request.document_keys();
    for key in &keys {
        services.documents.delete(key).await.map_err(|e| StoreError::Backend(e.to_string()))?;
    }
    // Its messages and the record of what she was told, a transaction's worth at a time (a
    // request may have more than one transaction holds); a run cut off here is continued by
    // the next. The request itself last, below.
    let request_key = records::request_key(&request.id);
    let companions = records::request_companion_keys(&request.id);
    let around: Vec<Write> = store
        .query(&records::request_partition(&request.id), "")
        .await?
        .into_iter()
        .filter(|item| item.key != request_key && !companions.contains(&item.key))
        .map(|item| Write::Delete { key: item.key, condition: Condition::Always })
        .collect();
    for chunk in around.chunks(MAX_WRITES_AT_ONCE) {
        store.write(chunk.to_vec()).await?;
    }
    let mut writes = Vec::new();
    writes.extend(records::verification_to_keep(store, request, verification_until).await?);
    writes.push(Write::Delete { key: records::citizen_request_key(request), condition: Condition::Always });
    for key in companions {
        writes.push(Write::Delete { key, condition: Condition::Always });
    }
    // Only if nobody changed the request since this run read it.
    writes.push(Write::Delete { key: request_key, condition: Condition::Version(version) });
    store.write(writes).await?;
    records::append_audit(
        store,
        &request.id,
        services.audit("system", "deleted:retention", services.clock.now()).await?,
    )
    .await?;
    Ok(keys.len())
}
