//! The mother is told of news by mail: the chain with the notify step, mailing into the outbox
//! folder (local mode's mailer) or through SMTP to aiosmtpd, an independent server.

use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use shared::domain::request::Status;
use shared::mail::{Mailbox, Outbox, Smtp};
use shared::ports::Clock;
use shared::ports::{Mailer, QueueName};
use shared::records;
use shared::testing::{FORM, session};
use shared::texts::Lang;
use system_tests::chain::Chain;
use system_tests::saml_idp::free_port;
use system_tests::smtp::TestSmtp;
use time::Duration;

const HER_ADDRESS: &str = "sophia.beispiel@example.org";

fn from() -> Mailbox {
    "Sorgeregister online <noreply@sorgeregister.example>".parse().unwrap()
}

fn outbox_mails(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut mails: Vec<String> = entries.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect();
    mails.sort();
    mails
}

/// The mail's text part, with quoted-printable soft breaks undone.
fn body(mail: &str) -> String {
    mail.replace("=\r\n", "").replace("\r\n", "\n")
}

/// What a mail must never carry: the child's name and birth date, the PDF, custody facts.
fn assert_tells_nothing(mail: &str) {
    let text = body(mail);
    for forbidden in
        ["Mia", "2021-03-14", "14.03.2021", "14. März 2021", "application/pdf", "attachment", "Sorgerecht allein"]
    {
        assert!(!text.contains(forbidden), "{forbidden:?} in\n{text}");
    }
}

async fn with_contact(chain: &Chain, lang: &str) -> String {
    chain.submit_in(lang, &chain.app.mother(), &[("/contact", json!({"email": HER_ADDRESS}))]).await
}

#[tokio::test]
async fn each_piece_of_news_is_one_mail_in_her_language_with_the_link_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let chain = Chain::telling_her(Arc::new(Outbox::new(&outbox, from()))).await;
    let id = with_contact(&chain, "en").await;
    chain.run(false).await;
    assert_eq!(chain.request(&id).await.status, Status::Issued);

    let mails = outbox_mails(&outbox);
    assert_eq!(mails.len(), 2, "received, and the certificate ready: {mails:#?}");
    let link = format!("https://sorgeregister.example/antraege/{id}");
    for mail in &mails {
        let text = body(mail);
        assert!(text.contains(&format!("To: {HER_ADDRESS}")), "{text}");
        assert!(text.contains(&link), "her status page: {text}");
        assert!(text.contains(&format!("Your reference: {id}")), "in English: {text}");
        assert!(text.contains("Jugendamt Bremen") && text.contains("Phone: "), "the office's contact: {text}");
        assert!(!text.contains("Ihr Antrag"), "not in German: {text}");
        assert_tells_nothing(mail);
    }
    let subjects: Vec<&str> = mails.iter().filter_map(|m| m.lines().find(|l| l.starts_with("Subject: "))).collect();
    assert!(subjects.iter().any(|s| s.contains("Your request has been received")), "{subjects:?}");
    assert!(subjects.iter().any(|s| s.contains("Your certificate is ready")), "{subjects:?}");
}

/// A request waiting for a case worker (her login had no high trust level) with her address
/// for mail, its first mail (received) in the outbox folder of the directory; her token.
async fn in_review_with_her_address() -> (tempfile::TempDir, Chain, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let chain = Chain::telling_her(Arc::new(Outbox::new(&outbox, from()))).await;
    let basic = chain.app.citizen("sophia", "Sophia", "Beispiel", "1994-05-02", "STORK-QAA-Level-1");
    let id = chain.submit_in("de", &basic, &[("/contact", json!({"email": HER_ADDRESS}))]).await;
    chain.run(false).await;
    assert_eq!(chain.request(&id).await.status, Status::InReview);
    assert_eq!(outbox_mails(&outbox).len(), 1, "received");
    (dir, chain, basic, id)
}

/// The office writes her a message about request `id`.
async fn office_writes(chain: &Chain, id: &str, text: &str) {
    let staff = chain.app.staff("jugendamt-bremen");
    let uri = format!("/api/v1/staff/requests/{id}/messages");
    let (status, _) = chain.app.call("POST", &uri, Some(&staff), Some(json!({"text": text}))).await;
    assert_eq!(status, 201);
}

