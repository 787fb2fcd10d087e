//! Notify (a queue step beside the chain): tells the mother by mail that her request has news,
//! never what it is. Whoever changes a request hands it on here (`shared::steps::tell_her`);
//! the step reads the news from the request itself (`shared::domain::notice`), so each piece
//! goes out once however often the step runs, and a lost hand-on is caught up by the next.
//! A mail that cannot be sent never holds the request up. Beside the step, the daily
//! [`DraftReminders`] tell her that a draft she gave an address in is about to be deleted.

use std::sync::Arc;

use async_trait::async_trait;
use shared::domain::notice::{Feedback, Notice, news_of};
use shared::domain::office::Office;
use shared::domain::request::Request;
use shared::domain::values::EmailAddress;
use shared::ports::{Mail, MailError, Mailer, QueueName};
use shared::records::{self, DraftReminder, NoticeRecord, Versioned};
use shared::services::Services;
use shared::steps::{Step, StepError};
use shared::texts::Lang;
use shared::web::templates::{fill, translate};
use time::Date;

pub struct NotifyStep {
    services: Services,
    mailer: Arc<dyn Mailer>,
    composer: Composer,
}

impl NotifyStep {
    pub fn new(services: Services, mailer: Arc<dyn Mailer>, public_base_url: impl Into<String>) -> Self {
        Self { services, mailer, composer: Composer::new(public_base_url.into()) }
    }
}

#[async_trait]
impl Step for NotifyStep {
    fn queue(&self) -> QueueName {
        QueueName::Notify
    }

    fn name(&self) -> &'static str {
        "notify"
    }

    fn fails_request(&self) -> bool {
        false
    }

    async fn run(&self, Versioned { value: request, .. }: Versioned<Request>) -> Result<(), StepError> {
        let store = &*self.services.store;
        let request_id = &request.id;
        let Some(to) = request.application.contact.mail_to().cloned() else { return Ok(()) };
        let told = records::notices(store, request_id).await?;
        if told.values().any(|record| Feedback::is_feedback(&record.news)) {
            // Her address bounced for good, or she called our mail spam: the status page only.
            return Ok(());
        }
        let messages = records::messages(store, request_id).await?;
        let due: Vec<Notice> =
            news_of(&request, &messages).into_iter().filter(|notice| !told.contains_key(&notice.key)).collect();
        if due.is_empty() {
            return Ok(());
        }
        let directory = self.services.directory.get().await?;
        let office = directory
            .get(&request.office_id)
            .ok_or_else(|| StepError::Failed(format!("issuing office {} is unknown", request.office_id)))?;
        for notice in due {
            let mail = self.composer.compose(&notice, &request, office, &to)?;
            let delivered = match self.mailer.send(&mail).await {
                Ok(()) => true,
                // Her address will not take it: recorded, for the office to see; no retries.
                Err(MailError::Refused(reason)) => {
                    tracing::warn!(%request_id, notice = %notice.key, %reason, "mail refused");
                    false
                }
                // Delivered again later; what went out before is recorded and not sent twice.
                Err(error @ MailError::Unavailable(_)) => return Err(StepError::Failed(error.to_string())),
            };
            let record = NoticeRecord { news: notice.news.code().into(), at: self.services.clock.now(), delivered };
            records::record_notice(store, request_id, &notice.key, &record).await?;
            tracing::info!(%request_id, notice = %notice.key, delivered, "she was told");
        }
        Ok(())
    }
}

/// Writes the mails: the catalogue's texts in her language, plain text and HTML from the same
/// context (the HTML auto-escaped), with her status page's address and her office's contact.
struct Composer {
    templates: minijinja::Environment<'static>,
    public_base_url: String,
}

/// What one mail says: which news (`notice.<news>.*` in the catalogue), in which language,
/// and what goes with it.
struct Letter<'a> {
    news: &'a str,
    lang: Lang,
    /// The request's reference, where the mail is about one.
    reference: Option<&'a str>,
    /// The page she is sent to (a path of the service).
    path: String,
    office: Option<&'a Office>,
    /// A day the text names (`{date}`).
    date: Option<String>,
}

impl Composer {
    fn new(public_base_url: String) -> Composer {
        let mut templates = minijinja::Environment::new();
        templates.add_function("t", translate);
        for (name, source) in [
            ("notice.txt", include_str!("../templates/notice.txt")),
            ("notice.html", include_str!("../templates/notice.html")),
        ] {
            templates.add_template(name, source).unwrap_or_else(|e| panic!("template {name}: {e:#}"));
        }
        Composer { templates, public_base_url }
    }

