//! The status page for the owner of a request and its download button.

use serde_json::json;
use shared::domain::request::{Certificate, Status};
use shared::ports::Clock;
use shared::records;
use shared::testing::{TestApp, session};

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
    request.certificate = Some(Certificate { code: "K7QM2XWA9TZP4HBN3XYZ".into(), issued_at: now, document });
    let audit = records::Audit { actor: "system", action: "issued", at: now };
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
