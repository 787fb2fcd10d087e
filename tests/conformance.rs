//! Conformance of the port adapters: every backend must give the state store, the queues and the
//! document store the semantics documented in `shared::ports`.
//!
//! Each check is an `async fn check_xxx(&Backend)` that knows nothing about the backend; the
//! `conformance!` macro turns it into one `#[tokio::test]` per backend: the embedded backend
//! (SQLite file and file system in a temporary directory) and the AWS backend (DynamoDB, S3 and
//! SQS on moto server, each test on its own copy of `template.yaml`'s resources).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use serde_json::{Value, json};
use shared::aws::{Adapters as AwsAdapters, Resources};
use shared::embedded::{Database, FsDocumentStore, QueueSettings, SignedLink, SqliteQueue, SqliteStateStore};
use shared::ports::{
    Clock, Condition, DocumentError, DocumentStore, Item, Key, ManualClock, Queue, QueueMessage, QueueName, RandomIds,
    StateStore, StoreError, UploadForm, UploadTerms, Write,
};
use system_tests::emulator;
use tempfile::TempDir;
use time::Duration;
use time::macros::datetime;

/// Queue settings every backend is configured with; the checks rely on them.
const VISIBILITY_TIMEOUT: Duration = Duration::seconds(30);
const MAX_RECEIVES: u32 = 3;

type Adapters = (Arc<dyn StateStore>, Arc<dyn Queue>, Arc<dyn DocumentStore>);

/// One backend under test: the three ports, the clock they read, and a way to connect afresh to
/// the same persistent data (as after a restart).
struct Backend {
    store: Arc<dyn StateStore>,
    queue: Arc<dyn Queue>,
    documents: Arc<dyn DocumentStore>,
    clock: Arc<ManualClock>,
    reopen: Box<dyn Fn() -> Adapters + Send + Sync>,
    /// Where a download link leads: its lifetime and the document it serves (`None`: refused).
    follow_link: Box<dyn Fn(&str) -> (Duration, Option<Vec<u8>>) + Send + Sync>,
    /// A browser's post of an upload form with a file: the status and where it is sent (the
    /// `Location`), or the body of a refusal.
    post_form: Box<dyn Fn(&UploadForm, &[u8]) -> (u16, String) + Send + Sync>,
    /// SQS on moto keeps real time: the checks' time passes this many times faster there.
    real_time_divisor: Option<u32>,
    // Declared last, so the adapters are dropped before their files are removed.
    _dir: Option<TempDir>,
}

impl Backend {
    /// Lets time pass for the adapters (expiry, visibility timeouts).
    async fn pass_time(&self, by: Duration) {
        self.clock.advance(by);
        if let Some(divisor) = self.real_time_divisor {
            tokio::time::sleep((by / divisor).try_into().expect("time passes forward")).await;
        }
    }

    async fn get(&self, key: &Key) -> Option<Item> {
        self.store.get(key).await.expect("get")
    }

    async fn query(&self, partition: &str, prefix: &str) -> Vec<String> {
        self.store.query(partition, prefix).await.expect("query").into_iter().map(|item| item.key.sort).collect()
    }

    async fn receive(&self, queue: QueueName) -> Vec<QueueMessage> {
        self.queue.receive(queue, 10, StdDuration::ZERO).await.expect("receive")
    }

    async fn receive_one(&self, queue: QueueName) -> QueueMessage {
        let mut messages = self.receive(queue).await;
        assert_eq!(messages.len(), 1, "expected exactly one message on {queue:?}: {messages:?}");
        messages.remove(0)
    }
}

fn start_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(datetime!(2025-03-03 09:00 UTC)))
}

