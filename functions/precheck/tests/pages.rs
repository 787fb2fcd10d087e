//! The start pages and the pre-check as a browser uses them, and what every page gets from
//! `shared::web`: languages, security headers, CSRF protection and styled error pages.

use axum::Router;
use axum::routing::get;
use shared::testing::{PageResponse, TestApp};
use shared::web;

const QUESTIONS: [(&str, &str, &str); 9] = [
    ("wer", "applicant", "mother"),
    ("wohnort", "residence_postcode", "28195"),
    ("alter-kind", "child_under_18", "yes"),
    ("alter-mutter", "mother_adult", "yes"),
    ("ehe", "married_to_father", "no"),
    ("sorgeerklaerung", "sorgeerklaerung", "unknown"),
    ("gericht", "court_decision", "no"),
    ("ausland-recht", "foreign_joint_custody", "no"),
    ("geburt-ausland", "child_born_abroad", "no"),
];

/// The pre-check's answers cookie after answering `answers` (field → value) in order.
async fn answer_all(app: &TestApp, answers: &[(&str, &str, &str)]) -> String {
    let mut cookie = String::new();
    for (slug, field, value) in answers {
        let response = app.page_post(&format!("/vorab-check/{slug}"), &cookie, &[(field, value)]).await;
        assert_eq!(response.status, 303, "{slug}: {}", response.html);
        cookie = response.cookies().into_iter().find(|c| c.starts_with("vorab=")).expect("answers kept");
    }
    cookie
}

fn title(page: &PageResponse) -> &str {
    let start = page.text().find("<title>").expect("a title") + "<title>".len();
    &page.html[start..start + page.html[start..].find("</title>").expect("title ends")]
}

#[tokio::test]
async fn every_page_renders_in_every_language_with_its_switch() {
    let app = TestApp::new(precheck::router()).await;
    let mut answered = answer_all(&app, &QUESTIONS).await;
    answered.push_str("; ");
    for (lang, tag) in [("de", "de"), ("ls", "de"), ("en", "en")] {
        let cookie = format!("{answered}lang={lang}");
        let pages =
            ["/", "/faq", "/barrierefreiheit", "/vorab-check/wer", "/vorab-check/wohnort", "/vorab-check/ergebnis"];
        for path in pages {
            let page = app.page_get(path, &cookie).await;
            assert_eq!(page.status, 200, "{path} in {lang}");
            assert!(page.text().contains(&format!("<html lang=\"{tag}\">")), "{path} in {lang}");
            assert!(page.text().contains("href=\"#inhalt\""), "skip link on {path}");
            for code in ["de", "ls", "en"] {
                assert!(page.text().contains(&format!("lang={code}\"")), "switch to {code} on {path}");
            }
        }
    }
}

#[tokio::test]
async fn the_chosen_language_is_remembered_in_a_cookie() {
    let app = TestApp::new(precheck::router()).await;
    let page = app.page_get("/faq?lang=ls", "").await;
    assert!(page.cookies().contains(&"lang=ls".to_owned()));
    assert!(page.text().contains("Fragen und Antworten"), "Leichte Sprache has its own texts");
    let page = app.page_get("/faq", "lang=en").await;
    assert!(page.text().contains("Frequently asked questions"));
    assert!(page.text().contains("href=\"/faq?lang=de\""), "the switch keeps the page");
}

#[tokio::test]
async fn the_pre_check_asks_one_question_per_page_and_keeps_the_answers() {
    let app = TestApp::new(precheck::router()).await;
    let first = app.page_get("/vorab-check", "").await;
    assert_eq!(first.location(), Some("/vorab-check/wer"));

    let empty = app.page_post("/vorab-check/wer", "", &[]).await;
    assert_eq!(empty.status, 422);
    assert!(title(&empty).starts_with("Fehler: Wer stellt den Antrag?"), "{}", title(&empty));
    assert!(empty.text().contains("<a href=\"#applicant\">Bitte wählen Sie eine Antwort aus.</a>"));
    assert!(empty.text().contains("autofocus"), "the error summary takes the focus without script");

    let wrong = app.page_post("/vorab-check/wohnort", "", &[("residence_postcode", "2819")]).await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.text().contains("value=\"2819\""), "the input is kept");
    assert!(wrong.text().contains("Bitte geben Sie eine Postleitzahl mit 5 Ziffern an."));

    let cookie = answer_all(&app, &QUESTIONS[..3]).await;
    let back = app.page_get("/vorab-check/wohnort", &cookie).await;
    assert!(back.text().contains("value=\"28195\""), "answers are kept for the back link");
    assert!(back.text().contains("href=\"/vorab-check/wer\""), "back link to the previous question");
    let early = app.page_get("/vorab-check/ergebnis", &cookie).await;
    assert_eq!(early.location(), Some("/vorab-check/alter-mutter"), "the result waits for every answer");
}

