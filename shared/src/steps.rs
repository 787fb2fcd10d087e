//! The steps of the document chain as queue functions: each works on one request per message,
//! idempotently, and reports the messages that failed so they are delivered again. On the last
//! allowed delivery a step that cannot do its work (not an outage: that is the sweep's to retry)
//! marks the request `failed` with a reason for operators before the message moves to the
//! dead-letter queue.
//!
//! Every hand-on (submit, the steps, a decision) is [`hand_on`]: the message names only the
//! request, and each step loads the request itself, so a duplicate or late message only ever
//! sees the current state.
//!
//! No hand-on is lost: every write of a request records in the same transaction the step it
//! waits for ([`records::HandOn`]), and [`sweep`] hands on again every request that waited
//! longer than the deadline, whatever crashed between the write and its message. A `failed`
//! request is tried again by operators ([`retry`]), and by itself when a message for its step
//! arrives again (a dead-letter redrive), at most [`AUTOMATIC_RETRIES`] times.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::domain::request::{AUTOMATIC_RETRIES, NextStep, NotFailed, Request, Status};
use crate::ports::{BatchHandler, DocumentError, Queue, QueueError, QueueMessage, QueueName, StateStore, StoreError};
use crate::records::{self, Versioned};
use crate::services::Services;

/// The message every step of the chain passes on: which request to work on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepMessage {
    pub request_id: String,
}

impl StepMessage {
    pub fn parse(body: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(body)
    }
}

/// The queue of a step of the chain.
pub fn queue_of(step: NextStep) -> QueueName {
    match step {
        NextStep::Prepare => QueueName::Submitted,
        NextStep::CheckRegister => QueueName::Prepared,
        NextStep::Certify => QueueName::Issue,
    }
}

/// Hands a request to the next step.
pub async fn hand_on(queue: &dyn Queue, next: QueueName, request_id: &str) -> Result<String, QueueError> {
    let body =
        serde_json::to_string(&StepMessage { request_id: request_id.to_owned() }).expect("step messages serialise");
    queue.send(next, &body).await
}