/// SQLite database file and document folder in a temporary directory.
async fn embedded() -> Backend {
    let dir = tempfile::tempdir().expect("temporary directory");
    let clock = start_clock();
    let (database_file, document_root) = (dir.path().join("state.sqlite3"), dir.path().join("documents"));
    let open_store = {
        let clock = clock.clone();
        move || -> (Arc<dyn StateStore>, Arc<dyn Queue>) {
            let database = Database::open(&database_file).expect("open database");
            let settings = QueueSettings { visibility_timeout: VISIBILITY_TIMEOUT, max_receives: MAX_RECEIVES };
            (
                Arc::new(SqliteStateStore::new(database.clone(), clock.clone())),
                Arc::new(SqliteQueue::new(database, clock.clone(), Arc::new(RandomIds), settings)),
            )
        }
    };
    let (store, queue) = open_store();
    let documents = Arc::new(FsDocumentStore::new(&document_root, clock.clone()));
    let reopen = {
        let (clock, document_root) = (clock.clone(), document_root.clone());
        move || -> Adapters {
            let (store, queue) = open_store();
            (store, queue, Arc::new(FsDocumentStore::new(&document_root, clock.clone())))
        }
    };
    // Links are URLs of the runtime, `/documents/<key>?<signed query>`, checked by the store.
    let follow_link = {
        let (documents, clock, root) = (documents.clone(), clock.clone(), document_root.clone());
        move |url: &str| {
            let (path, query) = url.split_once('?').expect("a query");
            let key = path.strip_prefix("/documents/").expect("a document path");
            let link: SignedLink = serde_urlencoded::from_str(query).expect("a signed link");
            let lifetime = Duration::seconds(link.expires - clock.now().unix_timestamp());
            let bytes = documents.link_is_valid(key, &link).then(|| std::fs::read(root.join(key)).expect("document"));
            (lifetime, bytes)
        }
    };
    // Forms post to the runtime's `POST /documents`, which hands them to the store like this.
    let post_form = {
        let documents = documents.clone();
        move |form: &UploadForm, file: &[u8]| {
            assert_eq!(form.action, "/documents");
            let received = tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(documents.receive_upload(&form.fields, file.to_vec()))
            });
            match received.expect("the store works") {
                Ok(next) => (303, next.unwrap_or_default()),
                Err(refusal) => (refusal.code().1, refusal.code().0.to_owned()),
            }
        }
    };
    Backend {
        store,
        queue,
        documents,
        clock,
        reopen: Box::new(reopen),
        follow_link: Box::new(follow_link),
        post_form: Box::new(post_form),
        real_time_divisor: None,
        _dir: Some(dir),
    }
}

/// On SQS the visibility timeout is real time: `VISIBILITY_TIMEOUT / AWS_TIME_DIVISOR`.
const AWS_TIME_DIVISOR: u32 = 15;

/// DynamoDB, S3 and SQS on moto server, on a fresh copy of the template's resources.
async fn aws() -> Backend {
    let visibility = (VISIBILITY_TIMEOUT / AWS_TIME_DIVISOR).whole_seconds().to_string();
    let max_receives = format!("MaxReceiveCount={MAX_RECEIVES}");
    let env = emulator::fresh_resources(&["--parameter", &max_receives, "--visibility-timeout", &visibility]);
    let resources = Resources::from_lookup(&|name| env.get(name).cloned()).expect("resources in the environment");
    let config = emulator::sdk_config(&env).await;
    let clock = start_clock();
    let open = {
        let clock = clock.clone();
        move || -> Adapters {
            let adapters = AwsAdapters::with_config(&config, &resources, clock.clone());
            (adapters.store, adapters.queue, adapters.documents)
        }
    };
    let (store, queue, documents) = open();
    // A presigned URL; moto serves it without checking signature or expiry.
    let follow_link = |url: &str| {
        let query = url.split_once('?').expect("a query").1;
        let expires: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("a query");
        let seconds = expires.iter().find(|(k, _)| k == "X-Amz-Expires").expect("X-Amz-Expires").1.parse().unwrap();
        let mut response = ureq::get(url).call().expect("download");
        (Duration::seconds(seconds), Some(response.body_mut().read_to_vec().expect("body")))
    };
    // A browser's post to S3 (moto, which the emulator's server makes check policies as S3).
    let post_form = |form: &UploadForm, file: &[u8]| {
        let (content_type, body) = shared::testing::upload_body(form, "urkunde.pdf", file);
        let agent: ureq::Agent =
            ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
        let request = ureq::http::Request::post(&form.action).header("content-type", content_type).body(body).unwrap();
        let mut response = agent.run(request).expect("S3 answers");
        let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let status = response.status().as_u16();
        (status, location.unwrap_or_else(|| response.body_mut().read_to_string().unwrap_or_default()))
    };
    Backend {
        store,
        queue,
        documents,
        clock,
        reopen: Box::new(open),
        follow_link: Box::new(follow_link),
        post_form: Box::new(post_form),
        real_time_divisor: Some(AWS_TIME_DIVISOR),
        _dir: None,
    }
}

macro_rules! conformance {
    ($backend:ident: $($test:ident => $check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                $check(&$backend().await).await;
            }
        )*
    };
}

conformance!(embedded:
    embedded_conditional_writes => check_conditional_writes,
    embedded_expiry => check_expiry,
    embedded_queries => check_queries,
    embedded_queue_delivery => check_queue_delivery,
    embedded_queue_long_poll => check_queue_long_poll,
    embedded_documents => check_documents,
    embedded_durability => check_durability,
    embedded_download_links => check_download_links,
    embedded_upload_forms => check_upload_forms,
    embedded_query_pages => check_query_pages,
    embedded_index_pages => check_index_pages,
    embedded_transaction_limits => check_transaction_limits,
);