/// She gives `address` for request `id`; whether the office then sees her mail undeliverable.
async fn gives_address(chain: &Chain, token: &str, id: &str, address: &str) -> bool {
    let contact = json!({"email": address});
    let (status, _) =
        chain.app.call("PUT", &format!("/api/v1/requests/{id}/contact"), Some(token), Some(contact)).await;
    assert_eq!(status, 200);
    let staff = chain.app.staff("jugendamt-bremen");
    let (_, detail) = chain.app.call("GET", &format!("/api/v1/staff/requests/{id}"), Some(&staff), None).await;
    detail["mail_undeliverable"].as_bool().expect("the detail says")
}

#[tokio::test]
async fn the_offices_message_and_decision_are_news_but_never_their_text() {
    let (dir, chain, _, id) = in_review_with_her_address().await;
    let outbox = dir.path().join("outbox");

    let staff = chain.app.staff("jugendamt-bremen");
    let secret = "Im Register steht eine Sorgeerklärung vom 3. Mai 2022.";
    office_writes(&chain, &id, secret).await;
    let reason = "Für das Kind ist eine gemeinsame Sorge eingetragen.";
    let (status, _) = chain
        .app
        .call(
            "POST",
            &format!("/api/v1/staff/requests/{id}/decision"),
            Some(&staff),
            Some(json!({"outcome": "reject", "reason": reason})),
        )
        .await;
    assert_eq!(status, 200);
    chain.run(false).await;

    let mails = outbox_mails(&outbox);
    assert_eq!(mails.len(), 3, "received, the message, the decision: {mails:#?}");
    let all = mails.iter().map(|m| body(m)).collect::<String>();
    assert!(all.contains("Neue Nachricht zu Ihrem Antrag") && all.contains("Das Jugendamt hat entschieden"), "{all}");
    assert!(!all.contains("Sorgeerklärung") && !all.contains("gemeinsame Sorge"), "neither text nor reason: {all}");
    assert!(!all.to_lowercase().contains("abgelehnt"), "the outcome is for her status page: {all}");
    mails.iter().for_each(|m| assert_tells_nothing(m));
}

#[tokio::test]
async fn without_an_address_or_with_notifications_off_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let chain = Chain::telling_her(Arc::new(Outbox::new(&outbox, from()))).await;
    chain.submit(&chain.app.mother(), &[]).await;
    let off = json!({"email": HER_ADDRESS, "notifications": false});
    chain.submit(&chain.app.other_mother(), &[("/contact", off)]).await;
    chain.run(false).await;
    assert!(outbox_mails(&outbox).is_empty());
}

#[tokio::test]
async fn redelivered_news_over_smtp_is_sent_once_and_an_outage_delays_but_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let smtp: Arc<dyn Mailer> = Arc::new(Smtp::new(&format!("smtp://127.0.0.1:{port}"), from()).unwrap());
    let chain = Chain::telling_her(smtp).await;
    let id = with_contact(&chain, "de").await;

    // The relay is down: the request goes on regardless; the news waits in its queue.
    chain.run(false).await;
    let request = chain.request(&id).await;
    assert_eq!(request.status, Status::Issued, "a mail never holds the request up");
    assert!(request.failure.is_none());
    assert!(records::notices(&*chain.app.services.store, &id).await.unwrap().is_empty());

    // It is back; the messages come again once their visibility ends, every one twice.
    let server = TestSmtp::start(port, dir.path());
    chain.app.clock.advance(Duration::seconds(31));
    chain.run(true).await;
    for _ in 0..2 {
        chain.app.services.queue.send(QueueName::Notify, &json!({"request_id": id}).to_string()).await.unwrap();
    }
    chain.run(true).await;

    let mails = server.mails();
    assert_eq!(mails.len(), 2, "received and ready, each once: {mails:#?}");
    assert!(mails.iter().all(|m| m.contains(&format!("To: {HER_ADDRESS}"))));
    let told = records::notices(&*chain.app.services.store, &id).await.unwrap();
    assert_eq!(told.keys().map(String::as_str).collect::<Vec<_>>(), ["received", "status:issued"]);
    assert!(told.values().all(|record| record.delivered));
}

