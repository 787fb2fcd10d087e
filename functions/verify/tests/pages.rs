//! The certificate check page for a Kita, a school or a bank.

use shared::domain::verification::VerificationRecord;
use shared::records;
use shared::testing::TestApp;
use time::macros::{date, datetime};

const CODE: &str = "K7QM2XWA9TZP4HBN3XYZ";
const BORN: [(&str, &str); 3] =
    [("geburtsdatum.day", "14"), ("geburtsdatum.month", "3"), ("geburtsdatum.year", "2021")];

async fn app_with_certificate() -> TestApp {
    let app = TestApp::new(verify::router()).await;
    let issued_at = datetime!(2026-11-23 09:30 UTC);
    let record = VerificationRecord::issued(CODE, date!(2021 - 03 - 14), "jugendamt-bremen", issued_at, "Mia");
    let item = shared::ports::Item::new(records::certificate_key(CODE), serde_json::to_value(&record).unwrap());
    let put = shared::ports::Write::Put { item, condition: shared::ports::Condition::Absent };
    app.services.store.write(vec![put]).await.unwrap();
    app
}

fn check<'a>(code: &'a str, born: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    std::iter::once(("code", code)).chain(born.iter().copied()).collect()
}

#[tokio::test]
async fn a_genuine_code_with_the_date_of_birth_names_the_office_the_day_and_the_childs_first_name() {
    let app = app_with_certificate().await;
    for (lang, title, date) in [
        ("de", "Die Bescheinigung ist echt", "23. November 2026"),
        ("ls", "Die Bescheinigung ist echt.", "23. November 2026"),
        ("en", "The certificate is genuine", "23 November 2026"),
    ] {
        // As typed from the paper: in groups, in lower case.
        let page = app.page_post("/pruefen", &format!("lang={lang}"), &check("k7qm-2xwa-9tzp-4hbn-3xyz", &BORN)).await;
        assert_eq!(page.status, 200);
        let text = page.text();
        assert!(text.contains(title) && text.contains(date) && text.contains("Mia"), "{lang}: {text}");
        assert!(text.contains("Jugendamt Bremen"));
    }
}

#[tokio::test]
async fn a_genuine_code_with_another_date_answers_as_an_unknown_code_does() {
    let app = app_with_certificate().await;
    let unknown = app.page_post("/pruefen", "", &check("AAAAAAAAAAAAAAAAAAAA", &BORN)).await.text();
    assert!(unknown.contains("Zu diesen Angaben gibt es keine Bescheinigung"));
    let other_day = [("geburtsdatum.day", "15"), ("geburtsdatum.month", "3"), ("geburtsdatum.year", "2021")];
    let wrong = app.page_post("/pruefen", "", &check(CODE, &other_day)).await;
    assert_eq!(wrong.status, 200);
    let strip = |page: &str| page.replace("AAAA AAAA AAAA AAAA AAAA", "").replace("K7QM 2XWA 9TZP 4HBN 3XYZ", "");
    assert_eq!(strip(&wrong.text()), strip(&unknown), "nothing tells a genuine code from an unknown one");
    assert!(!wrong.text().contains("Mia") && !wrong.text().contains("Jugendamt Bremen"));
    let unknown_key = records::certificate_key("AAAAAAAAAAAAAAAAAAAA");
    assert!(app.services.store.get(&unknown_key).await.unwrap().is_none(), "an unknown code leaves nothing behind");
}

#[tokio::test]
async fn the_qr_code_leads_to_the_form_with_the_code_and_the_date_is_asked_for() {
    let app = app_with_certificate().await;
    let page = app.page_get(&format!("/pruefen/{}", CODE.to_lowercase()), "").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("value=\"K7QM 2XWA 9TZP 4HBN 3XYZ\""), "the code is filled in");
    assert!(page.text().contains("method=\"post\"") && page.text().contains("name=\"geburtsdatum.day\""));
    assert!(!page.text().contains("Jugendamt Bremen"), "no answer without the date");
    let hostile = app.page_get("/pruefen/%3Cscript%3E", "").await;
    assert!(!hostile.html.contains("<script>"), "what was typed is never markup");
}

#[tokio::test]
async fn the_form_says_what_is_missing_or_wrong() {
    let app = app_with_certificate().await;
    let short = app.page_post("/pruefen", "", &check("K7QM", &BORN)).await;
    assert_eq!(short.status, 422);
    assert!(short.text().contains("<title>Fehler: Bescheinigung prüfen"));
    assert!(short.text().contains("value=\"K7QM\"") && short.text().contains("href=\"#code\""));
    let no_date = app.page_post("/pruefen", "", &check(CODE, &[])).await;
    assert_eq!(no_date.status, 422);
    assert!(no_date.text().contains("Bitte geben Sie das Geburtsdatum des Kindes ein"));
    assert!(no_date.text().contains("href=\"#geburtsdatum-day\""));
    let nonsense = [("geburtsdatum.day", "31"), ("geburtsdatum.month", "2"), ("geburtsdatum.year", "2021")];
    let bad = app.page_post("/pruefen", "", &check(CODE, &nonsense)).await;
    assert_eq!(bad.status, 422);
    assert!(bad.text().contains("Bitte geben Sie ein gültiges Datum an"));
}