conformance!(aws:
    aws_conditional_writes => check_conditional_writes,
    aws_expiry => check_expiry,
    aws_queries => check_queries,
    aws_queue_delivery => check_queue_delivery,
    aws_queue_long_poll => check_queue_long_poll,
    aws_documents => check_documents,
    aws_durability => check_durability,
    aws_download_links => check_download_links,
    aws_upload_forms => check_upload_forms,
    aws_query_pages => check_query_pages,
    aws_index_pages => check_index_pages,
    aws_transaction_limits => check_transaction_limits,
);

fn put(item: Item, condition: Condition) -> Write {
    Write::Put { item, condition }
}

fn plain(key: &Key, body: Value) -> Item {
    Item::new(key.clone(), body)
}

fn assert_condition_failed(result: Result<(), StoreError>, what: &str) {
    assert!(matches!(result, Err(StoreError::ConditionFailed)), "{what}: expected ConditionFailed, got {result:?}");
}

async fn check_conditional_writes(b: &Backend) {
    let key = Key::new("request#r1", "meta");
    let version_and_body = |item: Option<Item>| item.map(|item| (item.version, item.body));

    b.store.write(vec![put(plain(&key, json!({"step": 1})), Condition::Absent)]).await.expect("create");
    let created = b.get(&key).await.expect("created item");
    assert_eq!(created, Item { version: 1, ..plain(&key, json!({"step": 1})) });
    let again = b.store.write(vec![put(plain(&key, json!({"step": 99})), Condition::Absent)]).await;
    assert_condition_failed(again, "second create");
    assert_eq!(version_and_body(b.get(&key).await), Some((1, json!({"step": 1}))));

    b.store
        .write(vec![put(plain(&key, json!({"step": 2})), Condition::Version(1))])
        .await
        .expect("update with current version");
    assert_eq!(version_and_body(b.get(&key).await), Some((2, json!({"step": 2}))));
    let stale = b.store.write(vec![put(plain(&key, json!({"step": 99})), Condition::Version(1))]).await;
    assert_condition_failed(stale, "update with stale version");
    let missing =
        b.store.write(vec![put(plain(&Key::new("request#r1", "other"), json!({})), Condition::Version(1))]).await;
    assert_condition_failed(missing, "update of a missing item");
    assert_eq!(b.get(&Key::new("request#r1", "other")).await, None);
    b.store.write(vec![put(plain(&key, json!({"step": 3})), Condition::Always)]).await.expect("unconditional put");
    assert_eq!(version_and_body(b.get(&key).await), Some((3, json!({"step": 3}))));

    let stale = b.store.write(vec![Write::Delete { key: key.clone(), condition: Condition::Version(2) }]).await;
    assert_condition_failed(stale, "delete with stale version");
    assert!(b.get(&key).await.is_some(), "a failed delete must not delete");
    b.store.write(vec![Write::Delete { key: key.clone(), condition: Condition::Version(3) }]).await.expect("delete");
    assert_eq!(b.get(&key).await, None);
    b.store.write(vec![put(plain(&key, json!({"step": 1})), Condition::Absent)]).await.expect("create after delete");
    assert_eq!(
        version_and_body(b.get(&key).await),
        Some((1, json!({"step": 1}))),
        "a re-created item starts at version 1"
    );

    // Transactions: all writes or none.
    let fresh = Key::new("request#r2", "meta");
    let failing = vec![
        put(plain(&fresh, json!({"new": true})), Condition::Absent),
        put(plain(&key, json!({"step": 99})), Condition::Version(99)),
    ];
    assert_condition_failed(b.store.write(failing).await, "batch with a failing second condition");
    assert_eq!(b.get(&fresh).await, None, "the first write of a failed batch must not be visible");
    assert_eq!(version_and_body(b.get(&key).await), Some((1, json!({"step": 1}))));
    let failing = vec![
        Write::Delete { key: key.clone(), condition: Condition::Always },
        put(plain(&fresh, json!({})), Condition::Version(1)),
    ];
    assert_condition_failed(b.store.write(failing).await, "batch with a delete and a failing put");
    assert!(b.get(&key).await.is_some(), "the delete of a failed batch must not happen");
    let failing = vec![
        put(plain(&key, json!({"step": "changed"})), Condition::Always),
        put(plain(&fresh, json!({})), Condition::Version(1)),
    ];
    assert_condition_failed(b.store.write(failing).await, "batch with a change and a failing put");
    assert_eq!(
        version_and_body(b.get(&key).await),
        Some((1, json!({"step": 1}))),
        "the change of a failed batch must not stay"
    );

    let both = vec![
        put(plain(&fresh, json!({"new": true})), Condition::Absent),
        put(plain(&key, json!({"step": 2})), Condition::Version(1)),
    ];
    b.store.write(both).await.expect("batch whose conditions hold");
    assert_eq!(version_and_body(b.get(&fresh).await), Some((1, json!({"new": true}))));
    assert_eq!(version_and_body(b.get(&key).await), Some((2, json!({"step": 2}))));
}