#[tokio::test]
async fn news_that_can_never_be_sent_ends_with_the_operators_not_on_her_request() {
    let port = free_port();
    let smtp: Arc<dyn Mailer> = Arc::new(Smtp::new(&format!("smtp://127.0.0.1:{port}"), from()).unwrap());
    let chain = Chain::telling_her(smtp).await;
    // Waiting for a case worker: still open when the news gives up.
    let basic = chain.app.citizen("sophia", "Sophia", "Beispiel", "1994-05-02", "STORK-QAA-Level-1");
    let id = chain.submit_in("de", &basic, &[("/contact", json!({"email": HER_ADDRESS}))]).await;
    for _ in 0..=system_tests::chain::MAX_RECEIVES {
        chain.run(false).await;
        chain.app.clock.advance(Duration::seconds(31));
    }
    let dead = chain.app.services.queue.dead_letters(QueueName::Notify).await.unwrap();
    assert!(!dead.is_empty(), "in the dead-letter queue, for operators to redrive");
    let request = chain.request(&id).await;
    assert_eq!((request.status, request.failure), (Status::InReview, None), "her request is not failed for a mail");
}

#[tokio::test]
async fn an_address_that_refuses_her_mail_is_shown_to_the_office_and_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = TestSmtp::start(port, dir.path());
    let smtp: Arc<dyn Mailer> = Arc::new(Smtp::new(&format!("smtp://127.0.0.1:{port}"), from()).unwrap());
    let chain = Chain::telling_her(smtp).await;
    let id = chain.submit(&chain.app.mother(), &[("/contact", json!({"email": "bounce@example.org"}))]).await;
    chain.run(false).await;

    assert!(server.mails().is_empty(), "the server refused it");
    let told = records::notices(&*chain.app.services.store, &id).await.unwrap();
    assert_eq!(told.len(), 2, "received and ready are recorded, as refused: {told:?}");
    assert!(told.values().all(|record| !record.delivered));
    assert!(chain.app.services.queue.dead_letters(QueueName::Notify).await.unwrap().is_empty(), "no retries");
    assert_eq!(chain.request(&id).await.status, Status::Issued);

    let staff = chain.app.staff("jugendamt-bremen");
    let (_, detail) = chain.app.call("GET", &format!("/api/v1/staff/requests/{id}"), Some(&staff), None).await;
    assert_eq!(detail["mail_undeliverable"], true, "{detail}");
    let page = chain.app.page_get(&format!("/amt/antraege/{id}"), &shared::testing::staff_session(&staff)).await;
    assert!(page.text().contains("Benachrichtigung nicht zustellbar"), "on the office's page");
    let other = chain.submit(&chain.app.other_mother(), &[]).await;
    let (_, detail) = chain.app.call("GET", &format!("/api/v1/staff/requests/{other}"), Some(&staff), None).await;
    assert_eq!(detail["mail_undeliverable"], false);
}

