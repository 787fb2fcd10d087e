use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use serde_json::{Value, json};
use shared::ports::{Item, ItemPage, Key, PageSpec, Purged, QueueName, StateStore, StoreError, Write};
use shared::testing::TestApp;

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

fn with(mut body: Value, pointer: &str, value: Value) -> Value {
    *body.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer} exists")) = value;
    body
}

async fn queued(app: &TestApp) -> Vec<Value> {
    let messages = app.services.queue.receive(QueueName::Submitted, 10, StdDuration::ZERO).await.unwrap();
    messages.iter().map(|m| serde_json::from_str(&m.body).unwrap()).collect()
}

#[tokio::test]
async fn a_valid_application_is_accepted_stored_and_queued() {
    let app = TestApp::new(submit::router()).await;
    let (status, body) = app.call("POST", "/api/v1/requests", Some(&app.mother()), Some(application())).await;
    assert_eq!(status, 202);
    assert_eq!(body["status"], "submitted");
    let id = body["id"].as_str().unwrap();
    assert_eq!(queued(&app).await, [json!({"request_id": id})]);
    let stored = shared::records::request(&*app.services.store, id).await.unwrap().unwrap().value;
    assert_eq!(stored.office_id, "jugendamt-bremen", "the residence office issues");
    assert_eq!(
        stored.register_office_id.as_deref(),
        Some("jugendamt-bremen"),
        "the birth-place office keeps the register"
    );
    assert_eq!(stored.login.subject, "sophia");
}

#[tokio::test]
async fn a_child_born_abroad_is_registered_in_berlin() {
    let app = TestApp::new(submit::router()).await;
    let body = with(with(application(), "/child/born_abroad", json!(true)), "/child/birth_place", json!("Wien"));
    let (_, body) = app.call("POST", "/api/v1/requests", Some(&app.mother()), Some(body)).await;
    let stored =
        shared::records::request(&*app.services.store, body["id"].as_str().unwrap()).await.unwrap().unwrap().value;
    assert_eq!(stored.register_office_id.as_deref(), Some("jugendamt-berlin"));
}

#[tokio::test]
async fn the_same_idempotency_key_gives_the_same_request() {
    let app = TestApp::new(submit::router()).await;
    let mother = app.mother();
    let key = [("Idempotency-Key", "k-123")];
    let (first_status, first) =
        app.call_with_headers("POST", "/api/v1/requests", Some(&mother), Some(application()), &key).await;
    let (second_status, second) =
        app.call_with_headers("POST", "/api/v1/requests", Some(&mother), Some(application()), &key).await;
    assert_eq!((first_status.as_u16(), second_status.as_u16()), (202, 202));
    assert_eq!(first["id"], second["id"]);
    let ids: Vec<Value> = queued(&app).await.into_iter().map(|m| m["request_id"].clone()).collect();
    assert!(ids.iter().all(|id| *id == first["id"]), "only one request was created");
}

#[tokio::test]
async fn an_idempotency_key_reused_for_another_application_is_refused() {
    let app = TestApp::new(submit::router()).await;
    let mother = app.mother();
    let key = [("Idempotency-Key", "k-123")];
    app.call_with_headers("POST", "/api/v1/requests", Some(&mother), Some(application()), &key).await;
    let other_child = with(application(), "/child/given_names", json!("Lea"));
    let (status, body) =
        app.call_with_headers("POST", "/api/v1/requests", Some(&mother), Some(other_child), &key).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "idempotency_key_reused");
}

#[tokio::test]
async fn idempotency_keys_of_different_mothers_do_not_collide() {
    let app = TestApp::new(submit::router()).await;
    let key = [("Idempotency-Key", "same")];
    let (_, first) =
        app.call_with_headers("POST", "/api/v1/requests", Some(&app.mother()), Some(application()), &key).await;
    let (status, second) =
        app.call_with_headers("POST", "/api/v1/requests", Some(&app.other_mother()), Some(application()), &key).await;
    assert_eq!(status, 202);
    assert_ne!(first["id"], second["id"]);
}

