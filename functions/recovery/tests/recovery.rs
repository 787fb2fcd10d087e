//! The sweep, the operators' retry and the retry by a message delivered again, on the embedded
//! store with a clock the tests move.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration as StdDuration;

use serde_json::{Value, json};
use shared::domain::request::{AUTOMATIC_RETRIES, Request, Status};
use shared::ports::{BatchHandler, Condition, Item, QueueMessage, QueueName, Write};
use shared::records::{self, Versioned};
use shared::steps::{Step, StepError, StepHandler, SweepReport, SweepSettings, fail_request, sweep};
use shared::testing::TestApp;
use time::Duration;

fn application() -> Value {
    json!({
        "applicant": {"role": "mother"},
        "mother": {
            "given_names": "Sophia", "family_name": "Beispiel", "birth_date": "1994-05-02", "birth_place": "Bremen",
            "address": {"street": "Am Markt", "house_number": "1", "postcode": "28195", "city": "Bremen"}
        },
        "child": {"given_names": "Mia", "family_name": "Beispiel", "birth_date": "2021-03-14", "birth_place": "Bremen", "born_abroad": false},
        "delivery": "download"
    })
}

const SETTINGS: SweepSettings = SweepSettings { deadline: Duration::seconds(60), give_up_after: Duration::minutes(5) };

async fn app() -> TestApp {
    TestApp::new(submit::router().merge(recovery::router())).await
}

/// A submitted request whose message to the first step was lost.
async fn submitted_and_lost(app: &TestApp) -> String {
    let (status, body) = app.call("POST", "/api/v1/requests", Some(&app.mother()), Some(application())).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(taken(app, QueueName::Submitted).await.len(), 1, "the message that gets lost");
    body["id"].as_str().unwrap().to_owned()
}