#[tokio::test]
async fn a_reported_bounce_is_shown_to_the_office_and_ends_her_mails_for_that_request() {
    let (dir, chain, basic, id) = in_review_with_her_address().await;
    let outbox = dir.path().join("outbox");

    // SES reports, through SNS, that the mail bounced for good (delivered twice, as SNS may).
    let report = json!({
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "feedbackId": "0102018c-feedback-1",
                   "bouncedRecipients": [{"emailAddress": HER_ADDRESS}]},
        "mail": {"tags": {"request": [id]}}
    })
    .to_string();
    for _ in 0..2 {
        mail_feedback::handle(&chain.app.services, &report).await.unwrap();
    }
    // A report about a request nobody holds, and one that is no report, change nothing.
    let stranger = report.replace(&id, "0d9c1f4e-0000-4000-8000-000000000000");
    mail_feedback::handle(&chain.app.services, &stranger).await.unwrap();
    mail_feedback::handle(&chain.app.services, "{not json").await.unwrap();
    // One about an address she no longer gives (she changed it before the report came).
    let old_address =
        report.replace("0102018c-feedback-1", "0102018c-feedback-2").replace(HER_ADDRESS, "alt@example.org");
    mail_feedback::handle(&chain.app.services, &old_address).await.unwrap();

    let staff = chain.app.staff("jugendamt-bremen");
    let (_, detail) = chain.app.call("GET", &format!("/api/v1/staff/requests/{id}"), Some(&staff), None).await;
    assert_eq!(detail["mail_undeliverable"], true, "{detail}");
    let told = records::notices(&*chain.app.services.store, &id).await.unwrap();
    assert_eq!(told.values().filter(|record| record.news == "bounce").count(), 1, "recorded once: {told:?}");
    let status_page = chain.app.page_get(&format!("/antraege/{id}"), &session(&basic)).await.text();
    assert!(status_page.contains("Unsere E-Mails an sophia.beispiel@example.org kommen nicht an."), "{status_page}");
    assert!(!status_page.contains("/benachrichtigungen"), "no switch that would promise mails");

    // The office writes: news on her status page, but no mail to an address that bounced.
    office_writes(&chain, &id, "Frage").await;
    chain.run(false).await;
    assert_eq!(outbox_mails(&outbox).len(), 1, "nothing more after the bounce");

    // The same address in other letters is not another one.
    assert!(gives_address(&chain, &basic, &id, "Sophia.Beispiel@Example.org").await, "still undeliverable");

    // She gives another address: the office no longer sees the warning, and news reaches her.
    assert!(!gives_address(&chain, &basic, &id, "sophia.neu@example.org").await, "deliverable again");
    office_writes(&chain, &id, "Noch eine").await;
    chain.run(false).await;
    let mails = outbox_mails(&outbox);
    let to_new = mails.iter().filter(|m| m.contains("To: sophia.neu@example.org")).count();
    assert_eq!((mails.len() - to_new, to_new > 0), (1, true), "only the first went to the old address: {mails:#?}");
}

/// The chain and the daily reminders, both mailing into the outbox folder of the directory.
async fn reminding() -> (tempfile::TempDir, Chain, notify::DraftReminders) {
    let dir = tempfile::tempdir().unwrap();
    let mailer = Arc::new(Outbox::new(dir.path().join("outbox"), from()));
    let chain = Chain::telling_her(mailer.clone()).await;
    let reminders = notify::DraftReminders::new(chain.app.services.clone(), mailer, "https://sorgeregister.example");
    (dir, chain, reminders)
}

/// Fills her web form in `lang` up to the check page (the last step holds her address).
async fn fill_form(chain: &Chain, token: &str, lang: &str, steps: usize) {
    let cookies = format!("{}; lang={lang}", session(token));
    for (step, form) in &FORM[..steps] {
        let saved = chain.app.page_post(&format!("/antrag/{step}"), &cookies, form).await;
        assert_eq!(saved.status, 303, "{step}: {}", saved.text());
    }
}

#[tokio::test]
async fn a_draft_about_to_be_deleted_is_reminded_once_in_her_language_and_only_while_it_waits() {
    let (dir, chain, reminders) = reminding().await;
    let outbox = dir.path().join("outbox");
    let app = &chain.app;
    fill_form(&chain, &app.mother(), "en", FORM.len()).await;
    // Without an address there is no one to remind; a draft she deletes is not reminded of.
    let no_address = app.other_mother();
    let deleted = app.citizen("marie", "Marie", "Muster", "1991-07-01", "STORK-QAA-Level-4");
    fill_form(&chain, &no_address, "de", FORM.len() - 1).await;
    fill_form(&chain, &deleted, "de", FORM.len()).await;
    let (status, _) = app.call("DELETE", "/api/v1/drafts/antrag", Some(&deleted), None).await;
    assert_eq!(status, 204);

    // Drafts are kept 30 days after the last save: the reminder goes out three days before.
    app.clock.advance(Duration::days(26));
    assert_eq!(reminders.run().await.unwrap(), 0, "not yet");
    app.clock.advance(Duration::days(1));
    assert_eq!(reminders.run().await.unwrap(), 1);
    assert_eq!(reminders.run().await.unwrap(), 0, "once, however often the job runs");
    app.clock.advance(Duration::days(1));
    assert_eq!(reminders.run().await.unwrap(), 0, "nor the next day, which also looks at the days before");

    let mails = outbox_mails(&outbox);
    assert_eq!(mails.len(), 1, "{mails:#?}");
    let text = body(&mails[0]);
    let expiry = shared::web::format_date(
        Lang::En,
        shared::domain::values::today_in_germany(app.clock.now()) + Duration::days(2),
    );
    assert!(text.contains(&format!("To: {HER_ADDRESS}")), "{text}");
    assert!(text.contains(&format!("Subject: Your unfinished request will be deleted on {expiry}")), "{text}");
    assert!(text.contains("https://sorgeregister.example/antrag"), "the link to her form: {text}");
    assert!(!text.contains("Ihr angefangener Antrag"), "in English, as she filled the form: {text}");
    assert_tells_nothing(&mails[0]);
    for entered in ["Am Markt", "28195", "1994"] {
        assert!(!text.contains(entered), "nothing of what the draft holds: {entered:?} in {text}");
    }
}

