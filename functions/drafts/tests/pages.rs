//! The application form as a browser uses it: signed in by cookie, one step at a time, each
//! judged by the domain and saved as the draft; uploads where the office requires them.

use serde_json::Value;
use shared::ports::Clock;
use shared::records;
use shared::testing::{PageResponse, TestApp, session};
use time::{Duration, OffsetDateTime, format_description::well_known::Rfc3339};

const APPLICANT: &[(&str, &str)] = &[("applicant.role", "mother")];
const MOTHER: &[(&str, &str)] = &[
    ("mother.given_names", "Sophia"),
    ("mother.family_name", "Beispiel"),
    ("mother.birth_date.day", "2"),
    ("mother.birth_date.month", "5"),
    ("mother.birth_date.year", "1994"),
    ("mother.birth_place", "Bremen"),
    ("mother.address.street", "Am Markt"),
    ("mother.address.house_number", "1"),
    ("mother.address.postcode", "28195"),
    ("mother.address.city", "Bremen"),
];
const CHILD: &[(&str, &str)] = &[
    ("child.given_names", "Mia"),
    ("child.family_name", "Beispiel"),
    ("child.birth_date.day", "14"),
    ("child.birth_date.month", "3"),
    ("child.birth_date.year", "2021"),
    ("child.born_abroad", "no"),
    ("child.birth_place", "Bremen"),
];
const DELIVERY: &[(&str, &str)] = &[("delivery", "download")];

fn with(form: &[(&'static str, &'static str)], name: &str, value: &'static str) -> Vec<(&'static str, &'static str)> {
    form.iter().map(|(n, v)| (*n, if *n == name { value } else { *v })).collect()
}

async fn draft(app: &TestApp) -> Value {
    app.call("GET", "/api/v1/drafts/antrag", Some(&app.mother()), None).await.1
}

/// Bremen asks for the birth certificate in these tests.
async fn require_birth_certificate(app: &TestApp) {
    let mut bremen = shared::testing::offices().into_iter().find(|o| o.id == "jugendamt-bremen").unwrap();
    bremen.required_documents = vec!["geburtsurkunde".into()];
    records::put_office(&*app.services.store, &bremen, false).await.unwrap();
}

