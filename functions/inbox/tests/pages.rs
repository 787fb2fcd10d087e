//! The office's pages: confined to the own office, acting through the API's code, and showing
//! what people wrote as text, never as markup.

use serde_json::json;
use shared::domain::register::{EntryKind, RegisterEntry, RegisteredChild, RegisteredMother, ReviewReason};
use shared::domain::request::{RegisterResult, Status};
use shared::domain::values::{PersonName, Text};
use shared::ports::Clock;
use shared::records;
use shared::testing::{PageResponse, TestApp, session, staff_session, upload_forms};

const BREMEN: &str = "jugendamt-bremen";

async fn app() -> TestApp {
    TestApp::new(inbox::router().merge(submit::router()).merge(status::router())).await
}

/// Sophia's request (delivery by post), waiting for a case worker of Bremen: the register
/// found a Sorgeerklärung that could be her child's.
async fn in_review(app: &TestApp) -> String {
    let body = json!({
        "applicant": {"role": "mother"},
        "mother": {"given_names": "Sophia", "family_name": "Beispiel", "birth_date": "1994-05-02", "birth_place": "Bremen",
                   "address": {"street": "Am Markt", "house_number": "1", "postcode": "28195", "city": "Bremen"}},
        "child": {"given_names": "Mia", "family_name": "Beispiel", "birth_date": "2021-03-14", "birth_place": "Bremen", "born_abroad": false},
        "delivery": "post"
    });
    let (_, created) = app.call("POST", "/api/v1/requests", Some(&app.mother()), Some(body)).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let store = &*app.services.store;
    let stored = records::request(store, &id).await.unwrap().unwrap();
    let mut request = stored.value;
    let now = app.clock.now();
    request.advance(Status::Prepared, now).unwrap();
    request.advance(Status::InReview, now).unwrap();
    let name = |n: &str| PersonName::parse(n).unwrap();
    let entry = RegisterEntry {
        id: "e1".into(),
        office_id: BREMEN.into(),
        child: RegisteredChild {
            given_names: name("Mia"),
            family_name: name("Beispiel"),
            birth_date: request.application.child.birth_date,
            birth_place: Text::parse("Bremen").unwrap(),
        },
        mother: RegisteredMother { given_names: name("Sophia"), family_name: name("Beispiel") },
        kind: EntryKind::Sorgeerklaerung,
        parts: vec![],
    };
    request.register_result = Some(RegisterResult {
        checked_at: now,
        review_reasons: vec![ReviewReason::RegisterEntries { candidates: vec![entry] }],
    });
    let audit = app.services.audit("system", "register:review", now).await.unwrap();
    records::update_request(store, &request, stored.version, audit).await.unwrap();
    id
}

async fn status_of(app: &TestApp, id: &str) -> Status {
    records::request(&*app.services.store, id).await.unwrap().unwrap().value.status
}

fn assert_sign_in(response: &PageResponse, what: &str) {
    assert_eq!(response.status, 303, "{what}");
    assert!(
        response.location().is_some_and(|l| l.starts_with("/amt/anmelden?next=")),
        "{what}: {:?}",
        response.location()
    );
}

