//! The application form as a browser uses it: signed in by cookie, one step at a time, each
//! judged by the domain and saved as the draft; uploads where the office requires them.

use serde_json::{Value, json};
use shared::domain::upload::MAX_RECEIVED_BYTES;
use shared::ports::Clock;
use shared::testing::{FORM, PageResponse, TestApp, session, upload_forms};
use shared::texts::{Lang, text};
use shared::upload_policy::Refusal;
use time::{Duration, OffsetDateTime, format_description::well_known::Rfc3339};

const APPLICANT: &[(&str, &str)] = FORM[0].1;
const MOTHER: &[(&str, &str)] = FORM[1].1;
const CHILD: &[(&str, &str)] = FORM[2].1;
const DELIVERY: &[(&str, &str)] = FORM[3].1;

fn with(form: &[(&'static str, &'static str)], name: &str, value: &'static str) -> Vec<(&'static str, &'static str)> {
    form.iter().map(|(n, v)| (*n, if *n == name { value } else { *v })).collect()
}

async fn draft(app: &TestApp) -> Value {
    app.call("GET", "/api/v1/drafts/antrag", Some(&app.mother()), None).await.1
}

/// Sophia as her BundID account states her, with everything the login can supply (the same
/// subject as `TestApp::mother`).
fn account() -> Value {
    json!({
        "sub": "sophia", "given_name": "Sophia", "family_name": "Beispiel", "birth_name": "Muster",
        "birthdate": "1994-05-02", "place_of_birth": "Bremen", "trust_level": "STORK-QAA-Level-4",
        "address": {"street": "Am Markt", "house_number": "1", "postcode": "28195", "city": "Bremen"},
    })
}

/// Her session, begun at `issued_at` (whole seconds, as tokens say it) for `lifetime`.
fn signed_in(app: &TestApp, issued_at: OffsetDateTime, lifetime: Duration) -> String {
    session(&app.citizen_token(account(), issued_at.replace_nanosecond(0).unwrap(), lifetime))
}

/// Her session with the full account, for an hour from now.
fn with_account(app: &TestApp) -> String {
    signed_in(app, OffsetDateTime::now_utc(), Duration::hours(1))
}

/// Whether the page has an input (or date box) named `name`.
fn asks(page: &PageResponse, name: &str) -> bool {
    page.text().contains(&format!("name=\"{name}\""))
}

/// Bremen asks for the birth certificate in these tests.
async fn require_birth_certificate(app: &TestApp) {
    let mut bremen = shared::testing::offices().into_iter().find(|o| o.id == "jugendamt-bremen").unwrap();
    bremen.required_documents = vec![shared::domain::upload::DocumentKind::BirthCertificate];
    app.put_office(&bremen).await;
}

/// Uploads `bytes` as her browser does without JavaScript: the page's form posts the file
/// straight to the document store, which sends her back to the page that takes it.
async fn send_upload(app: &TestApp, cookie: &str, bytes: &[u8]) -> PageResponse {
    let page = app.page_get("/antrag/nachweise", cookie).await;
    let form = upload_forms(&page.html).into_iter().next().expect("an upload form");
    let back = app.post_upload(&form, bytes).await.expect("the store takes the post");
    assert!(back.starts_with("/antrag/nachweise/eingang?art=geburtsurkunde"), "{back}");
    app.page_get(&back, cookie).await
}