/// The request ids waiting in `queue`, taken out of it.
async fn taken(app: &TestApp, queue: QueueName) -> Vec<String> {
    let messages = app.services.queue.receive(queue, 10, StdDuration::ZERO).await.unwrap();
    for message in &messages {
        app.services.queue.delete(queue, &message.receipt).await.unwrap();
    }
    messages
        .iter()
        .map(|m| serde_json::from_str::<Value>(&m.body).unwrap()["request_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn status_of(app: &TestApp, id: &str) -> Status {
    records::request(&*app.services.store, id).await.unwrap().unwrap().value.status
}

#[tokio::test]
async fn a_lost_hand_on_is_sent_again_after_the_deadline_once_per_deadline() {
    let app = app().await;
    let id = submitted_and_lost(&app).await;

    assert_eq!(sweep(&app.services, &SETTINGS).await.unwrap(), SweepReport::default(), "not overdue yet");
    app.clock.advance(Duration::seconds(61));
    let report = sweep(&app.services, &SETTINGS).await.unwrap();
    assert_eq!((report.overdue, report.handed_on), (1, 1));
    assert_eq!(taken(&app, QueueName::Submitted).await, [id.clone()], "handed on to the step it waits for");
    assert_eq!(sweep(&app.services, &SETTINGS).await.unwrap().handed_on, 0, "once per deadline");
    assert!(taken(&app, QueueName::Submitted).await.is_empty());
    // Then after two deadlines, four, eight: a step that is only slow gets few messages.
    let patient = SweepSettings { give_up_after: Duration::hours(1), ..SETTINGS };
    for (wait, handed_on) in [(61, 1), (61, 0), (61, 1), (61 * 3, 0), (61, 1)] {
        app.clock.advance(Duration::seconds(wait));
        assert_eq!(sweep(&app.services, &patient).await.unwrap().handed_on, handed_on, "after {wait} s more");
    }
    assert_eq!(taken(&app, QueueName::Submitted).await, [id.clone(), id.clone(), id]);
}

#[tokio::test]
async fn a_hand_on_the_store_fails_on_is_left_for_the_next_sweep_not_the_end_of_this_one() {
    let app = app().await;
    let unreadable = submitted_and_lost(&app).await;
    let id = submitted_and_lost(&app).await;
    let broken = Item::new(records::request_key(&unreadable), json!({"not": "a request"}));
    app.services.store.write(vec![Write::Put { item: broken, condition: Condition::Always }]).await.unwrap();
    app.clock.advance(Duration::seconds(61));
    let report = sweep(&app.services, &SETTINGS).await.unwrap();
    assert_eq!((report.overdue, report.handed_on, report.unfinished), (2, 1, 1));
    assert_eq!(taken(&app, QueueName::Submitted).await, [id], "the other request is handed on");
    let line: Value = serde_json::from_str(&recovery::metric_line(&report, app.services.clock.now())).unwrap();
    assert_eq!(line["SweepUnfinished"], 1);
}

#[tokio::test]
async fn a_request_that_moves_on_waits_for_its_next_step_and_then_for_none() {
    let app = app().await;
    let id = submitted_and_lost(&app).await;
    let store = &*app.services.store;
    let records::Versioned { value: mut request, version } = records::request(store, &id).await.unwrap().unwrap();
    app.clock.advance(Duration::seconds(61));
    let now = app.services.clock.now();
    request.advance(Status::Prepared, now).unwrap();
    let audit = app.services.audit("system", "prepared", now).await.unwrap();
    records::update_request(store, &request, version, audit).await.unwrap();
    assert_eq!(sweep(&app.services, &SETTINGS).await.unwrap().overdue, 0, "it waits since it was prepared");
    app.clock.advance(Duration::seconds(61));
    sweep(&app.services, &SETTINGS).await.unwrap();
    assert_eq!(taken(&app, QueueName::Prepared).await, [id.clone()], "to the register check now");

    let records::Versioned { value: mut request, version } = records::request(store, &id).await.unwrap().unwrap();
    request.advance(Status::InReview, app.services.clock.now()).unwrap();
    let audit = app.services.audit("system", "register:review", app.services.clock.now()).await.unwrap();
    records::update_request(store, &request, version, audit).await.unwrap();
    assert_eq!(records::hand_on(store, &id).await.unwrap(), None, "the office reviews it: no step waits");
    app.clock.advance(Duration::hours(1));
    assert_eq!(sweep(&app.services, &SETTINGS).await.unwrap(), SweepReport::default());
}

#[tokio::test]
async fn a_request_waiting_for_one_step_past_the_give_up_time_is_marked_failed_for_operators() {
    let app = app().await;
    let id = submitted_and_lost(&app).await;
    // Handed on again (after one deadline, then two) while it waits less than 5 minutes.
    for (sweeps, wait) in [(1, 61), (2, 122)] {
        app.clock.advance(Duration::seconds(wait));
        assert_eq!(sweep(&app.services, &SETTINGS).await.unwrap().handed_on, 1, "sweep {sweeps}");
    }
    app.clock.advance(Duration::seconds(3 * 61));
    let report = sweep(&app.services, &SETTINGS).await.unwrap();
    assert_eq!((report.handed_on, report.failed), (0, 1));
    let request = records::request(&*app.services.store, &id).await.unwrap().unwrap().value;
    assert_eq!(request.status, Status::Failed);
    assert!(request.failure.as_deref().unwrap().starts_with("sweep: no progress in prepare"), "{:?}", request.failure);
    assert_eq!(records::hand_on(&*app.services.store, &id).await.unwrap(), None);
    let line: Value = serde_json::from_str(&recovery::metric_line(&report, app.services.clock.now())).unwrap();
    assert_eq!(line["FailedWithoutProgress"], 1);
    assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], "OverdueHandOns");
}