#[tokio::test]
async fn every_office_page_and_form_is_confined_to_the_own_office() {
    let app = app().await;
    let id = in_review(&app).await;
    let bremen = staff_session(&app.staff(BREMEN));
    let berlin = staff_session(&app.staff("jugendamt-berlin"));
    let citizen = staff_session(&app.mother());
    let admin = staff_session(&app.admin());
    let detail = format!("/amt/antraege/{id}");

    let reads = [detail.clone(), format!("{detail}/dokumente/antrag.pdf")];
    let posts: [(String, Vec<(&str, &str)>); 2] = [
        (format!("{detail}/entscheidung"), vec![("outcome", "reject"), ("reason", "Fremdes Amt")]),
        (format!("{detail}/nachricht"), vec![("text", "Fremdes Amt"), ("asks_for", "geburtsurkunde")]),
    ];
    for path in &reads {
        assert_eq!(app.page_get(path, &berlin).await.status, 404, "another office: {path}");
        assert_eq!(app.page_get(path, &citizen).await.status, 403, "a citizen: {path}");
        assert_eq!(app.page_get(path, &admin).await.status, 403, "an operator without office: {path}");
        assert_sign_in(&app.page_get(path, "").await, path);
    }
    for (path, form) in &posts {
        assert_eq!(app.page_post(path, &berlin, form).await.status, 404, "another office: {path}");
        assert_eq!(app.page_post(path, &citizen, form).await.status, 403, "a citizen: {path}");
        assert_sign_in(&app.page_post(path, "", form).await, path);
    }
    let request = records::request(&*app.services.store, &id).await.unwrap().unwrap().value;
    assert_eq!(request.status, Status::InReview, "nobody else decided");
    assert!(request.documents.asked_for.is_empty(), "nobody else asked");
    assert!(records::messages(&*app.services.store, &id).await.unwrap().is_empty(), "nobody else wrote");

    let refused = app.page_get("/amt", &citizen).await;
    assert_eq!(refused.status, 403);
    assert!(!refused.text().contains(&id), "no data for a citizen");
    assert!(refused.text().contains("Diese Seiten sind für Mitarbeitende der Jugendämter"));
    assert_sign_in(&app.page_get("/amt", "").await, "/amt");
    assert!(!app.page_get("/amt", &berlin).await.text().contains(&id), "another office's inbox");
    let own = app.page_get("/amt", &bremen).await;
    assert_eq!(own.status, 200);
    assert!(own.text().contains(&format!("href=\"/amt/antraege/{id}\"")));
    assert!(own.text().contains("Mia Beispiel") && own.text().contains("Zu prüfen"), "child and status in words");
}

#[tokio::test]
async fn a_form_posted_from_another_site_is_refused() {
    let app = app().await;
    let id = in_review(&app).await;
    let headers = [("cookie", &*staff_session(&app.staff(BREMEN))), ("sec-fetch-site", "cross-site")];
    let body = b"outcome=reject&reason=Von+woanders".to_vec();
    let path = format!("/amt/antraege/{id}/entscheidung");
    let answer = app.page_send("POST", &path, &headers, Some(("application/x-www-form-urlencoded", body))).await;
    assert_eq!(answer.status, 403);
    assert_eq!(status_of(&app, &id).await, Status::InReview);
}

#[tokio::test]
async fn the_inbox_filters_by_status() {
    let app = app().await;
    let id = in_review(&app).await;
    let bremen = staff_session(&app.staff(BREMEN));
    let page = app.page_get("/amt?status=in_review", &bremen).await;
    assert!(page.text().contains(&id));
    assert!(page.text().contains("href=\"/amt?status=in_review\" aria-current=\"page\""), "the chosen tab");
    for filter in ["new", "issued", "rejected", "posted"] {
        let page = app.page_get(&format!("/amt?status={filter}"), &bremen).await;
        assert_eq!(page.status, 200, "{filter}");
        assert!(!page.text().contains(&id), "{filter}");
    }
    assert_eq!(app.page_get("/amt?status=bogus", &bremen).await.status, 404);
    for lang in ["de", "ls", "en"] {
        assert_eq!(app.page_get("/amt", &format!("{bremen}; lang={lang}")).await.status, 200, "{lang}");
        let page = app.page_get(&format!("/amt/antraege/{id}"), &format!("{bremen}; lang={lang}")).await;
        assert_eq!(page.status, 200, "{lang}");
    }
}

#[tokio::test]
async fn the_detail_page_shows_the_application_the_register_result_and_the_documents() {
    let app = app().await;
    let id = in_review(&app).await;
    let page = app.page_get(&format!("/amt/antraege/{id}"), &staff_session(&app.staff(BREMEN))).await;
    let html = page.text();
    assert_eq!(page.status, 200);
    for expected in ["Sophia Beispiel", "Am Markt 1", "28195 Bremen", "14. März 2021", "Per Post", "01 Sorgeerklärung"]
    {
        assert!(html.contains(expected), "{expected}");
    }
    let trail = records::audit_trail(&*app.services.store, &id).await.unwrap();
    assert!(trail.iter().any(|e| e.action == "read:request"), "the read is audited");
}