#[tokio::test]
async fn a_draft_saved_again_is_reminded_before_its_new_end_and_not_before_the_old() {
    let (dir, chain, reminders) = reminding().await;
    let outbox = dir.path().join("outbox");
    let app = &chain.app;
    fill_form(&chain, &app.mother(), "de", FORM.len()).await;
    app.clock.advance(Duration::days(10));
    fill_form(&chain, &app.mother(), "de", 1).await;
    app.clock.advance(Duration::days(17));
    assert_eq!(reminders.run().await.unwrap(), 0, "the first save's day has passed over");
    app.clock.advance(Duration::days(10));
    assert_eq!(reminders.run().await.unwrap(), 1, "three days before the new end");
    let text = body(&outbox_mails(&outbox)[0]);
    assert!(text.contains("Ihr angefangener Antrag wird am"), "{text}");
}

#[tokio::test]
async fn a_revoked_certificate_is_news_and_her_page_says_it_no_longer_counts() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let chain = Chain::telling_her(Arc::new(Outbox::new(&outbox, from()))).await;
    let id = with_contact(&chain, "de").await;
    chain.run(false).await;
    assert_eq!(outbox_mails(&outbox).len(), 2, "received and ready");

    let reason = "Nach der Ausstellung wurde eine Sorgeerklärung nachgetragen.";
    let supervisor = chain.app.supervisor("jugendamt-bremen");
    let revoke = format!("/api/v1/staff/requests/{id}/certificate/revoke");
    assert_eq!(chain.app.call("POST", &revoke, Some(&supervisor), Some(json!({"reason": reason}))).await.0, 200);
    chain.run(true).await;
    let mails = outbox_mails(&outbox);
    assert_eq!(mails.len(), 3, "one mail more, once though delivered twice");
    let told = mails.iter().find(|m| m.contains("Subject: Ihre Bescheinigung gilt nicht mehr")).expect("the news");
    assert!(!body(told).contains("Sorgeerkl"), "never the reason itself");
    assert_tells_nothing(told);

    let mother = chain.app.mother();
    let (_, status) = chain.app.call("GET", &format!("/api/v1/requests/{id}"), Some(&mother), None).await;
    assert_eq!(status["certificate"]["revocation_reason"], reason, "{status}");
    assert!(status["certificate"]["revoked_at"].is_string());
    let page = chain.app.page_get(&format!("/antraege/{id}"), &session(&mother)).await.text();
    assert!(page.contains("widerrufen. Sie gilt nicht mehr") && page.contains(reason), "{page}");
    assert!(!page.contains(&format!("/antraege/{id}/bescheinigung\"")), "no download of what proves nothing");
    let (status, _) = chain.app.call("GET", &format!("/api/v1/requests/{id}/certificate"), Some(&mother), None).await;
    assert_eq!(status, 404, "nor through the API");
    let page = chain.app.page_get(&format!("/antraege/{id}/bescheinigung"), &session(&mother)).await;
    assert_eq!(page.status, 404, "nor by its address");
}