    /// The mail of one piece of news about `request`.
    fn compose(
        &self,
        notice: &Notice,
        request: &Request,
        office: &Office,
        to: &EmailAddress,
    ) -> Result<Mail, StepError> {
        let reference = request.id.as_str();
        let letter = Letter {
            news: notice.news.code(),
            lang: request.application.contact.language,
            reference: Some(reference),
            path: format!("/antraege/{reference}"),
            office: Some(office),
            date: None,
        };
        let (subject, text, html) = self.write(&letter)?;
        Ok(Mail {
            id: format!("{reference}.{}", notice.key.replace(':', ".")),
            request_id: Some(request.id.clone()),
            to: to.clone(),
            account: request.login.subject.clone(),
            subject,
            text,
            html,
        })
    }

    /// Subject, plain text and HTML of `letter`.
    fn write(&self, letter: &Letter) -> Result<(String, String, String), StepError> {
        let lang = letter.lang;
        let date = letter.date.as_deref().unwrap_or_default();
        let subject = fill(
            lang,
            &format!("notice.{}.subject", letter.news),
            &[("reference", letter.reference.unwrap_or_default()), ("date", date)],
        );
        let context = minijinja::context! {
            lang => lang.code(),
            lang_tag => lang.tag(),
            news => letter.news,
            subject => &subject,
            reference => letter.reference,
            date,
            link => format!("{}{}", self.public_base_url.trim_end_matches('/'), letter.path),
            office => letter.office.map(|office| minijinja::context! {
                name => &office.name,
                phone => &office.phone,
                email => &office.email,
                opening_hours => &office.opening_hours,
            }),
        };
        let render = |name: &str| {
            self.templates
                .get_template(name)
                .and_then(|template| template.render(&context))
                .map_err(|error| StepError::Failed(format!("mail template {name}: {error:#}")))
        };
        Ok((subject.clone(), render("notice.txt")?, render("notice.html")?))
    }
}

/// The reminders of drafts about to expire (a daily job beside the step): each mother whose
/// draft is deleted in three days, and who gave an address for mail in it, is told so once,
/// with the day and the link to the form; nothing of what the draft holds.
pub struct DraftReminders {
    services: Services,
    mailer: Arc<dyn Mailer>,
    composer: Composer,
}

/// Reminders read a page at a time.
const REMINDER_PAGE: usize = 100;

impl DraftReminders {
    pub fn new(services: Services, mailer: Arc<dyn Mailer>, public_base_url: impl Into<String>) -> Self {
        Self { services, mailer, composer: Composer::new(public_base_url.into()) }
    }

    /// Sends the reminders due today, and those of the two days before that failed runs left
    /// (the mail names the day, so it is right whenever it goes out before it). Returns how
    /// many were sent; a mail service that is down fails the run, which a later one catches
    /// up on.
    pub async fn run(&self) -> Result<usize, StepError> {
        let today = shared::domain::values::today_in_germany(self.services.clock.now());
        let mut sent = 0;
        for day in [today - time::Duration::days(2), today - time::Duration::days(1), today] {
            let mut cursor = None;
            loop {
                let (due, next) =
                    records::draft_reminders_due(&*self.services.store, day, REMINDER_PAGE, cursor).await?;
                for reminder in &due {
                    sent += usize::from(self.remind(reminder, day).await?);
                }
                let Some(next) = next else { break };
                cursor = Some(next);
            }
        }
        tracing::info!(sent, "draft reminders");
        Ok(sent)
    }

    /// One reminder, unless the draft is gone (submitted, deleted), was saved again since (a
    /// later reminder is filed), has no address now, or she was reminded already.
    async fn remind(&self, reminder: &DraftReminder, day: Date) -> Result<bool, StepError> {
        let store = &*self.services.store;
        let Some(draft) = records::draft(store, &reminder.owner, &reminder.draft_id).await? else { return Ok(false) };
        let Some(to) = draft.reminder_address().filter(|_| draft.reminder_day() == day) else { return Ok(false) };
        if records::reminded(store, &reminder.owner, &draft).await? {
            return Ok(false);
        }
        let letter = Letter {
            news: "draft_expires",
            lang: reminder.lang,
            reference: None,
            path: "/antrag".into(),
            office: None,
            date: Some(shared::web::format_date(reminder.lang, draft.expiry_day())),
        };
        let (subject, text, html) = self.composer.write(&letter)?;
        let mail = Mail {
            id: draft.reminder_mail_id(&reminder.owner),
            request_id: None,
            to,
            account: reminder.owner.clone(),
            subject,
            text,
            html,
        };
        let delivered = match self.mailer.send(&mail).await {
            Ok(()) => true,
            Err(MailError::Refused(reason)) => {
                tracing::warn!(%reason, "reminder refused");
                false
            }
            Err(error @ MailError::Unavailable(_)) => return Err(StepError::Failed(error.to_string())),
        };
        let record = NoticeRecord { news: "draft_expires".into(), at: self.services.clock.now(), delivered };
        records::record_reminder(store, &reminder.owner, &draft, &record).await?;
        Ok(delivered)
    }
}