#[tokio::test]
async fn a_decision_on_the_page_goes_through_the_api_rules() {
    let app = app().await;
    let id = in_review(&app).await;
    let bremen = staff_session(&app.staff(BREMEN));
    let path = format!("/amt/antraege/{id}/entscheidung");

    let missing = app.page_post(&path, &bremen, &[("outcome", "reject"), ("reason", " ")]).await;
    assert_eq!(missing.status, 422);
    assert!(missing.text().contains("<title>Fehler: "), "the title says so");
    assert!(missing.text().contains("href=\"#reason\">Bitte geben Sie eine Begründung für die Mutter an."));
    let no_parts = app.page_post(&path, &bremen, &[("outcome", "partial"), ("parts", "\n \n")]).await;
    assert_eq!(no_parts.status, 422);
    assert!(no_parts.text().contains("href=\"#parts\""));
    assert_eq!(status_of(&app, &id).await, Status::InReview);

    let reason = "Im Register steht eine Sorgeerklärung.\nBitte melden Sie sich.";
    let decided = app.page_post(&path, &bremen, &[("outcome", "reject"), ("reason", reason)]).await;
    assert_eq!(decided.status, 303);
    assert_eq!(decided.location(), Some(&*format!("/amt/antraege/{id}?erledigt=entscheidung#status")));
    assert_eq!(status_of(&app, &id).await, Status::Rejected);
    let page = app.page_get(decided.location().unwrap(), &bremen).await;
    assert!(page.text().contains("Die Entscheidung ist gespeichert."));
    assert!(page.text().contains(reason), "the reason with its line break");
    assert!(!page.text().contains("name=\"outcome\""), "nothing left to decide");

    let late = app.page_post(&path, &bremen, &[("outcome", "issue")]).await;
    assert_eq!(late.status, 409);
    assert!(late.text().contains("<title>Fehler: "));
    assert!(late.text().contains("Dieser Antrag ist nicht mehr offen"));
    assert_eq!(app.page_post(&path, &bremen, &[("outcome", "whatever")]).await.status, 400);
}

#[tokio::test]
async fn an_approval_on_the_page_hands_the_request_to_the_certificate_step() {
    let app = app().await;
    let id = in_review(&app).await;
    let bremen = staff_session(&app.staff(BREMEN));
    let form = [("outcome", "partial"), ("parts", "Aufenthaltsbestimmungsrecht\n\nGesundheitssorge")];
    let decided = app.page_post(&format!("/amt/antraege/{id}/entscheidung"), &bremen, &form).await;
    assert_eq!(decided.status, 303);
    let request = records::request(&*app.services.store, &id).await.unwrap().unwrap().value;
    let approval = request.approval.expect("approved");
    assert_eq!(approval.partial_parts, ["Aufenthaltsbestimmungsrecht", "Gesundheitssorge"]);
    let page = app.page_get(&format!("/amt/antraege/{id}"), &bremen).await;
    assert!(page.text().contains("Die Bescheinigung wird gerade erstellt."));
}

/// Her upload from her status page as her browser sends it: straight to the document store,
/// then back to the page that takes it.
async fn upload(app: &TestApp, status: &str, cookie: &str, bytes: &[u8]) -> PageResponse {
    let page = app.page_get(status, cookie).await;
    let form = upload_forms(&page.html).into_iter().next().expect("an upload form");
    let back = app.post_upload(&form, bytes).await.expect("the store takes it");
    app.page_get(&back, cookie).await
}

const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0];

