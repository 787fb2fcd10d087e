//! The status page for the owner of a request and its download button.

use serde_json::json;
use shared::domain::request::{Certificate, Status};
use shared::ports::Clock;
use shared::records;
use shared::testing::{TestApp, session, upload_forms};

async fn submitted(app: &TestApp) -> String {
    let body = json!({
        "applicant": {"role": "mother"},
        "mother": {"given_names": "Sophia", "family_name": "Beispiel", "birth_date": "1994-05-02", "birth_place": "Bremen",
                   "address": {"street": "Am Markt", "house_number": "1", "postcode": "28195", "city": "Bremen"}},
        "child": {"given_names": "Mia", "family_name": "Beispiel", "birth_date": "2021-03-14", "birth_place": "Bremen", "born_abroad": false},
        "delivery": "download"
    });
    let (_, created) = app.call("POST", "/api/v1/requests", Some(&app.mother()), Some(body)).await;
    created["id"].as_str().unwrap().to_owned()
}

/// Issues the request as the certificate step would.
async fn issue(app: &TestApp, id: &str) {
    let store = &*app.services.store;
    let stored = records::request(store, id).await.unwrap().unwrap();
    let mut request = stored.value;
    let now = app.clock.now();
    request.advance(Status::Prepared, now).unwrap();
    request.advance(Status::Issued, now).unwrap();
    let document = format!("jugendamt-bremen/requests/{id}/bescheinigung.pdf");
    app.services.documents.put(&document, b"%PDF-1.7".to_vec(), "application/pdf").await.unwrap();
    request.certificate =
        Some(Certificate { code: "K7QM2XWA9TZP4HBN3XYZ".into(), issued_at: now, document, revoked: None });
    let audit = app.services.audit("system", "issued", now).await.unwrap();
    records::issue_certificate(store, &request, stored.version, audit).await.unwrap();
}

#[tokio::test]
async fn the_owner_sees_where_her_request_stands_in_plain_words() {
    let app = TestApp::new(status::router().merge(submit::router())).await;
    let id = submitted(&app).await;
    let cookie = session(&app.mother());
    for (lang, text) in [("de", "Antrag eingegangen"), ("ls", "Ihr Antrag ist da."), ("en", "Request received")] {
        let page = app.page_get(&format!("/antraege/{id}"), &format!("{cookie}; lang={lang}")).await;
        assert_eq!(page.status, 200, "{lang}");
        let expected = shared::texts::text(shared::texts::Lang::parse(lang).unwrap(), "status.submitted");
        assert!(page.text().contains(expected), "{lang}: {text}");
        assert!(page.text().contains("Jugendamt Bremen"), "whom to ask");
        assert!(!page.text().contains("/bescheinigung\""), "no download before the certificate");
    }
    let page = app.page_get(&format!("/antraege/{id}"), &cookie).await;
    assert!(page.text().contains(" Uhr</span>"), "the timeline says when");

    assert_eq!(app.page_get(&format!("/antraege/{id}"), &session(&app.other_mother())).await.status, 404);
    assert_eq!(
        app.page_get(&format!("/antraege/{id}"), "").await.location(),
        Some(&*format!("/anmelden?next=%2Fantraege%2F{id}"))
    );
}

#[tokio::test]
async fn once_issued_the_certificate_is_downloaded_by_a_short_lived_link() {
    let app = TestApp::new(status::router().merge(submit::router())).await;
    let id = submitted(&app).await;
    issue(&app, &id).await;
    let cookie = session(&app.mother());
    let page = app.page_get(&format!("/antraege/{id}"), &cookie).await;
    assert!(page.text().contains(&format!("href=\"/antraege/{id}/bescheinigung\"")));
    assert!(page.text().contains("K7QM 2XWA 9TZP 4HBN 3XYZ"), "the code in groups, as printed");

    let download = app.page_get(&format!("/antraege/{id}/bescheinigung"), &cookie).await;
    assert_eq!(download.status, 302);
    assert!(download.location().unwrap().contains("expires="));
    assert_eq!(download.headers["cache-control"], "no-store");
    let stranger = app.page_get(&format!("/antraege/{id}/bescheinigung"), &session(&app.other_mother())).await;
    assert_eq!(stranger.status, 404);

    let api = app
        .call_with_headers("GET", &format!("/api/v1/requests/{id}/certificate"), Some(&app.mother()), None, &[])
        .await;
    assert_eq!(api.0, 302, "the API takes the same path");
}