/// Tells the notifier that the request may have news for her. A mail never holds the request
/// up: a failure is only logged, and the next news of the request carries this one along.
pub async fn tell_her(queue: &dyn Queue, request_id: &str) {
    if let Err(error) = hand_on(queue, QueueName::Notify, request_id).await {
        tracing::warn!(%request_id, %error, "could not queue the news for her");
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("state store: {0}")]
    Store(#[from] StoreError),
    #[error("document store: {0}")]
    Documents(#[from] DocumentError),
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    /// Anything else, described without personal data.
    #[error("{0}")]
    Failed(String),
}

/// One step of the chain.
#[async_trait]
pub trait Step: Send + Sync {
    /// The queue the step consumes.
    fn queue(&self) -> QueueName;
    /// For logs and failure reasons.
    fn name(&self) -> &'static str;
    /// Does the step's work for the request the message names, as read for this delivery;
    /// doing it twice must change nothing.
    async fn run(&self, request: Versioned<Request>) -> Result<(), StepError>;
    /// Whether giving up on a message marks its request `failed`: yes for the chain, whose
    /// request cannot go on without the step; no for steps beside it (telling her).
    fn fails_request(&self) -> bool {
        true
    }
}

/// A step as a queue function.
pub struct StepHandler<S> {
    step: S,
    services: Services,
    /// Deliveries after which the queue gives the message to its dead-letter queue.
    max_receives: u32,
}

impl<S: Step> StepHandler<S> {
    pub fn new(step: S, services: &Services, max_receives: u32) -> Self {
        Self { step, services: services.clone(), max_receives }
    }

    /// A message for a request that failed in this step tries it again (a message delivered
    /// once more, a dead-letter redrive), unless it failed too often for that. Answers the
    /// request as the step is to see it (none if it is gone).
    async fn reopened_if_failed_here(&self, read: Versioned<Request>) -> Result<Option<Versioned<Request>>, StepError> {
        let Versioned { value: request, version } = &read;
        if request.status != Status::Failed || request.failures() > AUTOMATIC_RETRIES {
            return Ok(Some(read));
        }
        let now = self.services.clock.now();
        let mut reopened = request.clone();
        if reopened.retry(now).is_err() || reopened.next_step().map(queue_of) != Some(self.step.queue()) {
            return Ok(Some(read));
        }
        let store = &*self.services.store;
        let audit = self.services.audit("system", "retried", now).await?;
        match records::update_request(store, &reopened, *version, audit).await {
            Ok(()) => Ok(Some(Versioned { value: reopened, version: version + 1 })),
            // Changed meanwhile: the step works on it as it is now.
            Err(StoreError::ConditionFailed) => request_of_message(store, &request.id).await,
            Err(error) => Err(error.into()),
        }
    }
}

#[async_trait]
impl<S: Step> BatchHandler for StepHandler<S> {
    fn queue(&self) -> QueueName {
        self.step.queue()
    }

    async fn handle(&self, batch: Vec<QueueMessage>) -> Vec<String> {
        let mut failed = Vec::new();
        for message in batch {
            let parsed = StepMessage::parse(&message.body);
            let outcome = match &parsed {
                Ok(step_message) => self.run(&step_message.request_id).await,
                Err(e) => Err(StepError::Failed(format!("unreadable message: {e}"))),
            };
            let Err(error) = outcome else { continue };
            let request_id = parsed.as_ref().map(|m| m.request_id.as_str()).unwrap_or("-");
            tracing::error!(step = self.step.name(), message_id = %message.message_id, %request_id, attempt = message.receive_count, %error, "step failed");
            let last = message.receive_count >= self.max_receives;
            // An outage of the store, documents or queue may outlast the deliveries: the request
            // stays where it is, and the sweep hands it on again later.
            let lasting = matches!(error, StepError::Failed(_));
            if last && lasting && self.step.fails_request() {
                let reason = format!("{}: {error}", self.step.name());
                if let Err(error) = fail_request(&self.services, request_id, &reason).await {
                    tracing::error!(step = self.step.name(), %request_id, %error, "could not mark the request failed");
                }
            }
            failed.push(message.message_id);
        }
        failed
    }
}

impl<S: Step> StepHandler<S> {
    /// Reads the request once for the delivery: a message for a request that is gone is done.
    async fn run(&self, request_id: &str) -> Result<(), StepError> {
        let Some(mut request) = request_of_message(&*self.services.store, request_id).await? else { return Ok(()) };
        if self.step.fails_request() {
            let Some(reopened) = self.reopened_if_failed_here(request).await? else { return Ok(()) };
            request = reopened;
        }
        self.step.run(request).await
    }
}

/// Marks an open request `failed` with `reason` for operators (no personal data); a request
/// that moved on or is gone is left alone.
pub async fn fail_request(services: &Services, request_id: &str, reason: &str) -> Result<(), StoreError> {
    match records::request(&*services.store, request_id).await? {
        Some(request) => mark_failed(services, request, reason, services.clock.now()).await,
        None => Ok(()),
    }
}

/// [`fail_request`] for a request already read.
async fn mark_failed(
    services: &Services,
    Versioned { value: mut request, version }: Versioned<Request>,
    reason: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    if request.status.is_open() && request.advance(Status::Failed, now).is_ok() {
        request.failure = Some(reason.to_owned());
        let audit = services.audit("system", "failed", now).await?;
        records::update_request(&*services.store, &request, version, audit).await?;
    }
    Ok(())
}

/// How long a request may wait for a step before the sweep hands it on again: longer than a
/// step takes with its retries, so that the sweep only catches what was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepSettings {
    pub deadline: Duration,
    /// How long a request may wait for one step, handed on again and again, before it is
    /// marked failed for operators: long, since a request waiting behind a backlog or an outage
    /// is slow, not broken (the alarm on overdue hand-ons speaks up long before).
    pub give_up_after: Duration,
}

impl SweepSettings {
    /// `HANDON_DEADLINE_SECONDS` (default `default_deadline`) and `HANDON_GIVE_UP_SECONDS`
    /// (default a day).
    pub fn from_env(default_deadline: Duration) -> Result<Self, String> {
        let seconds = |name: &str, default: Duration| match std::env::var(name) {
            Ok(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|seconds| *seconds > 0)
                .map(|seconds| Duration::seconds(i64::from(seconds)))
                .ok_or_else(|| format!("{name} must be a positive number, not {raw:?}")),
            Err(_) => Ok(default),
        };
        Ok(Self {
            deadline: seconds("HANDON_DEADLINE_SECONDS", default_deadline)?,
            give_up_after: seconds("HANDON_GIVE_UP_SECONDS", Duration::days(1))?,
        })
    }

    /// How much longer than a deadline the sweep waits after its `swept`-th hand-on of a step:
    /// a step that is only slow (a backlog) then gets a few more messages, not one per deadline,
    /// each of which would only lengthen its queue.
    pub fn backoff(&self, swept: u32) -> Duration {
        self.deadline * ((1_i32 << swept.min(MAX_BACKOFF_DOUBLINGS)) - 1)
    }
}

/// After five hand-ons the sweep waits 32 deadlines between two.
const MAX_BACKOFF_DOUBLINGS: u32 = 5;

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Requests that waited longer than the deadline.
    pub overdue: usize,
    /// Handed on again.
    pub handed_on: usize,
    /// Marked failed after waiting for one step longer than `give_up_after`.
    pub failed: usize,
    /// Overdue, but the store or queue did not answer: the next sweep tries them again.
    pub unfinished: usize,
}