#[tokio::test]
async fn messages_go_both_ways_and_a_document_asked_for_reaches_the_office() {
    let app = app().await;
    let id = in_review(&app).await;
    let bremen = staff_session(&app.staff(BREMEN));
    let mother = session(&app.mother());
    let detail = format!("/amt/antraege/{id}");
    let status = format!("/antraege/{id}");
    let hostile = "<script>alert(1)</script> {{7*7}} Bitte senden Sie die Geburtsurkunde.";

    let empty = app.page_post(&format!("{detail}/nachricht"), &bremen, &[("text", ""), ("asks_for", "none")]).await;
    assert_eq!(empty.status, 422);
    assert!(empty.text().contains("href=\"#text\">Bitte schreiben Sie eine Nachricht."));

    let form = [("text", hostile), ("asks_for", "geburtsurkunde")];
    let sent = app.page_post(&format!("{detail}/nachricht"), &bremen, &form).await;
    assert_eq!(sent.location(), Some(&*format!("{detail}?erledigt=nachricht#nachrichten")));

    let hers = app.page_get(&status, &mother).await;
    assert!(hers.text().contains("&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}}"), "literally, not as markup");
    assert!(!hers.html.contains("<script>"), "never markup");
    assert!(hers.text().contains("Das Jugendamt bittet um: Geburtsurkunde des Kindes"));
    assert_eq!(upload_forms(&hers.html).len(), 1, "she can send it");

    app.clock.advance(time::Duration::minutes(5));
    let reply = app.page_post(&format!("{status}/nachricht"), &mother, &[("text", "<b>Gern</b>, anbei.")]).await;
    assert_eq!(reply.location(), Some(&*format!("{status}?erledigt=nachricht#nachrichten")));
    let wrong = upload(&app, &status, &mother, b"MZ an .exe, not a picture").await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.text().contains("ist kein PDF, JPEG oder PNG"));
    let uploaded = upload(&app, &status, &mother, PNG).await;
    assert_eq!(uploaded.location(), Some(&*format!("{status}?erledigt=nachweis#nachrichten")));
    assert!(upload_forms(&app.page_get(&status, &mother).await.html).is_empty(), "answered");

    let office = app.page_get(&detail, &bremen).await;
    assert!(office.text().contains("&lt;b&gt;Gern&lt;/b&gt;, anbei."), "her answer, literally");
    assert!(office.text().contains("&lt;script&gt;alert(1)"), "its own message, literally");
    assert!(office.text().contains(&format!("href=\"{detail}/dokumente/nachweis-geburtsurkunde\"")));
    assert!(office.text().contains("Geburtsurkunde des Kindes.png"), "named by its kind");
    let file = app.page_get(&format!("{detail}/dokumente/nachweis-geburtsurkunde"), &bremen).await;
    assert_eq!(file.status, 302, "her proof comes as a short-lived link, as on S3");
    let link = file.location().expect("a link");
    assert!(link.starts_with("/documents/") && link.contains("name=geburtsurkunde.png"), "{link}");
    assert_eq!(file.headers["cache-control"], "no-store");
    let berlin = staff_session(&app.staff("jugendamt-berlin"));
    assert_eq!(app.page_get(&format!("{detail}/dokumente/nachweis-geburtsurkunde"), &berlin).await.status, 404);

    let (_, api) =
        app.call("GET", &format!("/api/v1/staff/requests/{id}/messages"), Some(&app.staff(BREMEN)), None).await;
    assert_eq!(api[0]["asks_for"], "geburtsurkunde", "the API shows the same messages");
    assert_eq!(api.as_array().unwrap().len(), 2);
    let (_, api) = app.call("GET", &format!("/api/v1/staff/requests/{id}"), Some(&app.staff(BREMEN)), None).await;
    assert_eq!(api["documents"]["uploads"][0]["url"], format!("/api/v1/staff/requests/{id}/nachweise/geburtsurkunde"));
}

#[tokio::test]
async fn posted_is_marked_on_the_page_once_issued_for_post() {
    let app = app().await;
    let id = in_review(&app).await;
    let bremen = staff_session(&app.staff(BREMEN));
    let path = format!("/amt/antraege/{id}/entscheidung");
    assert_eq!(app.page_post(&path, &bremen, &[("outcome", "posted")]).await.status, 409, "nothing issued yet");
    assert_eq!(app.page_post(&path, &bremen, &[("outcome", "issue")]).await.status, 303);
    // The certificate step issues it.
    let store = &*app.services.store;
    let stored = records::request(store, &id).await.unwrap().unwrap();
    let mut request = stored.value;
    request.advance(Status::Issued, app.clock.now()).unwrap();
    let audit = app.services.audit("system", "issued", app.clock.now()).await.unwrap();
    records::update_request(store, &request, stored.version, audit).await.unwrap();

    let page = app.page_get(&format!("/amt/antraege/{id}"), &bremen).await;
    assert!(page.text().contains("Als per Post verschickt markieren"));
    assert_eq!(app.page_post(&path, &bremen, &[("outcome", "posted")]).await.status, 303);
    assert_eq!(status_of(&app, &id).await, Status::Posted);
}
