//! Submitting the form's draft from the check-answers page: the same `submit_application` as
//! the API, once per click, with the uploads moved to the request.

use std::time::Duration as StdDuration;

use serde_json::json;
use shared::ports::QueueName;
use shared::records;
use shared::testing::{FORM, PageResponse, TestApp, session, upload_forms};
use shared::texts::Lang;

async fn app() -> TestApp {
    TestApp::new(submit::router().merge(drafts::router())).await
}

async fn fill_in(app: &TestApp, cookie: &str) {
    for (step, form) in FORM {
        let saved = app.page_post(&format!("/antrag/{step}"), cookie, form).await;
        assert_eq!(saved.status, 303, "{step}: {}", saved.html);
    }
}

/// The idempotency key the check-answers page gives its submit button.
fn key(check: &PageResponse) -> String {
    let html = check.text();
    let start = html.find("name=\"idempotency_key\" value=\"").expect("a key") + 30;
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

async fn queued(app: &TestApp) -> usize {
    app.services.queue.receive(QueueName::Submitted, 10, StdDuration::ZERO).await.unwrap().len()
}

#[tokio::test]
async fn the_draft_is_submitted_once_and_she_sees_her_reference() {
    let app = app().await;
    let cookie = session(&app.mother());
    fill_in(&app, &cookie).await;
    let check = app.page_get("/antrag/pruefen", &cookie).await;
    let key = key(&check);

    let sent = app.page_post("/antrag/absenden", &cookie, &[("idempotency_key", &key)]).await;
    let location = sent.location().expect("a redirect").to_owned();
    let id = location.strip_prefix("/antrag/eingereicht/").expect("to the confirmation").to_owned();
    let request = records::request(&*app.services.store, &id).await.unwrap().unwrap().value;
    assert_eq!(request.office_id, "jugendamt-bremen");
    assert_eq!(request.application.child.given_names.as_str(), "Mia");
    let contact = &request.application.contact;
    assert_eq!(contact.mail_to().map(|a| a.as_str()), Some("sophia.beispiel@example.org"), "from the form");
    assert_eq!(contact.language, Lang::De, "her mails in the language she applied in");
    assert_eq!(
        app.services.queue.receive(QueueName::Notify, 10, StdDuration::ZERO).await.unwrap().len(),
        1,
        "she is told that it was received"
    );
    assert_eq!(
        app.call("GET", "/api/v1/drafts/antrag", Some(&app.mother()), None).await.0,
        404,
        "the draft is used up"
    );

    let again = app.page_post("/antrag/absenden", &cookie, &[("idempotency_key", &key)]).await;
    assert_eq!(again.location(), Some(location.as_str()), "a second click finds the same request");
    assert_eq!(queued(&app).await, 1, "one request reached the pipeline");

    for (lang, heading) in
        [("de", "Antrag abgeschickt"), ("ls", "Ihr Antrag ist abgeschickt."), ("en", "Application sent")]
    {
        let confirmation = app.page_get(&location, &format!("{cookie}; lang={lang}")).await;
        assert_eq!(confirmation.status, 200);
        assert!(confirmation.text().contains(heading) && confirmation.text().contains(&id), "{lang}");
        assert!(confirmation.text().contains(&format!("href=\"/antraege/{id}\"")));
        assert!(confirmation.text().contains("<a href=\"/antraege\">"), "{lang}: where to find it later");
        let told = shared::web::templates::fill(
            Lang::parse(lang).unwrap(),
            "eingereicht.mail_text",
            &[("email", "sophia.beispiel@example.org")],
        );
        assert!(confirmation.text().contains(&told), "{lang}: that she gets a mail, and where");
    }
    let stranger = app.page_get(&location, &session(&app.other_mother())).await;
    assert_eq!(stranger.status, 404, "someone else's request does not exist for her");
}

#[tokio::test]
async fn uploads_move_to_the_request_and_are_required_where_the_office_asks() {
    let app = app().await;
    let mut bremen = shared::testing::offices().into_iter().find(|o| o.id == "jugendamt-bremen").unwrap();
    bremen.required_documents = vec![shared::domain::upload::DocumentKind::BirthCertificate];
    app.put_office(&bremen).await;
    let cookie = session(&app.mother());
    fill_in(&app, &cookie).await;

    let missing = app.page_post("/antrag/absenden", &cookie, &[]).await;
    assert_eq!(missing.status, 422, "no submission without the required document");
    assert!(missing.text().contains("<title>Fehler: Prüfen Sie Ihre Angaben"));
    assert!(missing.text().contains("href=\"/antrag/nachweise#uploads-geburtsurkunde\""));

    let page = app.page_get("/antrag/nachweise", &cookie).await;
    let form = upload_forms(&page.html).into_iter().next().expect("an upload form");
    let back = app.post_upload(&form, b"%PDF-1.7 a birth certificate").await.expect("stored");
    let uploaded = app.page_get(&back, &cookie).await;
    assert_eq!(uploaded.location(), Some("/antrag/pruefen"));
    let draft = app.call("GET", "/api/v1/drafts/antrag", Some(&app.mother()), None).await.1;
    let draft_key = draft["uploads"][0]["key"].as_str().unwrap().to_owned();
    assert!(draft_key.starts_with("drafts/"), "a key of the server's choosing: {draft_key}");

    let sent = app.page_post("/antrag/absenden", &cookie, &[("idempotency_key", "k1")]).await;
    let id = sent.location().unwrap().rsplit('/').next().unwrap().to_owned();
    let request = records::request(&*app.services.store, &id).await.unwrap().unwrap().value;
    let upload = &request.documents.uploads[0];
    assert_eq!(upload.key, format!("jugendamt-bremen/requests/{id}/nachweis-geburtsurkunde.pdf"));
    assert!(app.services.documents.get(&upload.key).await.unwrap().unwrap().starts_with(b"%PDF-"));
    assert!(app.services.documents.get(&draft_key).await.unwrap().is_none(), "the draft's copy is gone");
}

#[tokio::test]
async fn problems_found_on_submission_send_her_to_the_field() {
    let app = app().await;
    let cookie = session(&app.mother());
    fill_in(&app, &cookie).await;
    // The draft changed behind the form's back (another tab, the API): the domain still judges.
    let mut data = app.call("GET", "/api/v1/drafts/antrag", Some(&app.mother()), None).await.1["data"].clone();
    data["child"]["birth_date"] = json!("2099-01-01");
    app.call("PUT", "/api/v1/drafts/antrag", Some(&app.mother()), Some(data)).await;

    let refused = app.page_post("/antrag/absenden", &cookie, &[("idempotency_key", "k2")]).await;
    assert_eq!(refused.status, 422);
    assert!(refused.text().contains("href=\"/antrag/kind?zurueck=pruefen#child-birth_date\""));
    assert!(refused.text().contains("Das Datum darf nicht in der Zukunft liegen."));
    assert_eq!(queued(&app).await, 0);
}

#[tokio::test]
async fn the_submit_button_needs_her_session_and_her_site() {
    let app = app().await;
    let anonymous = app.page_post("/antrag/absenden", "", &[]).await;
    assert_eq!(anonymous.location(), Some("/anmelden?next=%2Fantrag"));
    let cookie = session(&app.mother());
    let cross = app
        .page_send(
            "POST",
            "/antrag/absenden",
            &[("cookie", &cookie), ("sec-fetch-site", "cross-site")],
            Some(("application/x-www-form-urlencoded", Vec::new())),
        )
        .await;
    assert_eq!(cross.status, 403);
}

/// What an attacker could name in a draft, hoping submit copies it into her request (and deletes
/// the original): another mother's certificate and draft upload, and paths out of the store.
#[tokio::test]
async fn storage_keys_smuggled_into_a_draft_copy_nothing_and_delete_nothing() {
    let app = app().await;
    let certificate = "jugendamt-bremen/requests/4a3b/bescheinigung.pdf";
    let their_upload = "drafts/5c6d/geburtsurkunde.pdf";
    for key in [certificate, their_upload] {
        app.services.documents.put(key, b"%PDF-1.7 hers".to_vec(), "application/pdf").await.unwrap();
    }
    let cookie = session(&app.mother());
    fill_in(&app, &cookie).await;
    let mut data = app.call("GET", "/api/v1/drafts/antrag", Some(&app.mother()), None).await.1["data"].clone();
    let smuggled: Vec<serde_json::Value> = [
        certificate,
        their_upload,
        "../state.sqlite3",
        "/etc/passwd",
        "..%2F..%2Fstate.sqlite3",
        "drafts/%2e%2e/jugendamt-bremen/requests/4a3b/bescheinigung.pdf",
        "drafts/../jugendamt-bremen/requests/4a3b/bescheinigung.pdf",
    ]
    .iter()
    .map(|key| json!({"kind": "geburtsurkunde", "key": key, "file_type": "pdf", "file_name": "x.pdf", "size": 13}))
    .collect();
    data["uploads"] = json!(smuggled);
    let (status, saved) = app.call("PUT", "/api/v1/drafts/antrag", Some(&app.mother()), Some(data)).await;
    assert_eq!(status, 200);
    assert_eq!(saved["uploads"], json!([]), "the server records uploads, not the client");
    assert!(saved["data"].get("uploads").is_none());

    let sent = app.page_post("/antrag/absenden", &cookie, &[("idempotency_key", "k9")]).await;
    assert_eq!(sent.status, 303, "{}", sent.html);
    let id = sent.location().unwrap().rsplit('/').next().unwrap().to_owned();
    let request = records::request(&*app.services.store, &id).await.unwrap().unwrap().value;
    assert!(request.documents.uploads.is_empty(), "nothing copied");
    for key in [certificate, their_upload] {
        assert!(app.services.documents.get(key).await.unwrap().is_some(), "{key} is still its owner's");
    }
}
