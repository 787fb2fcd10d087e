//! The document chain wired in-process to the embedded adapters and driven message by message,
//! so duplicates, failures and every register variant can be staged exactly.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;
use shared::domain::request::Status;
use shared::ports::{Clock, DocumentError, DocumentStore, QueueName, UploadForm, UploadTerms};
use shared::records;
use shared::steps::{SweepSettings, sweep};
use system_tests::chain::{Chain, MAX_RECEIVES, handlers};
use system_tests::pdftotext;
use time::Duration;

#[tokio::test]
async fn a_clean_register_gives_a_certificate_without_a_case_worker() {
    let chain = Chain::new().await;
    let id = chain.submit(&chain.app.mother(), &[]).await;
    chain.run(false).await;

    let request = chain.request(&id).await;
    assert_eq!(request.status, Status::Issued);
    let statuses: Vec<Status> = request.timeline.iter().map(|e| e.status).collect();
    assert_eq!(statuses, [Status::Submitted, Status::Prepared, Status::Issued]);
    let certificate = request.certificate.expect("certificate");
    assert_eq!(certificate.code.len(), 20);
    let pdf = chain.app.services.documents.get(&certificate.document).await.unwrap().unwrap();
    let text = pdftotext(&pdf);
    assert!(text.contains("Mia") && text.contains("Beispiel"), "{text}");
    assert!(
        request.documents.antrag_xml.is_some()
            && request.documents.antrag_pdf.is_some()
            && request.documents.auskunft_xml.is_some()
    );

    let (_, status) = chain.app.call("GET", &format!("/api/v1/requests/{id}"), Some(&chain.app.mother()), None).await;
    assert_eq!(status["certificate"]["code"], certificate.code.as_str());
    let verify = async |code: &str, birth_date: &str| {
        let path = format!("/api/v1/verify/{code}?birth_date={birth_date}");
        chain.app.call("GET", &path, None, None).await
    };
    let (_, verified) = verify(&certificate.code.to_lowercase(), "2021-03-14").await;
    assert_eq!((verified["valid"].clone(), verified["status"].clone()), (json!(true), json!("valid")), "{verified}");
    assert_eq!(verified["office"]["id"], "jugendamt-bremen");
    assert_eq!(verified["child_given_names"], "Mia", "to compare with the paper");
    // A genuine code on a forged paper (another date of birth, or none) is no proof.
    let (_, forged) = verify("AAAAAAAAAAAAAAAAAAAA", "2021-03-14").await;
    assert_eq!(forged, json!({"valid": false, "status": "unknown"}));
    for wrong in ["2021-03-15", ""] {
        assert_eq!(verify(&certificate.code, wrong).await.1, forged, "as for an unknown code: {wrong:?}");
    }
    let (status, refused) = verify(&certificate.code, "14.03.2021").await;
    assert_eq!((status.as_u16(), refused["error"]["fields"]["birth_date"].is_string()), (422, true));
    let stored = records::certificate(&*chain.app.services.store, &certificate.code).await.unwrap().unwrap().value;
    assert_eq!((stored.counts.valid, stored.counts.wrong_birth_date), (1, 2), "each check counted");
}

#[tokio::test]
async fn every_message_delivered_twice_still_gives_one_certificate() {
    let chain = Chain::new().await;
    let id = chain.submit(&chain.app.mother(), &[]).await;
    chain.run(true).await;
    let request = chain.request(&id).await;
    assert_eq!(request.status, Status::Issued);
    assert_eq!(request.timeline.len(), 3, "no step was recorded twice");
    let code = request.certificate.unwrap().code;
    let lookup = records::certificate_key(&code);
    let certificates = chain.app.services.store.query(&lookup.partition, "").await.unwrap();
    assert_eq!(certificates.len(), 1);
}

#[tokio::test]
async fn a_replayed_message_after_issue_changes_nothing() {
    let chain = Chain::new().await;
    let id = chain.submit(&chain.app.mother(), &[]).await;
    chain.run(false).await;
    let before = chain.request(&id).await;
    for queue in QueueName::ALL {
        chain.app.services.queue.send(queue, &json!({"request_id": id}).to_string()).await.unwrap();
    }
    chain.run(false).await;
    assert_eq!(chain.request(&id).await, before);
}

