//! The certificate check page for a Kita, a school or a bank.

use shared::records::{self, CertificateRecord};
use shared::testing::TestApp;

const CODE: &str = "K7QM2XWA9TZP4HBN3XYZ";

async fn app_with_certificate() -> TestApp {
    let app = TestApp::new(verify::router()).await;
    let record = CertificateRecord {
        revoked_at: None,
        request_id: "r1".into(),
        office_id: "jugendamt-bremen".into(),
        issued_at: time::macros::datetime!(2026-11-23 09:30 UTC),
    };
    let item = shared::ports::Item::new(records::certificate_key(CODE), serde_json::to_value(&record).unwrap());
    app.services
        .store
        .write(vec![shared::ports::Write::Put { item, condition: shared::ports::Condition::Absent }])
        .await
        .unwrap();
    app
}

#[tokio::test]
async fn a_genuine_code_names_the_office_and_the_day_and_nothing_about_the_child() {
    let app = app_with_certificate().await;
    for (lang, title, date) in [
        ("de", "Die Bescheinigung ist echt", "23. November 2026"),
        ("ls", "Die Bescheinigung ist echt.", "23. November 2026"),
        ("en", "The certificate is genuine", "23 November 2026"),
    ] {
        // As typed from the paper: in groups, in lower case.
        let page = app.page_get("/pruefen/k7qm-2xwa-9tzp-4hbn-3xyz", &format!("lang={lang}")).await;
        assert_eq!(page.status, 200);
        assert!(page.text().contains(title) && page.text().contains(date), "{lang}");
        assert!(page.text().contains("Jugendamt Bremen"));
    }
}

#[tokio::test]
async fn an_unknown_code_says_so_and_what_to_do() {
    let app = app_with_certificate().await;
    let page = app.page_get("/pruefen/AAAAAAAAAAAAAAAAAAAA", "").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Zu diesem Prüfcode gibt es keine Bescheinigung"));
    let hostile = app.page_get("/pruefen/%3Cscript%3E", "").await;
    assert!(!hostile.html.contains("<script>"), "what was typed is never markup");
}

#[tokio::test]
async fn the_form_checks_the_code_and_leads_to_its_page() {
    let app = app_with_certificate().await;
    let form = app.page_get("/pruefen", "").await;
    assert!(form.text().contains("method=\"get\""));
    let typed = app.page_get("/pruefen?code=k7qm+2xwa+9tzp+4hbn+3xyz", "").await;
    assert_eq!(typed.location(), Some(&*format!("/pruefen/{CODE}")));
    let short = app.page_get("/pruefen?code=K7QM", "").await;
    assert_eq!(short.status, 422);
    assert!(short.text().contains("<title>Fehler: Bescheinigung prüfen"));
    assert!(short.text().contains("value=\"K7QM\"") && short.text().contains("href=\"#code\""));
    let empty = app.page_get("/pruefen?code=", "").await;
    assert!(empty.text().contains("Bitte geben Sie den Prüfcode ein."));
}