fn upload(cookie: &str, file_name: &str, bytes: &[u8]) -> ([(&'static str, String); 2], (&'static str, Vec<u8>)) {
    let mut body = format!(
        "--grenze\r\nContent-Disposition: form-data; name=\"upload.geburtsurkunde\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(b"\r\n--grenze--\r\n");
    (
        [("cookie", cookie.to_owned()), ("sec-fetch-site", "same-origin".to_owned())],
        ("multipart/form-data; boundary=grenze", body),
    )
}

async fn send_upload(app: &TestApp, cookie: &str, file_name: &str, bytes: &[u8]) -> PageResponse {
    let (headers, body) = upload(cookie, file_name, bytes);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    app.page_send("POST", "/antrag/nachweise", &headers, Some(body)).await
}

#[tokio::test]
async fn the_form_needs_a_signed_in_citizen_and_brings_her_back() {
    let app = TestApp::new(drafts::router()).await;
    let anonymous = app.page_get("/antrag/mutter", "").await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(anonymous.location(), Some("/anmelden?next=%2Fantrag%2Fmutter"));
    let staff = app.page_get("/antrag/mutter", &session(&app.staff("jugendamt-bremen"))).await;
    assert_eq!(staff.status, 303, "a staff session is not a citizen's");
    let tampered = app.page_get("/antrag", &session(&format!("{}x", app.mother()))).await;
    assert!(tampered.location().unwrap().starts_with("/anmelden"));
}

#[tokio::test]
async fn each_step_is_judged_by_the_domain_and_saved_for_30_days() {
    let app = TestApp::new(drafts::router()).await;
    let cookie = session(&app.mother());
    let first = app.page_get("/antrag", &cookie).await;
    assert_eq!(first.location(), Some("/antrag/antragsteller"));

    let saved = app.page_post("/antrag/antragsteller", &cookie, APPLICANT).await;
    assert_eq!(saved.location(), Some("/antrag/mutter"));
    let stored = draft(&app).await;
    assert_eq!(stored["data"]["applicant"]["role"], "mother");
    let expires = OffsetDateTime::parse(stored["expires_at"].as_str().unwrap(), &Rfc3339).unwrap();
    assert_eq!(expires - app.clock.now(), Duration::days(30));

    let wrong = with(&with(MOTHER, "mother.birth_date.day", "31"), "mother.address.street", "");
    let wrong = with(&wrong, "mother.birth_date.month", "2");
    let refused = app.page_post("/antrag/mutter", &cookie, &wrong).await;
    assert_eq!(refused.status, 422);
    assert!(refused.text().contains("<title>Fehler: Angaben zur Mutter"));
    let summary = refused.text().find("error-summary").unwrap();
    let day = refused.text().find("href=\"#mother-birth_date-day\"").expect("date error links to the day box");
    let street = refused.text().find("href=\"#mother-address-street\"").expect("street error links to the street");
    assert!(summary < day && day < street, "the summary comes first, in the order of the fields");
    assert!(refused.text().contains("value=\"31\""), "the input is kept");
    assert!(refused.text().contains("id=\"mother-address-street-error\""), "the message sits at the field");
    assert!(draft(&app).await["data"].get("mother").is_none(), "nothing invalid is saved");

    let next = app.page_post("/antrag/mutter", &cookie, MOTHER).await;
    assert_eq!(next.location(), Some("/antrag/kind"));
    let child = app.page_get("/antrag/kind", &cookie).await;
    let until = shared::web::format_date(
        shared::texts::Lang::De,
        shared::domain::values::today_in_germany(app.clock.now() + Duration::days(30)),
    );
    assert!(child.text().contains(&format!("gespeichert bis zum {until}")), "{until}");
    assert_eq!(app.page_get("/antrag", &cookie).await.location(), Some("/antrag/kind"), "resumes where she stopped");
}

#[tokio::test]
async fn her_bundid_data_and_pre_check_answers_are_filled_in() {
    let app = TestApp::new(drafts::router()).await;
    let cookie =
        format!("{}; vorab=applicant=mother&residence_postcode=28195&married_to_father=no", session(&app.mother()));
    let applicant = app.page_get("/antrag/antragsteller", &cookie).await;
    assert!(applicant.text().contains("value=\"mother\" checked"), "the role from the pre-check");
    app.page_post("/antrag/antragsteller", &cookie, APPLICANT).await;
    let mother = app.page_get("/antrag/mutter", &cookie).await;
    assert!(mother.text().contains("value=\"Sophia\""), "the name from BundID");
    assert!(mother.text().contains("autocomplete=\"given-name\""), "her own data can be autofilled");
    assert!(mother.text().contains("value=\"28195\""), "the postcode from the pre-check");
    assert_eq!(
        draft(&app).await["data"]["declarations"]["married_to_father"],
        "no",
        "the custody answers travel along"
    );
}

#[tokio::test]
async fn an_office_that_does_not_take_requests_is_named_at_the_address() {
    let app = TestApp::new(drafts::router()).await;
    let cookie = session(&app.mother());
    app.page_post("/antrag/antragsteller", &cookie, APPLICANT).await;
    let hamburg = app.page_post("/antrag/mutter", &cookie, &with(MOTHER, "mother.address.postcode", "20095")).await;
    assert_eq!(hamburg.status, 422);
    assert!(hamburg.text().contains("nimmt Anträge noch nicht über diesen Dienst an"));
}

#[tokio::test]
async fn a_representative_names_herself_and_gets_no_autofill_for_the_mother() {
    let app = TestApp::new(drafts::router()).await;
    let cookie = session(&app.mother());
    let form = [("applicant.role", "representative"), ("applicant.representative.family_name", "Hilfreich")];
    let refused = app.page_post("/antrag/antragsteller", &cookie, &form).await;
    assert_eq!(refused.status, 422);
    assert!(refused.text().contains("href=\"#applicant-representative-given_names\""));
    let form = [
        ("applicant.role", "representative"),
        ("applicant.representative.given_names", "Petra"),
        ("applicant.representative.family_name", "Hilfreich"),
    ];
    assert_eq!(app.page_post("/antrag/antragsteller", &cookie, &form).await.status, 303);
    let mother = app.page_get("/antrag/mutter", &cookie).await;
    assert!(!mother.text().contains("autocomplete=\"given-name\""));
    assert!(!mother.text().contains("value=\"Sophia\""), "her own name is not the mother's");
}

#[tokio::test]
async fn documents_are_asked_where_the_office_requires_them_and_checked_by_content() {
    let app = TestApp::new(drafts::router()).await;
    require_birth_certificate(&app).await;
    let cookie = session(&app.mother());
    for (step, form) in [("antragsteller", APPLICANT), ("mutter", MOTHER), ("kind", CHILD)] {
        app.page_post(&format!("/antrag/{step}"), &cookie, form).await;
    }
    let delivered = app.page_post("/antrag/zustellung", &cookie, DELIVERY).await;
    assert_eq!(delivered.location(), Some("/antrag/nachweise"));
    let page = app.page_get("/antrag/nachweise", &cookie).await;
    assert!(page.text().contains("Schritt 5 von 5"));
    assert!(page.text().contains("enctype=\"multipart/form-data\""));

    // A file input left empty, as browsers send it.
    let nothing = send_upload(&app, &cookie, "", b"").await;
    assert_eq!(nothing.status, 422);
    assert!(nothing.text().contains("Bitte laden Sie die Datei hoch: Geburtsurkunde des Kindes."));

    let renamed = send_upload(&app, &cookie, "urkunde.pdf", b"MZ\x90\x00 not a PDF at all").await;
    assert_eq!(renamed.status, 422);
    assert!(renamed.text().contains("ist kein PDF, JPEG oder PNG"));
    let mut huge = b"%PDF-1.7\n".to_vec();
    huge.resize(5 * 1024 * 1024 + 1, b' ');
    let too_large = send_upload(&app, &cookie, "gross.pdf", &huge).await;
    assert_eq!(too_large.status, 422);
    assert!(too_large.text().contains("ist zu groß"));

    let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0];
    let stored = send_upload(&app, &cookie, "foto.jpeg", &png).await;
    assert_eq!(stored.location(), Some("/antrag/pruefen"));
    let uploads = draft(&app).await["data"]["uploads"].clone();
    assert_eq!(uploads[0]["file_type"], "png", "the content decides, not the name");
    assert_eq!(uploads[0]["file_name"], "foto.jpeg");
    let key = uploads[0]["key"].as_str().unwrap();
    assert_eq!(app.services.documents.get(key).await.unwrap().unwrap(), png);

    let check = app.page_get("/antrag/pruefen", &cookie).await;
    assert!(check.text().contains("foto.jpeg (1 KB)"));

    let removed = app.page_post("/antrag/nachweise/entfernen", &cookie, &[("kind", "geburtsurkunde")]).await;
    assert_eq!(removed.location(), Some("/antrag/nachweise"));
    assert!(app.services.documents.get(key).await.unwrap().is_none(), "the file is deleted");
    assert_eq!(app.page_get("/antrag", &cookie).await.location(), Some("/antrag/nachweise"));
}

#[tokio::test]
async fn the_check_page_lists_every_answer_with_a_change_link() {
    let app = TestApp::new(drafts::router()).await;
    let cookie = session(&app.mother());
    assert_eq!(app.page_get("/antrag/pruefen", &cookie).await.location(), Some("/antrag"), "nothing to check yet");
    for (step, form) in [("antragsteller", APPLICANT), ("mutter", MOTHER), ("kind", CHILD), ("zustellung", DELIVERY)] {
        app.page_post(&format!("/antrag/{step}"), &cookie, form).await;
    }
    for lang in ["de", "ls", "en"] {
        let check = app.page_get("/antrag/pruefen", &format!("{cookie}; lang={lang}")).await;
        assert_eq!(check.status, 200, "{lang}");
        assert!(check.text().contains("href=\"/antrag/mutter?zurueck=pruefen#mother-given_names\""));
        assert!(check.text().contains("Sophia Beispiel") && check.text().contains("Mia Beispiel"));
        assert!(check.text().contains("name=\"idempotency_key\""));
        for step in ["antragsteller", "mutter", "kind", "zustellung"] {
            assert_eq!(app.page_get(&format!("/antrag/{step}"), &format!("{cookie}; lang={lang}")).await.status, 200);
        }
    }
    assert!(app.page_get("/antrag/pruefen", &cookie).await.text().contains("14. März 2021"));
    let changed = app.page_post("/antrag/kind", &cookie, &[CHILD, &[("zurueck", "pruefen")]].concat()).await;
    assert_eq!(changed.location(), Some("/antrag/pruefen"), "a change leads back to the check page");
}