/// What the sweep did with one overdue hand-on.
enum Swept {
    HandedOn,
    Failed,
    /// It moved on, or another sweep took it.
    Nothing,
}

/// Most hand-ons a sweep takes on per shard; the next sweep takes the rest.
const SWEEP_LIMIT: usize = 500;

/// Hands on again every request that waited for its step longer than the deadline, the n-th
/// time 2^(n-1) deadlines after the one before (at most 32); one that waited for its step longer than `give_up_after` is marked failed. Safe to
/// run often and in parallel: each hand-on is taken with a conditional write before it is sent.
/// A hand-on the store or queue fails on is left for the next sweep, not the end of this one.
pub async fn sweep(services: &Services, settings: &SweepSettings) -> Result<SweepReport, StoreError> {
    let now = services.clock.now();
    let mut report = SweepReport::default();
    for waiting in records::overdue_hand_ons(&*services.store, now - settings.deadline, SWEEP_LIMIT).await? {
        report.overdue += 1;
        let request_id = waiting.value.request_id.clone();
        match sweep_one(services, settings, waiting, now).await {
            Ok(Swept::HandedOn) => report.handed_on += 1,
            Ok(Swept::Failed) => report.failed += 1,
            Ok(Swept::Nothing) => {}
            Err(error) => {
                tracing::error!(%request_id, %error, "the sweep could not hand the request on");
                report.unfinished += 1;
            }
        }
    }
    Ok(report)
}

async fn sweep_one(
    services: &Services,
    settings: &SweepSettings,
    Versioned { value: waiting, version }: Versioned<records::HandOn>,
    now: OffsetDateTime,
) -> Result<Swept, StepError> {
    let store = &*services.store;
    let id = &waiting.request_id;
    let Some(request) = records::request(store, id).await? else { return Ok(Swept::Nothing) };
    let Some(step) = request.value.next_step() else { return Ok(Swept::Nothing) };
    if now - waiting.waiting_since >= settings.give_up_after {
        let reason = format!("sweep: no progress in {} after {} hand-ons", step.as_str(), waiting.swept);
        mark_failed(services, request, &reason, now).await?;
        return Ok(Swept::Failed);
    }
    match records::sweep_hand_on(store, &waiting, version, now + settings.backoff(waiting.swept)).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed) => return Ok(Swept::Nothing),
        Err(error) => return Err(error.into()),
    }
    // Taken but not sent: the next sweep after the deadline tries again.
    hand_on(&*services.queue, queue_of(step), id).await?;
    tracing::warn!(request_id = %id, step = step.as_str(), swept = waiting.swept + 1, "request handed on again by the sweep");
    Ok(Swept::HandedOn)
}

/// Why an operator's retry did nothing.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("no such request")]
    NotFound,
    #[error("the request has not failed")]
    NotFailed,
    #[error("the request changed meanwhile")]
    Changed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An operator tries a failed request again: it goes back to where it failed and is handed on
/// to that step. Answers the state it is in again.
pub async fn retry(services: &Services, request_id: &str, by: &str) -> Result<Status, RetryError> {
    let store = &*services.store;
    let Versioned { value: mut request, version } =
        records::request(store, request_id).await?.ok_or(RetryError::NotFound)?;
    let now = services.clock.now();
    let status = request.retry(now).map_err(|NotFailed| RetryError::NotFailed)?;
    let audit = services.audit(by, "retried", now).await?;
    match records::update_request(store, &request, version, audit).await {
        Err(StoreError::ConditionFailed) => return Err(RetryError::Changed),
        result => result?,
    }
    if let Some(step) = request.next_step() {
        // Stored with its hand-on: a lost message is the sweep's.
        if let Err(error) = hand_on(&*services.queue, queue_of(step), request_id).await {
            tracing::warn!(%request_id, %error, "retried request not queued; the sweep hands it on");
        }
    }
    Ok(status)
}

/// The failed requests of every office, for operators' retry of all.
pub async fn failed_requests(services: &Services) -> Result<Vec<String>, StoreError> {
    let store = &*services.store;
    let mut ids = Vec::new();
    for office in records::offices(store).await? {
        let failed = records::office_requests(store, &office.id, Some(Status::Failed)).await?;
        ids.extend(failed.into_iter().map(|request| request.id));
    }
    Ok(ids)
}

/// The request a queue message names. A message for a request that is gone (deleted by
/// retention) is acknowledged, not retried: there is nothing left to do for it.
pub async fn request_of_message(
    store: &dyn StateStore,
    request_id: &str,
) -> Result<Option<Versioned<Request>>, StepError> {
    let request = records::request(store, request_id).await?;
    if request.is_none() {
        tracing::warn!(%request_id, "message for an unknown request ignored");
    }
    Ok(request)
}