#[tokio::test]
async fn an_eligible_mother_is_sent_on_to_sign_in() {
    let app = TestApp::new(precheck::router()).await;
    let cookie = answer_all(&app, &QUESTIONS).await;
    let result = app.page_get("/vorab-check/ergebnis", &cookie).await;
    assert_eq!(result.status, 200);
    assert!(result.text().contains("Sie können die Bescheinigung online beantragen"));
    assert!(result.text().contains("Jugendamt Bremen"), "the responsible office");
    assert!(result.text().contains("href=\"/antrag\""));
    assert!(result.text().contains("Weiß ich nicht"), "her answers are listed");
    assert!(result.text().contains("href=\"/vorab-check/ehe?zurueck=ergebnis\""), "with change links");

    let changed =
        app.page_post("/vorab-check/ehe", &cookie, &[("married_to_father", "no"), ("zurueck", "ergebnis")]).await;
    assert_eq!(changed.location(), Some("/vorab-check/ergebnis"), "a change leads back to the result");
}

#[tokio::test]
async fn a_blocked_answer_says_why_what_to_do_and_whom_to_ask() {
    let app = TestApp::new(precheck::router()).await;
    let mut answers = QUESTIONS;
    answers[0].2 = "other";
    answers[4].2 = "yes";
    answers[1].2 = "20095";
    let cookie = answer_all(&app, &answers).await;
    let result = app.page_get("/vorab-check/ergebnis", &format!("{cookie}; lang=en")).await;
    assert!(result.text().contains("You cannot apply for the certificate through this service"));
    for reason in ["not_entitled", "married", "office_not_connected"] {
        let key = format!("reason.{reason}");
        let text = shared::texts::text(shared::texts::Lang::En, &key);
        assert!(result.text().contains(text), "{reason}");
    }
    assert!(result.text().contains("jugendamt-hamburg@example.org"), "the contact data of the office");
    assert!(!result.text().contains("href=\"/antrag\""));
}

#[tokio::test]
async fn pages_forbid_framing_foreign_content_and_caching() {
    let app = TestApp::new(precheck::router()).await;
    let page = app.page_get("/", "").await;
    let header = |name: &str| page.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(header("content-security-policy").contains("default-src 'none'"));
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("cache-control"), "no-store");
    let css = app.page_get("/static/site.css", "").await;
    assert!(css.headers["content-type"].to_str().unwrap().starts_with("text/css"));
    assert!(!css.text().contains("@import") && !css.text().contains("url(http"), "no external fonts");
}

#[tokio::test]
async fn forms_posted_from_another_site_are_refused() {
    let app = TestApp::new(precheck::router()).await;
    let form = Some(("application/x-www-form-urlencoded", b"applicant=mother".to_vec()));
    let post = |headers: &'static [(&'static str, &'static str)]| {
        app.page_send("POST", "/vorab-check/wer", headers, form.clone())
    };

    let cross = post(&[("sec-fetch-site", "cross-site"), ("cookie", "lang=en")]).await;
    assert_eq!(cross.status, 403);
    assert!(cross.text().contains("This action was stopped for your security"), "a styled page in her language");
    assert_eq!(post(&[("sec-fetch-site", "same-site")]).await.status, 403, "a sibling site is another site");
    let old_browser = post(&[("host", "example.org"), ("origin", "https://evil.example")]).await;
    assert_eq!(old_browser.status, 403, "without Sec-Fetch-Site, the Origin decides");

    assert_eq!(post(&[("sec-fetch-site", "same-origin")]).await.status, 303);
    assert_eq!(post(&[("host", "example.org"), ("origin", "https://example.org")]).await.status, 303);
    assert_eq!(post(&[]).await.status, 303, "no browser, no cookie to misuse");
}

