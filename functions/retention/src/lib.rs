//! Retention: deletes finished requests with their documents and messages once the office's
//! retention period has passed since the last step, and drafts after 30 days (TTL). The audit
//! trail keeps a `deleted:retention` entry, without personal data; a certificate's verification
//! record stays without the child's name for [`Settings::verification_kept`], so that genuine
//! old certificates still verify. Runs on a schedule (EventBridge on AWS, a periodic task locally).

use shared::domain::request::{Request, Status};
use shared::ports::{Condition, StoreError, Write};
use shared::records;
use shared::services::Services;
use time::{Duration, OffsetDateTime};

/// What a run deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub requests: usize,
    pub documents: usize,
    pub expired_items: usize,
}

/// Writes per transaction: DynamoDB's limit is 100.
const MAX_WRITES_AT_ONCE: usize = shared::ports::MAX_WRITES;

const FINISHED: [Status; 4] = [Status::Issued, Status::Rejected, Status::Posted, Status::Failed];

/// How retention treats what outlives a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How long a deleted request's certificate still verifies (`VERIFICATION_KEPT_DAYS`,
    /// default two years).
    pub verification_kept: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { verification_kept: Duration::days(730) }
    }
}

impl Settings {
    /// From `VERIFICATION_KEPT_DAYS`, else the defaults; a value that is no number of days is
    /// refused rather than ignored.
    pub fn from_env() -> Result<Settings, String> {
        match std::env::var("VERIFICATION_KEPT_DAYS") {
            Err(_) => Ok(Settings::default()),
            Ok(days) => days
                .trim()
                .parse::<u16>()
                .map(|days| Settings { verification_kept: Duration::days(i64::from(days)) })
                .map_err(|_| format!("VERIFICATION_KEPT_DAYS is no number of days: {days:?}")),
        }
    }
}

pub async fn run(services: &Services, settings: &Settings) -> Result<Report, StoreError> {
    let store = &*services.store;
    let now = services.clock.now();
    let mut report = Report { expired_items: store.purge_expired().await?, ..Report::default() };
    for office in records::offices(store).await? {
        let keep = Duration::days(i64::from(office.retention_days));
        for status in FINISHED {
            for request in records::office_requests(store, &office.id, Some(status)).await? {
                let finished_at = request.timeline.last().map(|entry| entry.at).unwrap_or(now);
                if now - finished_at < keep {
                    continue;
                }
                match delete_request(services, &request, now + settings.verification_kept).await {
                    Ok(documents) => {
                        report.documents += documents;
                        report.requests += 1;
                    }
                    // Changed meanwhile (a check counted on its certificate, say): the next run.
                    Err(StoreError::ConditionFailed) => {
                        tracing::info!(request_id = %request.id, "changed while being deleted; left for the next run");
                    }
                    Err(error) => return Err(error),
                }
            }
        }
    }
    if report != Report::default() {
        tracing::info!(
            requests = report.requests,
            documents = report.documents,
            expired = report.expired_items,
            "retention run"
        );
    }
    Ok(report)
}

/// Deletes the documents first: a crash in between leaves a request that the next run deletes
/// again, never a document nobody knows of.
async fn delete_request(
    services: &Services,
    request: &Request,
    verification_until: OffsetDateTime,
) -> Result<usize, StoreError> {
    let store = &*services.store;
    let keys = request.document_keys();
    for key in &keys {
        services.documents.delete(key).await.map_err(|e| StoreError::Backend(e.to_string()))?;
    }
    let Some(current) = records::request(store, &request.id).await? else { return Ok(keys.len()) };
    // Its messages and the record of what she was told, a transaction's worth at a time (a
    // request may have more than one transaction holds); a run cut off here is continued by
    // the next. The request itself last, below.
    let request_key = records::request_key(&request.id);
    let around: Vec<Write> = store
        .query(&records::request_partition(&request.id), "")
        .await?
        .into_iter()
        .filter(|item| item.key != request_key)
        .map(|item| Write::Delete { key: item.key, condition: Condition::Always })
        .collect();
    for chunk in around.chunks(MAX_WRITES_AT_ONCE) {
        store.write(chunk.to_vec()).await?;
    }
    let mut writes = Vec::new();
    writes.extend(records::verification_to_keep(store, request, verification_until).await?);
    writes.push(Write::Delete { key: records::citizen_request_key(request), condition: Condition::Always });
    // Only if nobody changed the request since this run read it.
    writes.push(Write::Delete { key: request_key, condition: Condition::Version(current.version) });
    store.write(writes).await?;
    records::append_audit(
        store,
        &request.id,
        services.audit("system", "deleted:retention", services.clock.now()).await?,
    )
    .await?;
    Ok(keys.len())
}