/// The office writes to her and asks for the child's birth certificate, as its inbox does.
async fn office_asks_for_birth_certificate(app: &TestApp, id: &str) {
    use shared::domain::message::{Author, Message};
    use shared::domain::upload::DocumentKind;
    use shared::domain::values::LongText;
    let store = &*app.services.store;
    let stored = records::request(store, id).await.unwrap().unwrap();
    let mut request = stored.value;
    request.ask_for(DocumentKind::BirthCertificate).unwrap();
    let now = app.clock.now();
    let audit = app.services.audit("staff", "ask:geburtsurkunde", now).await.unwrap();
    records::update_request(store, &request, stored.version, audit).await.unwrap();
    let text = LongText::parse("Bitte senden Sie uns die Geburtsurkunde.\n<i>Danke</i>").unwrap();
    let message = Message {
        id: "m1".into(),
        at: now,
        author: Author::Office { staff_id: "staff".into() },
        text,
        asks_for: Some(DocumentKind::BirthCertificate),
    };
    records::add_message(store, id, &message).await.unwrap();
}

#[tokio::test]
async fn she_reads_and_answers_the_offices_messages_on_her_status_page() {
    let app = TestApp::new(status::router().merge(submit::router())).await;
    let id = submitted(&app).await;
    let cookie = session(&app.mother());
    let path = format!("/antraege/{id}");
    let page = app.page_get(&path, &cookie).await;
    assert!(page.text().contains("Noch keine Nachrichten."));
    assert!(!page.text().contains("type=\"file\""), "nothing asked for, nothing to upload");

    office_asks_for_birth_certificate(&app, &id).await;
    let page = app.page_get(&path, &cookie).await;
    assert!(page.text().contains("Bitte senden Sie uns die Geburtsurkunde.\n&lt;i&gt;Danke&lt;/i&gt;"), "as text");
    assert!(page.text().contains("href=\"#nachweise\""), "told at the top");
    let forms = upload_forms(&page.html);
    assert_eq!(forms.len(), 1, "one form for the document asked for");
    assert!(page.text().contains("name=\"file\""));

    let empty = app.page_post(&format!("{path}/nachricht"), &cookie, &[("text", "  ")]).await;
    assert_eq!(empty.status, 422);
    assert!(empty.text().contains("<title>Fehler: "));
    assert!(empty.text().contains("href=\"#text\">Bitte schreiben Sie eine Nachricht."));
    let too_long = "a".repeat(2001);
    let long = app.page_post(&format!("{path}/nachricht"), &cookie, &[("text", &too_long)]).await;
    assert!(long.text().contains("höchstens 2000 Zeichen"));
    assert!(long.text().contains(&too_long), "what she wrote stays in the box");

    app.clock.advance(time::Duration::minutes(1));
    let sent = app.page_post(&format!("{path}/nachricht"), &cookie, &[("text", "{{7*7}} Kommt morgen.")]).await;
    assert_eq!(sent.status, 303);
    let page = app.page_get(sent.location().unwrap(), &cookie).await;
    assert!(page.text().contains("Ihre Nachricht ist beim Jugendamt angekommen."));
    assert!(page.text().contains("{{7*7}} Kommt morgen."), "literally");
    let messages = records::messages(&*app.services.store, &id).await.unwrap();
    assert_eq!(messages.len(), 2, "stored like the API's");
}

#[tokio::test]
async fn only_the_owner_writes_and_uploads() {
    let app = TestApp::new(status::router().merge(submit::router())).await;
    let id = submitted(&app).await;
    office_asks_for_birth_certificate(&app, &id).await;
    let stranger = session(&app.other_mother());
    let path = format!("/antraege/{id}");
    assert_eq!(app.page_post(&format!("{path}/nachricht"), &stranger, &[("text", "Hallo")]).await.status, 404);
    let signed_out = app.page_post(&format!("{path}/nachricht"), "", &[("text", "Hallo")]).await;
    assert_eq!(signed_out.status, 303);
    let back = format!("{path}/nachweise?art=geburtsurkunde");
    assert_eq!(app.page_get(&back, &stranger).await.status, 404, "not her request");

    let owner = session(&app.mother());
    let nothing = app.page_get(&back, &owner).await;
    assert_eq!(nothing.status, 422, "nothing uploaded");
    assert!(nothing.text().contains("Bitte laden Sie die Datei hoch: Geburtsurkunde des Kindes."));
    let request = records::request(&*app.services.store, &id).await.unwrap().unwrap().value;
    assert!(request.documents.uploads.is_empty());
    assert_eq!(records::messages(&*app.services.store, &id).await.unwrap().len(), 1);

    // Her upload, straight to the store and back: kept with her request where the office reads it.
    let page = app.page_get(&path, &owner).await;
    let form = upload_forms(&page.html).into_iter().next().expect("an upload form");
    let next = app.post_upload(&form, b"%PDF-1.7 the birth certificate").await.expect("stored");
    assert!(next.starts_with(&format!("{back}&bucket=")), "back to the page that takes it: {next}");
    let taken = app.page_get(&next, &owner).await;
    assert_eq!(taken.location(), Some(format!("{path}?erledigt=nachweis#nachrichten").as_str()));
    let request = records::request(&*app.services.store, &id).await.unwrap().unwrap().value;
    let upload = &request.documents.uploads[0];
    assert!(
        upload.key.starts_with(&format!("jugendamt-bremen/requests/{id}/nachweis-geburtsurkunde-")),
        "{}",
        upload.key
    );
    assert_eq!(app.services.documents.get(&upload.key).await.unwrap().unwrap(), b"%PDF-1.7 the birth certificate");
}