#[tokio::test]
async fn a_username_password_login_never_gets_an_automatic_certificate() {
    let chain = Chain::new().await;
    let basic = chain.app.citizen("sophia", "Sophia", "Beispiel", "1994-05-02", "STORK-QAA-Level-1");
    let id = chain.submit(&basic, &[]).await;
    chain.run(false).await;
    let request = chain.request(&id).await;
    assert_eq!(request.status, Status::InReview);
    assert!(request.certificate.is_none());
}

#[tokio::test]
async fn register_variants_of_the_child_are_never_certified_automatically() {
    // (what, registered child (given, family, birth date), registered mother, birth date applied for)
    let variants = [
        ("the same child", ("Mia", "Beispiel", "2021-03-14"), ("Sophia", "Beispiel"), "2021-03-14"),
        ("written in capitals", ("MIA", "BEISPIEL", "2021-03-14"), ("SOPHIA", "BEISPIEL"), "2021-03-14"),
        ("day and month swapped", ("Mia", "Beispiel", "2021-04-03"), ("Sophia", "Beispiel"), "2021-03-04"),
        ("a double name of the mother", ("Mia", "Beispiel", "2021-03-14"), ("Sophia", "Beispiel-Nowak"), "2021-03-14"),
        ("a twin", ("Lea", "Beispiel", "2021-03-14"), ("Sophia", "Beispiel"), "2021-03-14"),
        ("a renamed child", ("Mia", "Schulz", "2021-03-14"), ("Sophia", "Beispiel"), "2021-03-14"),
    ];
    for (what, child, mother, applied) in variants {
        let chain = Chain::new().await;
        chain.register("jugendamt-bremen", child, mother, "01").await;
        let id = chain.submit(&chain.app.mother(), &[("/child/birth_date", json!(applied))]).await;
        chain.run(false).await;
        let request = chain.request(&id).await;
        assert_eq!(request.status, Status::InReview, "{what}");
        let reasons = serde_json::to_value(&request.register_result.unwrap().review_reasons).unwrap();
        assert_eq!(reasons[0]["reason"], "register_entries", "{what}");
        assert_eq!(reasons[0]["candidates"][0]["kind"], "01", "{what}: the candidate is attached");
    }
}

#[tokio::test]
async fn spelling_variants_in_the_application_still_find_the_entry() {
    let chain = Chain::new().await;
    chain.register("jugendamt-bremen", ("Zoë", "Müller-Lüdenscheidt", "2021-03-14"), ("Anna", "Strauß"), "02").await;
    let token = chain.app.citizen("anna", "Anna", "Strauss", "1990-01-01", "STORK-QAA-Level-4");
    let id = chain
        .submit(
            &token,
            &[
                ("/mother/given_names", json!("Anna")),
                ("/mother/family_name", json!("Strauss")),
                ("/mother/birth_date", json!("1990-01-01")),
                ("/child/given_names", json!("Zoe Marie")),
                ("/child/family_name", json!("Mueller Luedenscheidt")),
            ],
        )
        .await;
    chain.run(false).await;
    assert_eq!(chain.request(&id).await.status, Status::InReview);
}

#[tokio::test]
async fn another_child_born_the_same_day_does_not_block_automation() {
    let chain = Chain::new().await;
    chain.register("jugendamt-bremen", ("Ben", "Yilmaz", "2021-03-14"), ("Ayşe", "Yilmaz"), "01").await;
    let id = chain.submit(&chain.app.mother(), &[]).await;
    chain.run(false).await;
    assert_eq!(chain.request(&id).await.status, Status::Issued);
}

#[tokio::test]
async fn a_birth_place_off_the_platform_goes_to_review() {
    let chain = Chain::new().await;
    let id = chain.submit(&chain.app.mother(), &[("/child/birth_place", json!("München"))]).await;
    chain.run(false).await;
    let request = chain.request(&id).await;
    assert_eq!(request.status, Status::InReview);
    assert!(request.documents.auskunft_xml.is_none(), "no register answered");
}