async fn check_expiry(b: &Backend) {
    let soon = b.clock.now() + Duration::minutes(1);
    let partition = "session#s1";
    let (token, nonce, profile) =
        (Key::new(partition, "token"), Key::new(partition, "nonce"), Key::new(partition, "profile"));
    let expiring = |key: &Key| Item {
        expires_at: Some(soon),
        index: Some(Key::new("sessions", &key.sort)),
        ..plain(key, json!({"short": true}))
    };
    b.store
        .write(vec![
            put(expiring(&token), Condition::Absent),
            put(expiring(&nonce), Condition::Absent),
            put(plain(&profile, json!({"short": false})), Condition::Absent),
        ])
        .await
        .expect("write items");

    b.pass_time(Duration::seconds(59)).await;
    assert_eq!(b.get(&token).await.and_then(|item| item.expires_at), Some(soon), "visible before expiry");
    assert_eq!(b.query(partition, "").await, ["nonce", "profile", "token"]);
    assert_eq!(b.store.query_index("sessions", "").await.expect("query index").len(), 2);

    b.pass_time(Duration::seconds(2)).await;
    assert_eq!(b.get(&token).await, None, "get after expiry");
    assert_eq!(b.get(&nonce).await, None, "get after expiry");
    assert_eq!(b.query(partition, "").await, ["profile"], "query after expiry");
    assert_eq!(b.store.query_index("sessions", "").await.expect("query index"), [], "index query after expiry");
    let stale = b.store.write(vec![put(plain(&nonce, json!({})), Condition::Version(1))]).await;
    assert_condition_failed(stale, "an expired item has no version");
    b.store
        .write(vec![put(plain(&token, json!({"renewed": true})), Condition::Absent)])
        .await
        .expect("an expired item counts as absent");
    let renewed = b.get(&token).await.expect("renewed item");
    assert_eq!((renewed.version, renewed.expires_at, renewed.body), (1, None, json!({"renewed": true})));
    let (draft, saved_at) = (Key::new(partition, "draft"), b.clock.now());
    b.store
        .write(vec![put(Item { expires_at: Some(saved_at), ..plain(&draft, json!({})) }, Condition::Absent)])
        .await
        .expect("an item that expires at once");
    b.store.write(vec![put(plain(&draft, json!({"again": true})), Condition::Always)]).await.expect("put over it");
    assert_eq!(b.get(&draft).await.map(|item| item.version), Some(1), "a put over an expired item creates it anew");

    // A page at a time, as a run continues where the one before stopped.
    let (mut purged, mut pages, mut after) = (0, 0, None);
    loop {
        let page = b.store.purge_expired(after, 2).await.expect("purge");
        (purged, pages, after) = (purged + page.items, pages + 1, page.next);
        if after.is_none() {
            break;
        }
    }
    assert!(purged >= 1, "purge_expired removed {purged} items, expected the expired nonce");
    assert!(pages >= 2, "{pages} pages of two: the purge continued from its cursor");
    let again = b.store.purge_expired(None, 1000).await.expect("second purge");
    assert_eq!(again.items, 0, "nothing left to purge");
    assert_eq!(b.query(partition, "").await, ["draft", "profile", "token"], "purge keeps live items");
    b.store.write(vec![put(plain(&nonce, json!({})), Condition::Absent)]).await.expect("create after purge");
}