#[tokio::test]
async fn her_list_links_each_of_her_requests_and_the_header_links_her_list() {
    let app = TestApp::new(status::router().merge(submit::router())).await;
    let cookie = session(&app.mother());
    let empty = app.page_get("/antraege", &cookie).await;
    assert_eq!(empty.status, 200);
    assert!(empty.text().contains("Sie haben noch keinen Antrag gestellt."));
    assert!(empty.text().contains("href=\"/antraege\">Meine Anträge</a>"), "the header links her list");
    let id = submitted(&app).await;
    let page = app.page_get("/antraege", &cookie).await;
    assert!(page.text().contains(&format!("href=\"/antraege/{id}\"")), "{}", page.text());
    assert!(page.text().contains("Antrag für Mia ansehen</a>"), "named by her child");
    assert!(page.text().contains("<dd class=\"summary__value\">Antrag eingegangen</dd>"));
    let stranger = app.page_get("/antraege", &session(&app.other_mother())).await;
    assert!(!stranger.text().contains(&id), "another mother's list has none of hers");
    assert_eq!(app.page_get("/antraege?cursor=%25", &cookie).await.status, 400);
    assert_eq!(app.page_get("/antraege", "").await.status, 303, "signed out: to the sign-in");
}

#[tokio::test]
async fn she_switches_her_mails_off_and_on_again_on_her_status_page() {
    let app = TestApp::new(status::router().merge(submit::router())).await;
    let body = json!({
        "applicant": {"role": "mother"},
        "mother": {"given_names": "Sophia", "family_name": "Beispiel", "birth_date": "1994-05-02", "birth_place": "Bremen",
                   "address": {"street": "Am Markt", "house_number": "1", "postcode": "28195", "city": "Bremen"}},
        "child": {"given_names": "Mia", "family_name": "Beispiel", "birth_date": "2021-03-14", "birth_place": "Bremen", "born_abroad": false},
        "delivery": "download",
        "contact": {"email": "sophia.beispiel@example.org"}
    });
    let (_, created) = app.call("POST", "/api/v1/requests", Some(&app.mother()), Some(body)).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let without = submitted(&app).await;
    let (owner, stranger) = (session(&app.mother()), session(&app.other_mother()));
    let path = format!("/antraege/{id}");
    let switch = format!("{path}/benachrichtigungen");

    let page = app.page_get(&path, &owner).await;
    assert!(page.text().contains("Gibt es Neuigkeiten, schreiben wir Ihnen an sophia.beispiel@example.org."));
    assert!(page.text().contains(&format!("action=\"{switch}\"")), "the switch");
    let no_address = app.page_get(&format!("/antraege/{without}"), &owner).await;
    assert!(!no_address.text().contains("benachrichtigungen"), "nothing to switch without an address");

    assert_eq!(app.page_post(&switch, &stranger, &[("notifications", "off")]).await.status, 404, "not hers");
    assert_eq!(app.page_post(&switch, &owner, &[("notifications", "maybe")]).await.status, 400);
    let switch_without = format!("/antraege/{without}/benachrichtigungen");
    let on_without = app.page_post(&switch_without, &owner, &[("notifications", "on")]).await;
    assert_eq!(on_without.status, 400, "no address to send to");
    let mail_to = |app: &TestApp| {
        let (store, id) = (app.services.store.clone(), id.clone());
        async move { records::request(&*store, &id).await.unwrap().unwrap().value.application.contact.mail_to().cloned() }
    };
    assert!(mail_to(&app).await.is_some(), "a stranger's switch changed nothing");

    let off = app.page_post(&switch, &owner, &[("notifications", "off")]).await;
    assert_eq!(off.location(), Some(format!("{path}?erledigt=mail_off#benachrichtigungen").as_str()));
    assert_eq!(mail_to(&app).await, None);
    let page = app.page_get(off.location().unwrap(), &owner).await;
    assert!(page.text().contains("Wir schicken Ihnen zu diesem Antrag keine E-Mails mehr."), "{}", page.text());
    assert!(page.text().contains("E-Mails wieder schicken"));

    let on = app.page_post(&switch, &owner, &[("notifications", "on")]).await;
    assert_eq!(on.location(), Some(format!("{path}?erledigt=mail_on#benachrichtigungen").as_str()));
    assert_eq!(mail_to(&app).await.map(|to| to.as_str().to_owned()).as_deref(), Some("sophia.beispiel@example.org"));
}