#[tokio::test]
async fn each_invalid_field_is_422_naming_it() {
    let app = TestApp::new(submit::router()).await;
    let cases = [
        ("/applicant/role", json!("father"), "applicant.role"),
        ("/mother/given_names", json!(""), "mother.given_names"),
        ("/mother/family_name", json!(42), "mother.family_name"),
        ("/mother/birth_date", json!("02.05.1994"), "mother.birth_date"),
        ("/mother/birth_place", json!("Bremen\u{0}"), "mother.birth_place"),
        ("/mother/address/street", json!("   "), "mother.address.street"),
        ("/mother/address/house_number", json!(null), "mother.address.house_number"),
        ("/mother/address/postcode", json!("2819"), "mother.address.postcode"),
        ("/mother/address/city", json!("Bremen 😀"), "mother.address.city"),
        ("/child/given_names", json!("Mia2"), "child.given_names"),
        ("/child/family_name", json!("Beispiel<script>"), "child.family_name"),
        ("/child/birth_date", json!("2099-01-01"), "child.birth_date"),
        ("/child/birth_place", json!(""), "child.birth_place"),
        ("/child/born_abroad", json!("no"), "child.born_abroad"),
        ("/delivery", json!("fax"), "delivery"),
    ];
    for (pointer, value, field) in cases {
        let (status, body) =
            app.call("POST", "/api/v1/requests", Some(&app.mother()), Some(with(application(), pointer, value))).await;
        assert_eq!(status, 422, "{field}");
        let fields = body["error"]["fields"].as_object().unwrap();
        assert_eq!(fields.keys().collect::<Vec<_>>(), [field], "only {field} is named");
        assert!(!fields[field].as_str().unwrap().is_empty());
    }
    assert!(queued(&app).await.is_empty(), "nothing invalid reaches the pipeline");
}

#[tokio::test]
async fn names_outside_din_91379_are_refused() {
    let app = TestApp::new(submit::router()).await;
    for name in ["Анна", "#panic()", "Mia\u{202E}", "李"] {
        let (status, body) = app
            .call(
                "POST",
                "/api/v1/requests",
                Some(&app.mother()),
                Some(with(application(), "/child/given_names", json!(name))),
            )
            .await;
        assert_eq!(status, 422, "{name}");
        assert!(body["error"]["fields"]["child.given_names"].as_str().unwrap().contains("Zeichen"));
    }
    let (status, _) = app
        .call(
            "POST",
            "/api/v1/requests",
            Some(&app.mother()),
            Some(with(application(), "/child/given_names", json!("Zoë-Łucja"))),
        )
        .await;
    assert_eq!(status, 202, "European letters are fine");
}

#[tokio::test]
async fn a_request_covers_one_child() {
    let app = TestApp::new(submit::router()).await;
    let mut body = application();
    body["children"] = json!([body["child"].clone(), body["child"].clone()]);
    let (status, body) = app.call("POST", "/api/v1/requests", Some(&app.mother()), Some(body)).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["child"].as_str().unwrap().contains("genau ein Kind"));
}

#[tokio::test]
async fn a_residence_outside_the_connected_offices_is_refused_with_the_reason() {
    let app = TestApp::new(submit::router()).await;
    let hamburg = with(application(), "/mother/address/postcode", json!("20095"));
    let (status, body) = app.call("POST", "/api/v1/requests", Some(&app.mother()), Some(hamburg)).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["mother.address.postcode"].as_str().unwrap().contains("noch nicht"));
    let nowhere = with(application(), "/mother/address/postcode", json!("80331"));
    let (status, _) = app.call("POST", "/api/v1/requests", Some(&app.mother()), Some(nowhere)).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn submitting_removes_the_draft_it_came_from() {
    let app = TestApp::new(submit::router().merge(drafts::router())).await;
    let mother = app.mother();
    app.call("PUT", "/api/v1/drafts/d-7", Some(&mother), Some(json!({"child": {}}))).await;
    let mut body = application();
    body["draft_id"] = json!("d-7");
    assert_eq!(app.call("POST", "/api/v1/requests", Some(&mother), Some(body)).await.0, 202);
    assert_eq!(app.call("GET", "/api/v1/drafts/d-7", Some(&mother), None).await.0, 404);
}