/// A JPEG of `size` bytes, as a phone takes it.
fn jpeg(size: usize) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0];
    bytes.resize(size, 0x5A);
    bytes
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

    let wrong = with(&with(MOTHER, "mother.address.postcode", "2819"), "mother.address.street", "");
    let refused = app.page_post("/antrag/mutter", &cookie, &wrong).await;
    assert_eq!(refused.status, 422);
    assert!(refused.text().contains("<title>Fehler: Angaben zur Mutter"));
    let summary = refused.text().find("error-summary").unwrap();
    let street = refused.text().find("href=\"#mother-address-street\"").expect("street error links to the street");
    let postcode = refused.text().find("href=\"#mother-address-postcode\"").expect("postcode error links there");
    assert!(summary < street && street < postcode, "the summary comes first, in the order of the fields");
    assert!(refused.text().contains("value=\"2819\""), "the input is kept");
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
    assert!(mother.text().contains("Aus Ihrem BundID-Konto"));
    assert!(mother.text().contains("Sophia Beispiel") && mother.text().contains("2. Mai 1994"), "shown, not asked");
    assert!(!asks(&mother, "mother.given_names") && !asks(&mother, "mother.birth_date.day"));
    // What this login does not supply is asked as before.
    assert!(asks(&mother, "mother.birth_name") && asks(&mother, "mother.birth_place"));
    assert!(mother.text().contains("autocomplete=\"address-line1\""), "her own data can be autofilled");
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
    let button = "<button class=\"button\" type=\"submit\">Datei hochladen<span class=\"visually-hidden\">: Geburtsurkunde des Kindes</span></button>";
    assert!(page.text().contains(button), "{}", page.text());

    // A file input left empty, as browsers send it.
    let nothing = send_upload(&app, &cookie, b"").await;
    assert_eq!(nothing.status, 422);
    assert!(nothing.text().contains("Bitte laden Sie die Datei hoch: Geburtsurkunde des Kindes."));

    let renamed = send_upload(&app, &cookie, b"MZ\x90\x00 an .exe renamed to urkunde.pdf").await;
    assert_eq!(renamed.status, 422);
    assert!(renamed.text().contains("ist kein PDF, JPEG oder PNG"));
    let too_large = send_upload(&app, &cookie, &jpeg(11_000_000)).await;
    assert_eq!(too_large.status, 422);
    assert!(too_large.text().contains("ist zu groß. Sie darf höchstens 10 MB groß sein."));
    assert_eq!(draft(&app).await["uploads"], json!([]), "nothing refused is kept");

    let photo = jpeg(9_000_000);
    let stored = send_upload(&app, &cookie, &photo).await;
    assert_eq!(stored.location(), Some("/antrag/pruefen"));
    let uploads = draft(&app).await["uploads"].clone();
    assert_eq!(uploads[0]["file_type"], "jpeg", "the content decides");
    assert_eq!(uploads[0]["size"], 9_000_000);
    assert_eq!(uploads[0]["file_name"], "Geburtsurkunde des Kindes.jpg");
    let key = uploads[0]["key"].as_str().unwrap();
    assert!(app.services.documents.get(key).await.unwrap().unwrap() == photo, "stored as sent");
    let incoming = shared::web::upload::incoming_key("sophia", "antrag/geburtsurkunde");
    assert!(app.services.documents.get(&incoming).await.unwrap().is_none(), "the incoming copy is gone");

    let check = app.page_get("/antrag/pruefen", &cookie).await;
    assert!(check.text().contains("Geburtsurkunde des Kindes.jpg (8,6 MB)"), "{}", check.text());

    let removed = app.page_post("/antrag/nachweise/entfernen", &cookie, &[("kind", "geburtsurkunde")]).await;
    assert_eq!(removed.location(), Some("/antrag/nachweise"));
    assert!(app.services.documents.get(key).await.unwrap().is_none(), "the file is deleted");
    assert_eq!(app.page_get("/antrag", &cookie).await.location(), Some("/antrag/nachweise"));
}