#[tokio::test]
async fn operators_retry_a_failed_request_from_the_step_it_failed_in() {
    let app = app().await;
    let id = submitted_and_lost(&app).await;
    fail_request(&app.services, &id, "xfamilie: rendering failed").await.unwrap();
    let uri = format!("/api/v1/operators/requests/{id}/retry");

    let (status, body) = app.call("POST", &uri, Some(&app.supervisor("jugendamt-bremen")), None).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (403, Some("forbidden")), "operators only");
    assert_eq!(app.call("POST", &uri, Some(&app.mother()), None).await.0, 403, "citizens are not operators");
    assert_eq!(app.call("POST", &uri, None, None).await.0, 401);
    let (status, body) = app.call("POST", "/api/v1/operators/requests/no-such/retry", Some(&app.admin()), None).await;
    assert_eq!(status, 404, "{body}");

    let (status, body) = app.call("POST", &uri, Some(&app.admin()), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"id": id, "status": "submitted"}));
    assert_eq!(taken(&app, QueueName::Submitted).await, [id.clone()], "handed on to its step");
    let request = records::request(&*app.services.store, &id).await.unwrap().unwrap().value;
    assert_eq!(request.failure, None);
    let trail = records::audit_trail(&*app.services.store, &id).await.unwrap();
    assert!(trail.iter().any(|entry| entry.actor == "admin" && entry.action == "retried"), "{trail:?}");

    let (status, body) = app.call("POST", &uri, Some(&app.admin()), None).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (409, Some("not_failed")));
}

/// A step that counts its runs and what it saw.
struct Counting(Arc<AtomicUsize>);

#[async_trait::async_trait]
impl Step for Counting {
    fn queue(&self) -> QueueName {
        QueueName::Submitted
    }
    fn name(&self) -> &'static str {
        "counting"
    }
    async fn run(&self, request: Versioned<Request>) -> Result<(), StepError> {
        if request.value.status == Status::Submitted {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_message_delivered_again_tries_a_request_failed_in_its_step_but_not_forever() {
    let app = app().await;
    let id = submitted_and_lost(&app).await;
    let runs = Arc::new(AtomicUsize::new(0));
    let handler = StepHandler::new(Counting(runs.clone()), &app.services, 5);
    let message = |n: u32| QueueMessage {
        message_id: format!("m{n}"),
        receipt: format!("r{n}"),
        body: json!({"request_id": id}).to_string(),
        receive_count: 1,
    };
    for attempt in 1..=AUTOMATIC_RETRIES as u32 {
        fail_request(&app.services, &id, "xfamilie: store down").await.unwrap();
        assert!(handler.handle(vec![message(attempt)]).await.is_empty());
        assert_eq!(status_of(&app, &id).await, Status::Submitted, "redrive {attempt} tries it again");
        assert_eq!(runs.load(Ordering::SeqCst), attempt as usize, "and the step runs on it");
    }
    fail_request(&app.services, &id, "xfamilie: store down").await.unwrap();
    handler.handle(vec![message(9)]).await;
    assert_eq!(status_of(&app, &id).await, Status::Failed, "after {AUTOMATIC_RETRIES} only an operator retries it");
}

#[tokio::test]
async fn a_message_for_another_step_leaves_a_failed_request_failed() {
    let app = app().await;
    let id = submitted_and_lost(&app).await;
    let store = &*app.services.store;
    let records::Versioned { value: mut request, version } = records::request(store, &id).await.unwrap().unwrap();
    request.advance(Status::Prepared, app.services.clock.now()).unwrap();
    let audit = app.services.audit("system", "prepared", app.services.clock.now()).await.unwrap();
    records::update_request(store, &request, version, audit).await.unwrap();
    fail_request(&app.services, &id, "register-check: store down").await.unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let handler = StepHandler::new(Counting(runs.clone()), &app.services, 5);
    let late = QueueMessage {
        message_id: "m".into(),
        receipt: "r".into(),
        body: json!({"request_id": id}).to_string(),
        receive_count: 1,
    };
    handler.handle(vec![late]).await;
    assert_eq!(status_of(&app, &id).await, Status::Failed, "a late message of the first step");
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}