async fn check_queries(b: &Backend) {
    let indexed = |partition: &str, sort: &str, index: Option<(&str, &str)>| Item {
        index: index.map(|(p, s)| Key::new(p, s)),
        ..plain(&Key::new(partition, sort), json!({"at": format!("{partition}/{sort}")}))
    };
    let items = [
        indexed("family#f1", "request#2", Some(("status#closed", "2025-03-01#r2"))),
        indexed("family#f1", "request#10", None),
        indexed("family#f1", "request#1", Some(("status#open", "2025-03-02#r1"))),
        indexed("family#f1", "Request#0", None),
        indexed("family#f1", "child#a", None),
        indexed("family#f2", "request#3", Some(("status#open", "2025-03-01#r3"))),
        indexed("family#f10", "request#4", Some(("status#open", "2025-04-01#r4"))),
    ];
    b.store.write(items.into_iter().map(|item| put(item, Condition::Absent)).collect()).await.expect("write items");

    // Sort keys in byte order: upper case before lower case, "10" before "2".
    assert_eq!(b.query("family#f1", "request#").await, ["request#1", "request#10", "request#2"]);
    assert_eq!(b.query("family#f1", "request#1").await, ["request#1", "request#10"]);
    assert_eq!(b.query("family#f1", "").await, ["Request#0", "child#a", "request#1", "request#10", "request#2"]);
    assert_eq!(b.query("family#f2", "").await, ["request#3"]);
    assert_eq!(b.query("family#f1", "request#3").await, Vec::<String>::new(), "other partitions stay out");
    assert_eq!(b.query("family#", "").await, Vec::<String>::new(), "partitions are not prefixes");
    assert_eq!(b.query("family#f3", "").await, Vec::<String>::new());
    let item = b.store.query("family#f1", "child").await.expect("query").remove(0);
    assert_eq!(item, Item { version: 1, ..indexed("family#f1", "child#a", None) });

    let by_index = |partition: &'static str, prefix: &'static str| async move {
        let found = b.store.query_index(partition, prefix).await.expect("query index");
        found.into_iter().map(|item| format!("{}/{}", item.key.partition, item.key.sort)).collect::<Vec<_>>()
    };
    assert_eq!(by_index("status#open", "2025-03").await, ["family#f2/request#3", "family#f1/request#1"]);
    assert_eq!(
        by_index("status#open", "").await,
        ["family#f2/request#3", "family#f1/request#1", "family#f10/request#4"]
    );
    assert_eq!(by_index("status#closed", "").await, ["family#f1/request#2"]);
    assert_eq!(by_index("family#f1", "").await, Vec::<String>::new(), "the index is not the table");
    let item = b.store.query_index("status#closed", "2025").await.expect("query index").remove(0);
    assert_eq!(
        item,
        Item { version: 1, ..indexed("family#f1", "request#2", Some(("status#closed", "2025-03-01#r2"))) }
    );
}