/// The form a page gives her uploads her file to her key only, within its limit, for an hour
/// at most; what she uploaded is taken by her alone, however often she returns.
#[tokio::test]
async fn an_upload_form_holds_for_her_file_only_and_not_for_long() {
    let app = TestApp::new(drafts::router()).await;
    require_birth_certificate(&app).await;
    let (cookie, other) = (session(&app.mother()), session(&app.other_mother()));
    for cookie in [&cookie, &other] {
        for (step, form) in
            [("antragsteller", APPLICANT), ("mutter", MOTHER), ("kind", CHILD), ("zustellung", DELIVERY)]
        {
            app.page_post(&format!("/antrag/{step}"), cookie, form).await;
        }
    }
    let page = app.page_get("/antrag/nachweise", &cookie).await;
    let form = upload_forms(&page.html).into_iter().next().expect("an upload form");
    let mut elsewhere = form.clone();
    elsewhere.fields.iter_mut().filter(|(name, _)| name == "key").for_each(|(_, key)| *key = "drafts/x/y.pdf".into());
    assert!(matches!(app.post_upload(&elsewhere, &jpeg(100)).await, Err(Refusal::ConditionFailed(_))));
    let mut as_html = form.clone();
    as_html.fields.iter_mut().filter(|(name, _)| name == "Content-Type").for_each(|(_, t)| *t = "text/html".into());
    assert!(matches!(app.post_upload(&as_html, &jpeg(100)).await, Err(Refusal::ConditionFailed(_))));
    let beyond = jpeg(MAX_RECEIVED_BYTES as usize + 1);
    assert_eq!(app.post_upload(&form, &beyond).await, Err(Refusal::TooLarge), "the store's own limit");

    let back = app.post_upload(&form, &jpeg(1000)).await.expect("taken");
    let followed = app.page_get(&back, &other).await;
    assert_eq!(followed.status, 422, "another mother following the address finds no file of hers");
    let theirs = app.call("GET", "/api/v1/drafts/antrag", Some(&app.other_mother()), None).await.1;
    assert_eq!(theirs["uploads"], json!([]));
    assert_eq!(app.page_get(&back, &cookie).await.location(), Some("/antrag/pruefen"), "hers is still there");
    assert_eq!(app.page_get(&back, &cookie).await.location(), Some("/antrag/pruefen"), "returning twice keeps it");
    assert_eq!(draft(&app).await["uploads"].as_array().map(Vec::len), Some(1));

    app.clock.advance(Duration::minutes(61));
    assert_eq!(app.post_upload(&form, &jpeg(1000)).await, Err(Refusal::Expired), "an hour at most");
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
        assert!(check.text().contains("href=\"/antrag/mutter?zurueck=pruefen#mother-address-street\""));
        assert!(check.text().contains("href=\"/antrag/mutter?zurueck=pruefen#mother-birth_place\""), "typed");
        assert!(!check.text().contains("#mother-given_names\""), "her name comes from her login");
        assert!(!check.text().contains("#mother-birth_date\""), "her birth date too");
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

#[tokio::test]
async fn what_her_account_states_is_shown_not_asked_and_a_forged_post_cannot_change_it() {
    let app = TestApp::new(drafts::router()).await;
    let cookie = with_account(&app);
    app.page_post("/antrag/antragsteller", &cookie, APPLICANT).await;
    for lang in Lang::ALL {
        let page = app.page_get("/antrag/mutter", &format!("{cookie}; lang={}", lang.code())).await;
        assert_eq!(page.status, 200, "{lang:?}");
        assert!(page.text().contains(text(lang, "antrag.account.heading")), "{lang:?}");
        assert!(page.text().contains("Sophia Beispiel") && page.text().contains("Muster"), "{lang:?}");
        assert!(page.text().contains(">Bremen<"), "her place of birth: {lang:?}");
        for input in ["given_names", "family_name", "birth_name", "birth_date.day", "birth_place"] {
            assert!(!asks(&page, &format!("mother.{input}")), "{input} is not asked again ({lang:?})");
        }
        // The address from her account, in inputs: she can correct it.
        assert!(page.text().contains("name=\"mother.address.street\" type=\"text\" value=\"Am Markt\""));
    }

    // What a browser never sends: the read-only values in the post. They are ignored.
    let forged = [
        ("mother.given_names", "Eva"),
        ("mother.family_name", "Fälscher"),
        ("mother.birth_name", "Anders"),
        ("mother.birth_date.day", "1"),
        ("mother.birth_date.month", "1"),
        ("mother.birth_date.year", "1980"),
        ("mother.birth_place", "Paris"),
        ("mother.address.street", "Deichstraße"),
        ("mother.address.house_number", "5"),
        ("mother.address.postcode", "28195"),
        ("mother.address.city", "Bremen"),
    ];
    let saved = app.page_post("/antrag/mutter", &cookie, &forged).await;
    assert_eq!(saved.location(), Some("/antrag/kind"));
    let mother = draft(&app).await["data"]["mother"].clone();
    assert_eq!(mother["given_names"], "Sophia");
    assert_eq!(mother["family_name"], "Beispiel");
    assert_eq!(mother["birth_name"], "Muster");
    assert_eq!(mother["birth_date"], "1994-05-02");
    assert_eq!(mother["birth_place"], "Bremen");
    assert_eq!(mother["address"]["street"], "Deichstraße", "the corrected address is saved");
    assert_eq!(mother["address"]["house_number"], "5");

    // What the page posts (the address only) is enough, and her correction is shown again.
    let address = [
        ("mother.address.street", "Deichstraße"),
        ("mother.address.house_number", "7"),
        ("mother.address.postcode", "28195"),
        ("mother.address.city", "Bremen"),
    ];
    assert_eq!(app.page_post("/antrag/mutter", &cookie, &address).await.location(), Some("/antrag/kind"));
    assert_eq!(draft(&app).await["data"]["mother"]["birth_date"], "1994-05-02");
    let again = app.page_get("/antrag/mutter", &cookie).await;
    assert!(again.text().contains("value=\"Deichstraße\"") && again.text().contains("value=\"7\""));

    // A problem of the address is shown as ever, her account's values stay read-only.
    let refused = app.page_post("/antrag/mutter", &cookie, &with(&address, "mother.address.postcode", "20095")).await;
    assert_eq!(refused.status, 422);
    assert!(refused.text().contains("Sophia Beispiel") && !asks(&refused, "mother.given_names"));
}

#[tokio::test]
async fn a_representative_types_the_mothers_data_as_before() {
    let app = TestApp::new(drafts::router()).await;
    let cookie = with_account(&app);
    let representative = [
        ("applicant.role", "representative"),
        ("applicant.representative.given_names", "Sophia"),
        ("applicant.representative.family_name", "Beispiel"),
    ];
    app.page_post("/antrag/antragsteller", &cookie, &representative).await;
    let page = app.page_get("/antrag/mutter", &cookie).await;
    assert!(!page.text().contains("Aus Ihrem BundID-Konto"));
    for input in ["given_names", "family_name", "birth_name", "birth_date.day", "birth_place", "address.street"] {
        assert!(asks(&page, &format!("mother.{input}")), "{input} is asked");
    }
    let lena = with(&with(MOTHER, "mother.given_names", "Lena"), "mother.family_name", "Muster");
    let lena = with(&lena, "mother.birth_date.year", "1990");
    assert_eq!(app.page_post("/antrag/mutter", &cookie, &lena).await.location(), Some("/antrag/kind"));
    let mother = draft(&app).await["data"]["mother"].clone();
    assert_eq!((mother["given_names"].as_str(), mother["birth_date"].as_str()), (Some("Lena"), Some("1990-05-02")));
    for (step, form) in [("kind", CHILD), ("zustellung", DELIVERY)] {
        app.page_post(&format!("/antrag/{step}"), &cookie, form).await;
    }
    let check = app.page_get("/antrag/pruefen", &cookie).await;
    for field in ["given_names", "birth_date", "birth_place", "address-street"] {
        assert!(check.text().contains(&format!("#mother-{field}\"")), "{field} can be changed");
    }

    // She turns out to apply for herself: the mother's data are hers, from her account.
    app.page_post("/antrag/antragsteller", &cookie, APPLICANT).await;
    let mother = draft(&app).await["data"]["mother"].clone();
    assert_eq!((mother["given_names"].as_str(), mother["birth_date"].as_str()), (Some("Sophia"), Some("1994-05-02")));
}

#[tokio::test]
async fn the_check_page_offers_no_change_for_what_her_account_states() {
    let app = TestApp::new(drafts::router()).await;
    let cookie = with_account(&app);
    let address = &MOTHER[6..];
    for (step, form) in [("antragsteller", APPLICANT), ("mutter", address), ("kind", CHILD), ("zustellung", DELIVERY)] {
        assert_eq!(app.page_post(&format!("/antrag/{step}"), &cookie, form).await.status, 303, "{step}");
    }
    for lang in Lang::ALL {
        let check = app.page_get("/antrag/pruefen", &format!("{cookie}; lang={}", lang.code())).await;
        assert_eq!(check.status, 200);
        assert!(check.text().contains("Sophia Beispiel") && check.text().contains("Muster"));
        for field in ["given_names", "birth_name", "birth_date", "birth_place"] {
            assert!(!check.text().contains(&format!("#mother-{field}\"")), "{field}: {lang:?}");
        }
        assert!(check.text().contains("href=\"/antrag/mutter?zurueck=pruefen#mother-address-street\""));
        assert!(check.text().contains("href=\"/antrag/kind?zurueck=pruefen#child-given_names\""));
    }
}

#[tokio::test]
async fn every_step_says_until_when_she_is_signed_in() {
    let app = TestApp::new(drafts::router()).await;
    let issued_at = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let cookie = signed_in(&app, issued_at, Duration::minutes(90));
    let until = issued_at + Duration::minutes(90);
    let notice = |lang| {
        shared::web::fill(lang, "antrag.session_until", &[("time", &shared::web::format_date_time(lang, until))])
    };
    for lang in Lang::ALL {
        let first = app.page_get("/antrag/antragsteller", &format!("{cookie}; lang={}", lang.code())).await;
        assert!(first.text().contains(&notice(lang)), "{lang:?}: {}", notice(lang));
    }
    for (step, form) in
        [("antragsteller", APPLICANT), ("mutter", &MOTHER[6..]), ("kind", CHILD), ("zustellung", DELIVERY)]
    {
        app.page_post(&format!("/antrag/{step}"), &cookie, form).await;
        let page = app.page_get(&format!("/antrag/{step}"), &cookie).await;
        assert!(page.text().contains(&notice(Lang::De)), "{step}");
        assert!(page.text().contains("Ihr Antrag ist gespeichert bis zum"), "{step}");
    }
    assert!(app.page_get("/antrag/pruefen", &cookie).await.text().contains(&notice(Lang::De)));
    require_birth_certificate(&app).await;
    assert!(app.page_get("/antrag/nachweise", &cookie).await.text().contains(&notice(Lang::De)));
}

#[tokio::test]
async fn after_her_session_ends_she_signs_in_again_and_continues_where_she_was() {
    let app = TestApp::new(drafts::router()).await;
    let two_hours_ago = OffsetDateTime::now_utc() - Duration::hours(2);
    let ended = signed_in(&app, two_hours_ago, Duration::hours(1));
    // Her session back then: she saved the first two steps.
    let earlier = signed_in(&app, OffsetDateTime::now_utc(), Duration::hours(1));
    app.page_post("/antrag/antragsteller", &earlier, APPLICANT).await;
    let corrected = with(&MOTHER[6..], "mother.address.street", "Deichstraße");
    assert_eq!(app.page_post("/antrag/mutter", &earlier, &corrected).await.location(), Some("/antrag/kind"));
    app.clock.advance(Duration::hours(2));

    // The session has ended: the step she was on sends her to the login and back to it.
    let shown = app.page_get("/antrag/kind", &ended).await;
    assert_eq!(shown.status, 303);
    assert_eq!(shown.location(), Some("/anmelden?next=%2Fantrag%2Fkind"));
    let headers = [
        ("cookie", ended.as_str()),
        ("sec-fetch-site", "same-origin"),
        ("host", "sorgeregister.example"),
        ("referer", "https://sorgeregister.example/antrag/mutter?zurueck=pruefen"),
    ];
    let form = Some(("application/x-www-form-urlencoded", b"mother.address.house_number=3".to_vec()));
    let posted = app.page_send("POST", "/antrag/mutter", &headers, form.clone()).await;
    assert_eq!(posted.location(), Some("/anmelden?next=%2Fantrag%2Fmutter%3Fzurueck%3Dpruefen"), "the page she was on");
    let elsewhere = [headers[0], headers[1], headers[2], ("referer", "https://elsewhere.example/antrag/mutter")];
    let posted = app.page_send("POST", "/antrag/mutter", &elsewhere, form).await;
    assert_eq!(posted.location(), Some("/anmelden?next=%2Fantrag"), "another site's page is not followed");
    assert_eq!(draft(&app).await["data"]["mother"]["address"]["house_number"], "1", "nothing saved without her");

    // Signed in again (a new session): the step with her draft.
    let again = signed_in(&app, OffsetDateTime::now_utc(), Duration::hours(1));
    let child = app.page_get("/antrag/kind", &again).await;
    assert_eq!(child.status, 200);
    assert!(child.text().contains("Schritt 3 von 4"));
    assert_eq!(app.page_get("/antrag", &again).await.location(), Some("/antrag/kind"), "she resumes there");
    let mother = app.page_get("/antrag/mutter?zurueck=pruefen", &again).await;
    assert!(mother.text().contains("value=\"Deichstraße\""), "what she saved is there");
}

/// Fills in applicant and mother, then posts the child step with `birth_place`.
async fn child_born_in(app: &TestApp, cookie: &str, birth_place: &'static str) -> PageResponse {
    app.page_post("/antrag/antragsteller", cookie, APPLICANT).await;
    app.page_post("/antrag/mutter", cookie, MOTHER).await;
    app.page_post("/antrag/kind", cookie, &with(CHILD, "child.birth_place", birth_place)).await
}

#[tokio::test]
async fn a_birth_place_that_names_one_municipality_is_keyed_at_once() {
    let app = TestApp::new(drafts::router()).await;
    let cookie = session(&app.mother());
    let saved = child_born_in(&app, &cookie, "Cuxhaven").await;
    assert_eq!(saved.location(), Some("/antrag/zustellung"));
    assert_eq!(draft(&app).await["data"]["child"]["birth_municipality"], "03352011");
    assert_eq!(draft(&app).await["data"]["child"]["birth_place"], "Cuxhaven", "as she wrote it");
}

#[tokio::test]
async fn a_repeated_name_leads_to_the_results_page_where_she_picks_her_town() {
    let app = TestApp::new(drafts::router()).await;
    let cookie = session(&app.mother());
    let saved = child_born_in(&app, &cookie, "Neustadt").await;
    assert_eq!(saved.location(), Some("/antrag/geburtsort"));
    assert!(draft(&app).await["data"]["child"].get("birth_municipality").is_none(), "nothing guessed");
    let results = app.page_get("/antrag/geburtsort", &cookie).await;
    assert_eq!(results.status, 200);
    let html = results.text();
    assert!(html.contains("Neustadt in Holstein, Stadt — Ostholstein, Schleswig-Holstein"), "with Kreis and Land");
    assert!(html.contains("Neustadt a.d.Donau, St — Kelheim, Bayern"));
    assert!(html.contains("value=\"none\""), "or: not in the list");
    // Resuming the form comes back here until she picked one.
    assert_eq!(app.page_get("/antrag", &cookie).await.location(), Some("/antrag/geburtsort"));

    let nothing = app.page_post("/antrag/geburtsort", &cookie, &[]).await;
    assert_eq!(nothing.status, 422, "she has to choose");
    let forged = app.page_post("/antrag/geburtsort", &cookie, &[("child.birth_municipality", "99999999")]).await;
    assert_eq!(forged.status, 422, "no key the directory does not know");
    let picked = app.page_post("/antrag/geburtsort", &cookie, &[("child.birth_municipality", "01055032")]).await;
    assert_eq!(picked.location(), Some("/antrag/zustellung"));
    let data = draft(&app).await["data"].clone();
    assert_eq!(
        (data["child"]["birth_place"].as_str(), data["child"]["birth_municipality"].as_str()),
        (Some("Neustadt"), Some("01055032"))
    );

    // Saving the child step again with the same place shows her choice again to confirm.
    let again = app.page_post("/antrag/kind", &cookie, &with(CHILD, "child.birth_place", "Neustadt")).await;
    assert_eq!(again.location(), Some("/antrag/geburtsort"));
    assert_eq!(draft(&app).await["data"]["child"]["birth_municipality"], "01055032");
    let confirm = app.page_get("/antrag/geburtsort", &cookie).await;
    assert!(confirm.text().contains("value=\"01055032\" checked"), "her choice is preselected");
    let other = app.page_post("/antrag/kind", &cookie, &with(CHILD, "child.birth_place", "Frankfurt")).await;
    assert_eq!(other.location(), Some("/antrag/geburtsort"));
}

#[tokio::test]
async fn a_place_not_in_the_directory_can_be_searched_again_or_kept_as_written() {
    let app = TestApp::new(drafts::router()).await;
    let cookie = session(&app.mother());
    assert_eq!(child_born_in(&app, &cookie, "Bremen-Vegesack").await.location(), Some("/antrag/geburtsort"));
    let results = app.page_get("/antrag/geburtsort", &cookie).await;
    assert!(results.text().contains("nicht gefunden"));
    assert!(results.text().contains("Bremen, Stadt — Bremen"), "its first word finds Bremen");
    let searched = app.page_get("/antrag/geburtsort?suche=Cuxhaven", &cookie).await;
    assert!(searched.text().contains("Cuxhaven, Stadt — Cuxhaven, Niedersachsen"));
    let kept = app.page_post("/antrag/geburtsort", &cookie, &[("child.birth_municipality", "none")]).await;
    assert_eq!(kept.location(), Some("/antrag/zustellung"));
    assert!(draft(&app).await["data"]["child"]["birth_municipality"].is_null(), "not in the directory: review");
    app.page_post("/antrag/zustellung", &cookie, DELIVERY).await;
    let check = app.page_get("/antrag/pruefen", &cookie).await.text();
    assert!(check.contains("Bremen-Vegesack") && check.contains("nicht im Gemeindeverzeichnis gefunden"), "{check}");
}

#[tokio::test]
async fn a_postcode_across_two_offices_asks_her_municipality_on_the_mother_step() {
    use shared::testing::office;
    let app = TestApp::new(drafts::router()).await;
    app.put_office(&office("jugendamt-harz", "38820", "Harz", &["15085110"])).await;
    app.put_office(&office("jugendamt-msh", "06526", "Mansfeld-Südharz", &["15087220"])).await;
    let cookie = session(&app.mother());
    app.page_post("/antrag/antragsteller", &cookie, APPLICANT).await;
    let asked = app.page_post("/antrag/mutter", &cookie, &with(MOTHER, "mother.address.postcode", "06333")).await;
    assert_eq!(asked.status, 422);
    assert!(asks(&asked, "mother.address.municipality"));
    assert!(asked.text().contains("Hettstedt, Stadt — Mansfeld-Südharz, Sachsen-Anhalt"));
    let mut chosen = with(MOTHER, "mother.address.postcode", "06333");
    chosen.push(("mother.address.municipality", "15087220"));
    let saved = app.page_post("/antrag/mutter", &cookie, &chosen).await;
    assert_eq!(saved.location(), Some("/antrag/kind"));
    assert_eq!(draft(&app).await["data"]["mother"]["address"]["municipality"], "15087220");
    // A postcode of one office needs no municipality: a stale choice is dropped.
    let mut moved = MOTHER.to_vec();
    moved.push(("mother.address.municipality", "15087220"));
    app.page_post("/antrag/mutter", &cookie, &moved).await;
    assert!(draft(&app).await["data"]["mother"]["address"].get("municipality").is_none());
}

#[tokio::test]
async fn her_address_for_news_is_offered_from_her_account_checked_and_can_be_left_out() {
    let app = TestApp::new(drafts::router()).await;
    let mut account = account();
    account["email"] = json!("sophia.beispiel@example.org");
    let cookie = session(&app.citizen_token(
        account,
        OffsetDateTime::now_utc().replace_nanosecond(0).unwrap(),
        Duration::hours(1),
    ));
    for (step, form) in [("antragsteller", APPLICANT), ("mutter", MOTHER), ("kind", CHILD)] {
        app.page_post(&format!("/antrag/{step}"), &cookie, form).await;
    }
    let delivery = app.page_get("/antrag/zustellung", &cookie).await;
    let html = delivery.text();
    assert!(html.contains("name=\"contact.email\" type=\"email\" value=\"sophia.beispiel@example.org\""), "{html}");
    assert!(html.contains("autocomplete=\"email\""));

    for hostile in ["sophia", "sophia@example.org\r\nBcc: all@example.org", "<script>@x.de"] {
        let refused = app.page_post("/antrag/zustellung", &cookie, &with(DELIVERY, "contact.email", hostile)).await;
        assert_eq!(refused.status, 422, "{hostile:?}");
        assert!(refused.text().contains(text(Lang::De, "problem.email_format")), "a clear field error");
        assert!(refused.text().contains("href=\"#contact-email\""), "the summary links to the field");
        assert!(!refused.text().contains("<script>@"), "escaped, as every value");
    }
    assert_eq!(draft(&app).await["data"].get("contact"), None, "nothing half-saved");

    let kept =
        app.page_post("/antrag/zustellung", &cookie, &with(DELIVERY, "contact.email", " lena@example.org ")).await;
    assert_eq!(kept.status, 303);
    assert_eq!(draft(&app).await["data"]["contact"]["email"], "lena@example.org");
    let check = app.page_get("/antrag/pruefen", &cookie).await;
    assert!(check.text().contains("lena@example.org"), "on the check page, with a change link");
    assert!(check.text().contains("href=\"/antrag/zustellung?zurueck=pruefen#contact-email\""));

    // Emptied, she gets no mail; the field stays empty rather than offering her account's again.
    let without: Vec<_> = DELIVERY.iter().copied().filter(|(name, _)| *name != "contact.email").collect();
    assert_eq!(app.page_post("/antrag/zustellung", &cookie, &without).await.status, 303);
    assert_eq!(draft(&app).await["data"]["contact"], json!({}));
    assert!(!app.page_get("/antrag/zustellung", &cookie).await.text().contains("sophia.beispiel@example.org"));
    assert!(app.page_get("/antrag/pruefen", &cookie).await.text().contains(text(Lang::De, "antrag.contact.none")));
}
