//! Notify (a queue step beside the chain): tells the mother by mail that her request has news,
//! never what it is. Whoever changes a request hands it on here (`shared::steps::tell_her`);
//! the step reads the news from the request itself (`shared::domain::notice`), so each piece
//! goes out once however often the step runs, and a lost hand-on is caught up by the next.
//! A mail that cannot be sent never holds the request up.

use std::sync::Arc;

use async_trait::async_trait;
use shared::domain::notice::{Notice, news_of};
use shared::domain::office::Office;
use shared::domain::request::Request;
use shared::domain::values::EmailAddress;
use shared::ports::{Mail, MailError, Mailer, QueueName};
use shared::records::{self, NoticeRecord, Versioned};
use shared::services::Services;
use shared::steps::{Step, StepError, request_of_message};
use shared::texts::Lang;
use shared::web::templates::{fill, translate};

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

    async fn run(&self, request_id: &str) -> Result<(), StepError> {
        let store = &*self.services.store;
        let Some(Versioned { value: request, .. }) = request_of_message(store, request_id).await? else {
            return Ok(());
        };
        let Some(to) = request.application.contact.mail_to().cloned() else { return Ok(()) };
        let told = records::notices(store, request_id).await?;
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

    fn compose(
        &self,
        notice: &Notice,
        request: &Request,
        office: &Office,
        to: &EmailAddress,
    ) -> Result<Mail, StepError> {
        let lang: Lang = request.application.contact.language;
        let reference = request.id.as_str();
        let subject = fill(lang, &format!("notice.{}.subject", notice.news.code()), &[("reference", reference)]);
        let context = minijinja::context! {
            lang => lang.code(),
            lang_tag => lang.tag(),
            news => notice.news.code(),
            subject => &subject,
            reference,
            link => format!("{}/antraege/{reference}", self.public_base_url.trim_end_matches('/')),
            office => minijinja::context! {
                name => &office.name,
                phone => &office.phone,
                email => &office.email,
                opening_hours => &office.opening_hours,
            },
        };
        let render = |name: &str| {
            self.templates
                .get_template(name)
                .and_then(|template| template.render(&context))
                .map_err(|error| StepError::Failed(format!("mail template {name}: {error:#}")))
        };
        Ok(Mail {
            id: format!("{reference}.{}", notice.key.replace(':', ".")),
            to: to.clone(),
            account: request.login.subject.clone(),
            subject,
            text: render("notice.txt")?,
            html: render("notice.html")?,
        })
    }
}