async fn check_queue_delivery(b: &Backend) {
    let submitted = QueueName::Submitted;
    let id = b.queue.send(submitted, r#"{"request":"r1"}"#).await.expect("send");
    let first = b.receive_one(submitted).await;
    assert_eq!((&first.message_id, first.body.as_str(), first.receive_count), (&id, r#"{"request":"r1"}"#, 1));
    assert_eq!(b.receive(submitted).await, [], "a received message is hidden");
    // Half the timeout: on SQS time is real, and a closer look would race the clock.
    b.pass_time(VISIBILITY_TIMEOUT / 2).await;
    assert_eq!(b.receive(submitted).await, [], "hidden until the visibility timeout has passed");
    b.pass_time(VISIBILITY_TIMEOUT / 2 + Duration::seconds(1)).await;
    let second = b.receive_one(submitted).await;
    assert_eq!((&second.message_id, second.body.as_str(), second.receive_count), (&id, r#"{"request":"r1"}"#, 2));
    assert_ne!(second.receipt, first.receipt, "every delivery has its own receipt");
    b.queue.delete(submitted, &second.receipt).await.expect("delete");
    b.pass_time(VISIBILITY_TIMEOUT * 2).await;
    assert_eq!(b.receive(submitted).await, [], "a deleted message is gone");
    assert_eq!(b.queue.dead_letters(submitted).await.expect("dead letters"), []);

    // A message that is never acknowledged ends in the dead-letter queue.
    let poison = b.queue.send(submitted, "poison").await.expect("send");
    for count in 1..=MAX_RECEIVES {
        let message = b.receive_one(submitted).await;
        assert_eq!((&message.message_id, message.receive_count), (&poison, count));
        b.pass_time(VISIBILITY_TIMEOUT + Duration::seconds(1)).await;
    }
    assert_eq!(b.receive(submitted).await, [], "received too often: moved to the dead-letter queue");
    let dead = b.queue.dead_letters(submitted).await.expect("dead letters");
    assert_eq!(
        dead.iter().map(|m| (m.message_id.as_str(), m.body.as_str())).collect::<Vec<_>>(),
        [(poison.as_str(), "poison")]
    );
    b.pass_time(VISIBILITY_TIMEOUT * 2).await;
    assert_eq!(b.receive(submitted).await, [], "dead letters are not delivered again");

    // Queues are independent.
    let prepared = b.queue.send(QueueName::Prepared, "prepared r1").await.expect("send");
    assert_eq!(b.receive(QueueName::Submitted).await, []);
    assert_eq!(b.receive(QueueName::Issue).await, []);
    let message = b.receive_one(QueueName::Prepared).await;
    assert_eq!((message.message_id, message.body, message.receive_count), (prepared, "prepared r1".to_owned(), 1));
    assert_eq!(b.queue.dead_letters(QueueName::Prepared).await.expect("dead letters"), []);
    assert_eq!(b.queue.dead_letters(QueueName::Submitted).await.expect("dead letters").len(), 1);
}

async fn check_queue_long_poll(b: &Backend) {
    // A message for another queue arrives first; the receive must keep waiting for its own.
    let queue = b.queue.clone();
    let sender = tokio::spawn(async move {
        tokio::time::sleep(StdDuration::from_millis(100)).await;
        queue.send(QueueName::Prepared, "elsewhere").await.expect("send");
        tokio::time::sleep(StdDuration::from_millis(100)).await;
        queue.send(QueueName::Submitted, "late").await.expect("send")
    });
    let received = b.queue.receive(QueueName::Submitted, 10, StdDuration::from_secs(2)).await.expect("receive");
    let id = sender.await.expect("sender task");
    assert_eq!(
        received.iter().map(|m| (m.message_id.as_str(), m.body.as_str(), m.receive_count)).collect::<Vec<_>>(),
        [(id.as_str(), "late", 1)]
    );
}

async fn check_documents(b: &Backend) {
    let key = "requests/r1/antrag.pdf";
    b.documents.put(key, b"%PDF-1.7 first".to_vec(), "application/pdf").await.expect("put");
    assert_eq!(b.documents.get(key).await.expect("get").as_deref(), Some(&b"%PDF-1.7 first"[..]));
    b.documents.put(key, b"%PDF-1.7 second".to_vec(), "application/pdf").await.expect("overwrite");
    assert_eq!(b.documents.get(key).await.expect("get").as_deref(), Some(&b"%PDF-1.7 second"[..]));
    b.documents.put("requests/r1/antrag.xml", b"<xml/>".to_vec(), "application/xml").await.expect("put");
    assert_eq!(b.documents.get("requests/r2/antrag.pdf").await.expect("get missing"), None);
    b.documents.delete(key).await.expect("delete");
    assert_eq!(b.documents.get(key).await.expect("get deleted"), None);
    b.documents.delete(key).await.expect("deleting a missing document is fine");
    assert_eq!(
        b.documents.get("requests/r1/antrag.xml").await.expect("get").as_deref(),
        Some(&b"<xml/>"[..]),
        "neighbours stay"
    );

    // The absolute key points into a scratch folder: a broken adapter must not overwrite or
    // delete real files when this check fails.
    let outside = tempfile::tempdir().expect("scratch folder");
    let absolute = format!("{}/escape.pdf", outside.path().display());
    for bad in [
        "",
        "../escape.pdf",
        "requests/../../escape.pdf",
        "requests/..",
        absolute.as_str(),
        "requests//r1.pdf",
        "requests/r1/",
    ] {
        let put = b.documents.put(bad, b"x".to_vec(), "text/plain").await;
        assert!(matches!(put, Err(DocumentError::InvalidKey)), "put {bad:?}: {put:?}");
        let get = b.documents.get(bad).await;
        assert!(matches!(get, Err(DocumentError::InvalidKey)), "get {bad:?}: {get:?}");
        let delete = b.documents.delete(bad).await;
        assert!(matches!(delete, Err(DocumentError::InvalidKey)), "delete {bad:?}: {delete:?}");
    }
    assert!(!outside.path().join("escape.pdf").exists(), "nothing is written outside the store");
}

async fn check_durability(b: &Backend) {
    let key = Key::new("request#durable", "meta");
    let item = Item {
        expires_at: Some(datetime!(2025-06-01 00:00 UTC)),
        index: Some(Key::new("status#open", "2025-03-03#durable")),
        ..plain(&key, json!({"name": "Müller", "children": [1, 2]}))
    };
    b.store.write(vec![put(item, Condition::Absent)]).await.expect("write");
    let written = b.get(&key).await.expect("written item");
    let id = b.queue.send(QueueName::Issue, "certify durable").await.expect("send");
    b.documents.put("certificates/durable.pdf", b"%PDF certificate".to_vec(), "application/pdf").await.expect("put");

    let (store, queue, documents) = (b.reopen)();
    assert_eq!(store.get(&key).await.expect("get after reopen"), Some(written));
    let messages = queue.receive(QueueName::Issue, 10, StdDuration::ZERO).await.expect("receive after reopen");
    assert_eq!(
        messages.iter().map(|m| (m.message_id.as_str(), m.body.as_str(), m.receive_count)).collect::<Vec<_>>(),
        [(id.as_str(), "certify durable", 1)]
    );
    assert_eq!(
        documents.get("certificates/durable.pdf").await.expect("get after reopen").as_deref(),
        Some(&b"%PDF certificate"[..])
    );
}

async fn check_download_links(b: &Backend) {
    let key = "jugendamt-bremen/requests/r1/bescheinigung.pdf";
    b.documents.put(key, b"%PDF certificate".to_vec(), "application/pdf").await.expect("put");
    let link = b.documents.download_link(key, "Bescheinigung.pdf", Duration::seconds(60)).await.expect("link");
    assert!(link.contains("Bescheinigung.pdf"), "the link names the file: {link}");
    let (lifetime, bytes) = (b.follow_link)(&link);
    assert_eq!(lifetime, Duration::seconds(60), "the link is valid for the time asked: {link}");
    assert_eq!(bytes.as_deref(), Some(&b"%PDF certificate"[..]), "the link serves the document");
    for bad in ["../escape.pdf", "requests//r1.pdf"] {
        let link = b.documents.download_link(bad, "x.pdf", Duration::seconds(60)).await;
        assert!(matches!(link, Err(DocumentError::InvalidKey)), "link to {bad:?}: {link:?}");
    }
}

/// A query read a page at a time, either way round, yields every live item of its prefix once,
/// in order; a page never holds more than asked for, and the last one says so.
async fn check_query_pages(b: &Backend) {
    let mut writes: Vec<Write> = (0..7)
        .map(|i| put(plain(&Key::new("CITIZEN#p", format!("REQUEST#{i:03}")), json!({"i": i})), Condition::Absent))
        .collect();
    writes.push(put(plain(&Key::new("CITIZEN#p", "DRAFT#antrag"), json!({})), Condition::Absent));
    writes.push(put(plain(&Key::new("CITIZEN#q", "REQUEST#000"), json!({})), Condition::Absent));
    let gone = Item {
        expires_at: Some(b.clock.now() - Duration::seconds(1)),
        ..plain(&Key::new("CITIZEN#p", "REQUEST#004a"), json!({}))
    };
    writes.push(put(gone, Condition::Always));
    b.store.write(writes).await.expect("write");
    for newest_first in [false, true] {
        let mut seen = Vec::new();
        let mut after = None;
        for _ in 0..10 {
            let spec = shared::ports::PageSpec { limit: 3, after: after.clone(), newest_first };
            let page = b.store.query_page("CITIZEN#p", "REQUEST#", &spec).await.expect("page");
            assert!(page.items.len() <= 3, "{:?}", page.items);
            seen.extend(page.items.into_iter().map(|item| item.key.sort));
            after = page.next;
            if after.is_none() {
                break;
            }
        }
        let mut expected: Vec<String> = (0..7).map(|i| format!("REQUEST#{i:03}")).collect();
        if newest_first {
            expected.reverse();
        }
        assert_eq!(seen, expected, "newest first: {newest_first}");
    }
    let first = shared::ports::PageSpec { limit: 10, after: None, newest_first: true };
    let all = b.store.query_page("CITIZEN#p", "REQUEST#", &first).await.expect("page");
    assert_eq!((all.items.len(), all.next), (7, None), "one page when it fits");
}

/// The index read a page at a time, either way round, yields every live item of its prefix once
/// and in index order, also where several items share one index key.
async fn check_index_pages(b: &Backend) {
    let indexed = |i: usize, index_sort: &str| Item {
        index: Some(Key::new("HANDON#3", index_sort)),
        ..plain(&Key::new(format!("REQUEST#{i}"), "HANDON"), json!({"i": i}))
    };
    let mut writes: Vec<Write> =
        (0..5).map(|i| put(indexed(i, &format!("{:03}#r", i / 2)), Condition::Absent)).collect();
    writes.push(put(indexed(9, "999#other"), Condition::Absent));
    writes.push(put(
        Item { index: Some(Key::new("HANDON#4", "000#r")), ..plain(&Key::new("REQUEST#x", "HANDON"), json!({})) },
        Condition::Absent,
    ));
    b.store.write(writes).await.expect("write");
    for newest_first in [false, true] {
        let mut seen = Vec::new();
        let mut after = None;
        for _ in 0..10 {
            let spec = shared::ports::PageSpec { limit: 2, after: after.clone(), newest_first };
            let page = b.store.query_index_page("HANDON#3", "0", &spec).await.expect("page");
            assert!(page.items.len() <= 2, "{:?}", page.items);
            seen.extend(page.items.into_iter().map(|item| item.body["i"].as_u64().unwrap()));
            after = page.next;
            if after.is_none() {
                break;
            }
        }
        let groups: Vec<u64> = seen.iter().map(|i| i / 2).collect();
        let mut expected_groups = vec![0, 0, 1, 1, 2];
        if newest_first {
            expected_groups.reverse();
        }
        assert_eq!(groups, expected_groups, "in index order, newest first: {newest_first}");
        seen.sort();
        assert_eq!(seen, [0, 1, 2, 3, 4], "each once, newest first: {newest_first}");
    }
}

/// A transaction takes at most 100 writes and each item once, on both backends (DynamoDB's
/// rules, enforced by the embedded store too); nothing of a refused one is written.
async fn check_transaction_limits(b: &Backend) {
    let writes = |n: usize| -> Vec<Write> {
        (0..n).map(|i| put(plain(&Key::new("LIMITS", format!("{i:03}")), json!({})), Condition::Always)).collect()
    };
    assert!(b.store.write(writes(101)).await.is_err(), "101 writes");
    assert!(b.store.query("LIMITS", "").await.unwrap().is_empty(), "nothing of it written");
    b.store.write(writes(100)).await.expect("100 writes");
    let twice = vec![
        put(plain(&Key::new("LIMITS", "twice"), json!({"n": 1})), Condition::Always),
        put(plain(&Key::new("LIMITS", "twice"), json!({"n": 2})), Condition::Always),
    ];
    assert!(b.store.write(twice).await.is_err(), "one item twice");
    assert!(b.store.get(&Key::new("LIMITS", "twice")).await.unwrap().is_none());
}

/// A form lets a browser store one file under the key it fixes, within its size range and its
/// lifetime, and sends it on to the page it names; a form changed in the browser stores nothing.
async fn check_upload_forms(b: &Backend) {
    let terms = UploadTerms {
        key: "incoming/0f3a9c".into(),
        content_type: "application/octet-stream".into(),
        max_bytes: 1000,
        redirect: "http://127.0.0.1:9/antrag/nachweise/eingang?art=geburtsurkunde".into(),
    };
    let form = b.documents.upload_form(&terms, Duration::minutes(5)).await.expect("form");
    assert_eq!(form.fields.last().map(|(name, _)| name.as_str()), Some("x-amz-signature"));
    let (status, next) = (b.post_form)(&form, b"%PDF-1.7 hers");
    assert_eq!(status, 303, "{next}");
    assert!(next.starts_with("http://127.0.0.1:9/antrag/nachweise/eingang?art=geburtsurkunde&"), "{next}");
    assert!(next.contains("key=incoming%2F0f3a9c"), "S3 names what it stored: {next}");
    assert_eq!(b.documents.get("incoming/0f3a9c").await.expect("get").as_deref(), Some(&b"%PDF-1.7 hers"[..]));

    let (status, refusal) = (b.post_form)(&form, &[b'x'; 1001]);
    assert_eq!(status, 400, "beyond content-length-range: {refusal}");
    assert!(refusal.contains("EntityTooLarge"), "{refusal}");
    let mut elsewhere = form.clone();
    elsewhere.fields.iter_mut().filter(|(name, _)| name == "key").for_each(|(_, key)| *key = "drafts/x.pdf".into());
    let (status, refusal) = (b.post_form)(&elsewhere, b"%PDF-1.7 elsewhere");
    assert_eq!(status, 403, "another key than the policy's: {refusal}");
    let mut unsigned = form.clone();
    unsigned.fields.push(("acl".into(), "public-read".into()));
    assert_eq!((b.post_form)(&unsigned, b"%PDF").0, 403, "a field the policy does not cover");
    assert_eq!(b.documents.get("drafts/x.pdf").await.expect("get"), None, "nothing stored");

    let short = b.documents.upload_form(&terms, Duration::seconds(1)).await.expect("form");
    b.pass_time(Duration::seconds(30)).await;
    let (status, refusal) = (b.post_form)(&short, b"%PDF-1.7 late");
    assert_eq!(status, 403, "an expired form: {refusal}");
    let bad = UploadTerms { key: "../escape".into(), ..terms };
    assert!(matches!(b.documents.upload_form(&bad, Duration::minutes(5)).await, Err(DocumentError::InvalidKey)));
}

/// The secret stores: made once on first use, the same value for every later reader (and for a
/// creator that lost the race), nothing stored when making fails.
async fn check_secrets(store: &dyn shared::ports::SecretStore, name: &str) {
    let first = store.get_or_create(name, &|| Ok(b"first".to_vec())).await.expect("created");
    let again = store.get_or_create(name, &|| Ok(b"second".to_vec())).await.expect("read");
    assert_eq!((first.as_slice(), again.as_slice()), (&b"first"[..], &b"first"[..]));
    let failed = format!("{name}-failed");
    assert!(store.get_or_create(&failed, &|| Err("no entropy".into())).await.is_err());
    let made = store.get_or_create(&failed, &|| Ok(b"later".to_vec())).await.expect("made later");
    assert_eq!(made, b"later", "a failed attempt left nothing behind");
}

#[tokio::test]
async fn secrets_embedded() {
    let dir = TempDir::new().unwrap();
    check_secrets(&shared::embedded::FsSecretStore::new(dir.path().join("secrets")), "saml-sp-keys").await;
}

#[tokio::test]
async fn secrets_aws() {
    let env = emulator::fresh_resources(&[]);
    let config = emulator::sdk_config(&env).await;
    // A fresh prefix per run: moto keeps secrets for the life of the server.
    let prefix = format!("sorgeregister/test-{}/", shared::ports::Ids::new_id(&shared::ports::RandomIds));
    check_secrets(&shared::aws::SecretsManagerStore::new(&config, &prefix), "saml-sp-keys").await;
}