#[tokio::test]
async fn submission_needs_a_citizen_login() {
    let app = TestApp::new(submit::router()).await;
    assert_eq!(app.call("POST", "/api/v1/requests", None, Some(application())).await.0, 401);
    assert_eq!(
        app.call("POST", "/api/v1/requests", Some(&app.staff("jugendamt-bremen")), Some(application())).await.0,
        403
    );
}

#[tokio::test]
async fn a_birth_place_whose_name_repeats_is_asked_by_key_with_the_choices() {
    let app = TestApp::new(submit::router()).await;
    let neustadt = with(application(), "/child/birth_place", json!("Neustadt"));
    let (status, body) = app.call("POST", "/api/v1/requests", Some(&app.mother()), Some(neustadt.clone())).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["fields"]["child.birth_municipality"].as_str().unwrap().contains("mehrmals"));
    let choices = body["error"]["details"]["choices"]["child.birth_municipality"].as_array().unwrap();
    assert!(choices.len() >= 17);
    let holstein = choices.iter().find(|c| c["ags"] == "01055032").expect("Neustadt in Holstein is a choice");
    assert_eq!(holstein["label"], "Neustadt in Holstein, Stadt — Ostholstein, Schleswig-Holstein");
    assert!(queued(&app).await.is_empty(), "nothing stored, nothing queued");

    // With the key it is stored, the place as she wrote it beside the key.
    let mut keyed = neustadt;
    keyed["child"]["birth_municipality"] = json!("01055032");
    let (status, body) = app.call("POST", "/api/v1/requests", Some(&app.mother()), Some(keyed)).await;
    assert_eq!(status, 202, "{body}");
    let stored =
        shared::records::request(&*app.services.store, body["id"].as_str().unwrap()).await.unwrap().unwrap().value;
    assert_eq!(stored.application.child.birth_place.as_str(), "Neustadt");
    assert_eq!(stored.application.child.birth_municipality.as_ref().map(|a| a.as_str()), Some("01055032"));
    assert_eq!(stored.register_office_id, None, "that office is not on the platform: review, never a guess");
}

#[tokio::test]
async fn unknown_keys_and_postcodes_are_field_errors() {
    let app = TestApp::new(submit::router()).await;
    let mut body = application();
    body["child"]["birth_municipality"] = json!("04011999");
    body["mother"]["address"]["postcode"] = json!("99999");
    let (status, answer) = app.call("POST", "/api/v1/requests", Some(&app.mother()), Some(body)).await;
    assert_eq!(status, 422, "{answer}");
    let fields = answer["error"]["fields"].as_object().unwrap();
    assert!(fields["child.birth_municipality"].as_str().unwrap().contains("Gemeindeschlüssel"));
    assert!(fields["mother.address.postcode"].as_str().unwrap().contains("kennen wir nicht"));
    let mut body = application();
    body["child"]["birth_municipality"] = json!("Bremen");
    let (status, answer) = app.call("POST", "/api/v1/requests", Some(&app.mother()), Some(body)).await;
    assert_eq!(status, 422);
    assert!(answer["error"]["fields"]["child.birth_municipality"].is_string());
}