#[tokio::test]
async fn a_child_born_abroad_is_checked_in_the_berlin_register() {
    let chain = Chain::new().await;
    chain.register("jugendamt-berlin", ("Mia", "Beispiel", "2021-03-14"), ("Sophia", "Beispiel"), "01").await;
    let id = chain
        .submit(&chain.app.mother(), &[("/child/born_abroad", json!(true)), ("/child/birth_place", json!("Wien"))])
        .await;
    chain.run(false).await;
    assert_eq!(chain.request(&id).await.status, Status::InReview);
}

/// A document store that is down.
struct Unavailable;

#[async_trait]
impl DocumentStore for Unavailable {
    async fn put(&self, _: &str, _: Vec<u8>, _: &str) -> Result<(), DocumentError> {
        Err(DocumentError::Backend("injected outage".into()))
    }
    async fn get(&self, _: &str) -> Result<Option<Vec<u8>>, DocumentError> {
        Err(DocumentError::Backend("injected outage".into()))
    }
    async fn delete(&self, _: &str) -> Result<(), DocumentError> {
        Err(DocumentError::Backend("injected outage".into()))
    }
    async fn download_link(&self, _: &str, _: &str, _: Duration) -> Result<String, DocumentError> {
        Err(DocumentError::Backend("injected outage".into()))
    }
    async fn upload_form(&self, _: &UploadTerms, _: Duration) -> Result<UploadForm, DocumentError> {
        Err(DocumentError::Backend("injected outage".into()))
    }
}

/// An outage that outlasts every delivery: the message ends in the dead-letter queue, the
/// request keeps waiting for its step (never `failed` for an outage), and once the documents
/// are back the sweep hands it on and it is issued.
#[tokio::test]
async fn an_outage_outlasting_the_deliveries_leaves_the_request_to_the_sweep() {
    let mut chain = Chain::new().await;
    let id = chain.submit(&chain.app.mother(), &[]).await;
    let working = handlers(&chain.app.services);
    let mut broken = chain.app.services.clone();
    broken.documents = Arc::new(Unavailable);
    chain.handlers = handlers(&broken);
    for _ in 1..=MAX_RECEIVES {
        chain.run(false).await;
        chain.app.clock.advance(Duration::seconds(31));
    }
    chain.run(false).await;
    let dead = chain.app.services.queue.dead_letters(QueueName::Submitted).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].body.contains(&id));
    let request = chain.request(&id).await;
    assert_eq!((request.status, request.failure), (Status::Submitted, None));
    assert!(records::hand_on(&*chain.app.services.store, &id).await.unwrap().is_some(), "it waits for its step");

    chain.handlers = working;
    let settings = SweepSettings { deadline: Duration::minutes(20), give_up_after: Duration::days(1) };
    chain.app.clock.advance(Duration::minutes(20));
    assert_eq!(sweep(&chain.app.services, &settings).await.unwrap().handed_on, 1);
    chain.run(false).await;
    assert_eq!(chain.request(&id).await.status, Status::Issued);
}

/// A step that cannot do its work for this request (its office is unknown) marks it failed on
/// the last delivery, with the reason for operators; the message ends in the dead-letter queue.
#[tokio::test]
async fn a_step_that_cannot_do_its_work_marks_the_request_failed_on_the_last_delivery() {
    let chain = Chain::new().await;
    let id = chain.submit(&chain.app.mother(), &[]).await;
    let store = &*chain.app.services.store;
    let records::Versioned { value: mut request, version } = records::request(store, &id).await.unwrap().unwrap();
    request.office_id = "jugendamt-nirgendwo".into();
    let audit = chain.app.services.audit("test", "moved", chain.app.clock.now()).await.unwrap();
    records::update_request(store, &request, version, audit).await.unwrap();
    for attempt in 1..=MAX_RECEIVES {
        chain.run(false).await;
        let expected = if attempt < MAX_RECEIVES { Status::Submitted } else { Status::Failed };
        assert_eq!(chain.request(&id).await.status, expected, "after attempt {attempt}");
        chain.app.clock.advance(Duration::seconds(31));
    }
    chain.run(false).await;
    let request = chain.request(&id).await;
    assert_eq!(request.failure.as_deref(), Some("xfamilie: issuing office jugendamt-nirgendwo is unknown"));
    assert!(records::hand_on(store, &id).await.unwrap().is_none(), "a failed request waits for no step");
    assert_eq!(chain.app.services.queue.dead_letters(QueueName::Submitted).await.unwrap().len(), 1);
}