#[tokio::test]
async fn errors_are_styled_pages_in_the_right_language_never_raw() {
    async fn broken() -> &'static str {
        panic!("a bug")
    }
    let boom = web::pages(Router::new().route("/kaputt", get(broken)));
    let app = TestApp::new(precheck::router().merge(boom)).await;
    let crashed = app.page_get("/kaputt", "lang=ls").await;
    assert_eq!(crashed.status, 500);
    assert!(crashed.text().contains("Es gibt einen technischen Fehler."), "{}", crashed.html);
    assert!(crashed.text().contains("<html lang=\"de\">"));

    let missing = app.page_get("/vorab-check/gibt-es-nicht", "lang=en").await;
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("Page not found"));

    let garbage = app.page_send("POST", "/vorab-check/wer", &[], Some(("text/plain", b"x".to_vec()))).await;
    assert!(garbage.status.is_client_error());
    assert!(garbage.text().contains("Das hat nicht geklappt"), "a rejected body gets a page, not plain text");
}

#[tokio::test]
async fn a_postcode_nobody_knows_is_corrected_on_its_question() {
    let app = TestApp::new(precheck::router()).await;
    let cookie = answer_all(&app, &QUESTIONS[..1]).await;
    let unknown = app.page_post("/vorab-check/wohnort", &cookie, &[("residence_postcode", "99999")]).await;
    assert_eq!(unknown.status, 422);
    assert!(unknown.text().contains("Diese Postleitzahl kennen wir nicht"));
}

#[tokio::test]
async fn a_postcode_across_two_offices_asks_her_municipality_only_then() {
    use shared::testing::office;
    let app = TestApp::new(precheck::router()).await;
    app.put_office(&office("jugendamt-harz", "38820", "Harz", &["15085110"])).await;
    app.put_office(&office("jugendamt-msh", "06526", "Mansfeld-Südharz", &["15087220"])).await;
    // Bremen's postcode leads to one office: the municipality is never asked.
    let cookie = answer_all(&app, &QUESTIONS[..1]).await;
    let next = app.page_post("/vorab-check/wohnort", &cookie, &[("residence_postcode", "28195")]).await;
    assert_eq!(next.location(), Some("/vorab-check/alter-kind"));
    assert_eq!(app.page_get("/vorab-check/gemeinde", &cookie).await.location(), Some("/vorab-check/alter-kind"));

    let asked = app.page_post("/vorab-check/wohnort", &cookie, &[("residence_postcode", "06333")]).await;
    assert_eq!(asked.location(), Some("/vorab-check/gemeinde"));
    let cookie = asked.cookies().into_iter().find(|c| c.starts_with("vorab=")).unwrap();
    let page = app.page_get("/vorab-check/gemeinde", &cookie).await;
    assert!(page.text().contains("Falkenstein/Harz, Stadt — Harz, Sachsen-Anhalt"), "{}", page.html);
    assert!(page.text().contains("Frage 2 von 9"), "the municipality shares its postcode's number");
    let wrong = app.page_post("/vorab-check/gemeinde", &cookie, &[("residence_municipality", "04011000")]).await;
    assert_eq!(wrong.status, 422, "only a municipality of her postcode");
    let chosen = app.page_post("/vorab-check/gemeinde", &cookie, &[("residence_municipality", "15087220")]).await;
    assert_eq!(chosen.location(), Some("/vorab-check/alter-kind"));
    let mut cookie = chosen.cookies().into_iter().find(|c| c.starts_with("vorab=")).unwrap();
    for (slug, field, value) in &QUESTIONS[2..] {
        let response = app.page_post(&format!("/vorab-check/{slug}"), &cookie, &[(field, value)]).await;
        cookie = response.cookies().into_iter().find(|c| c.starts_with("vorab=")).unwrap();
    }
    let result = app.page_get("/vorab-check/ergebnis", &cookie).await;
    assert_eq!(result.status, 200);
    assert!(result.text().contains("Jugendamt Mansfeld-Südharz"), "her office");
    assert!(result.text().contains("Hettstedt, Stadt — Mansfeld-Südharz, Sachsen-Anhalt"), "her answer to change");
}