#[tokio::test]
async fn a_postcode_across_two_offices_asks_for_her_municipality() {
    use shared::testing::office;
    let app = TestApp::new(submit::router()).await;
    // 06333: Falkenstein/Harz (Landkreis Harz) and Hettstedt (Mansfeld-Südharz).
    app.put_office(&office("jugendamt-harz", "38820", "Harz", &["15085110"])).await;
    app.put_office(&office("jugendamt-msh", "06526", "Mansfeld-Südharz", &["15087220"])).await;
    let body = with(application(), "/mother/address/postcode", json!("06333"));
    let (status, answer) = app.call("POST", "/api/v1/requests", Some(&app.mother()), Some(body.clone())).await;
    assert_eq!(status, 422, "{answer}");
    let choices = answer["error"]["details"]["choices"]["mother.address.municipality"].as_array().unwrap();
    assert_eq!(choices.iter().map(|c| c["ags"].as_str().unwrap()).collect::<Vec<_>>(), ["15085110", "15087220"]);
    let mut chosen = with(body, "/mother/address/city", json!("Hettstedt"));
    chosen["mother"]["address"]["municipality"] = json!("15087220");
    let (status, answer) = app.call("POST", "/api/v1/requests", Some(&app.mother()), Some(chosen)).await;
    assert_eq!(status, 202, "{answer}");
    let stored =
        shared::records::request(&*app.services.store, answer["id"].as_str().unwrap()).await.unwrap().unwrap().value;
    assert_eq!(stored.office_id, "jugendamt-msh");
}

/// A state store whose first transaction commits but whose answer is lost, as when the
/// connection drops after DynamoDB committed.
struct AnswerLostAfterCommit {
    inner: Arc<dyn StateStore>,
    lost: AtomicBool,
}

#[async_trait::async_trait]
impl StateStore for AnswerLostAfterCommit {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }
    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.inner.write(writes).await?;
        match self.lost.swap(true, Ordering::SeqCst) {
            false => Err(StoreError::Backend("connection reset after the commit".into())),
            true => Ok(()),
        }
    }
    async fn query(&self, partition: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.inner.query(partition, prefix).await
    }
    async fn query_index(&self, partition: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.inner.query_index(partition, prefix).await
    }
    async fn query_page(&self, partition: &str, prefix: &str, page: &PageSpec) -> Result<ItemPage, StoreError> {
        self.inner.query_page(partition, prefix, page).await
    }
    async fn query_index_page(&self, partition: &str, prefix: &str, page: &PageSpec) -> Result<ItemPage, StoreError> {
        self.inner.query_index_page(partition, prefix, page).await
    }
    async fn purge_expired(&self, after: Option<Key>, limit: usize) -> Result<Purged, StoreError> {
        self.inner.purge_expired(after, limit).await
    }
}

#[tokio::test]
async fn an_answer_lost_after_the_commit_keeps_the_request_and_her_proof() {
    use shared::domain::upload::{DocumentKind, FileType, Upload};
    let app = TestApp::new(submit::router()).await;
    let proof = Upload {
        kind: DocumentKind::BirthCertificate,
        key: "drafts/sophia/geburtsurkunde.pdf".into(),
        file_type: FileType::Pdf,
        file_name: "urkunde.pdf".into(),
        size: 9,
    };
    app.services.documents.put(&proof.key, b"%PDF-1.7\n".to_vec(), "application/pdf").await.unwrap();
    let mut services = app.services.clone();
    let lost = AtomicBool::new(false);
    services.store = Arc::new(AnswerLostAfterCommit { inner: app.services.store.clone(), lost });
    let shared::auth::Principal::Citizen(mother) = services.verifier.verify(&app.mother()).await.unwrap() else {
        panic!("a citizen")
    };
    let lang = shared::texts::Lang::De;
    let accepted = submit::submit_application(&services, &mother, lang, &application(), None, &[proof]).await;
    let accepted = accepted.unwrap_or_else(|_| panic!("accepted: the request is stored"));
    let stored = shared::records::request(&*app.services.store, &accepted.id).await.unwrap().unwrap().value;
    let copy = &stored.documents.uploads[0].key;
    assert!(app.services.documents.get(copy).await.unwrap().is_some(), "her proof is kept with the request");
    assert_eq!(queued(&app).await, [json!({"request_id": accepted.id})], "and handed on");
}
