//! The mailers on lettre (feature `mail`): a mail as RFC 5322 text, the outbox folder of local
//! mode (one `.eml` file per mail, named by the mail's id, so a developer opens them and a
//! mail written twice is one file), SMTP for an office's own relay, and Amazon SES on AWS
//! (feature `ses`).

#[cfg(feature = "ses")]
mod ses;
#[cfg(feature = "ses")]
pub use ses::{REQUEST_TAG, Ses};

/// The mailer a function's environment names (feature `ses`): from `MAIL_FROM`, through the
/// relay `SMTP_URL` where one is given, else through SES with the configuration set
/// `MAIL_CONFIGURATION_SET`.
#[cfg(feature = "ses")]
pub fn from_env(aws: &aws_config::SdkConfig) -> Result<std::sync::Arc<dyn Mailer>, String> {
    use crate::aws::required_env;
    let from: Mailbox =
        required_env("MAIL_FROM").map_err(|e| e.to_string())?.parse().map_err(|e| format!("MAIL_FROM: {e}"))?;
    Ok(match std::env::var("SMTP_URL").ok().filter(|url| !url.is_empty()) {
        Some(url) => std::sync::Arc::new(Smtp::new(&url, from)?),
        None => {
            let configuration_set = required_env("MAIL_CONFIGURATION_SET").map_err(|e| e.to_string())?;
            std::sync::Arc::new(Ses::new(aws, from, configuration_set))
        }
    })
}

use std::path::PathBuf;

use async_trait::async_trait;
/// A sender: `Name <address>`.
pub use lettre::message::Mailbox;
use lettre::message::{MultiPart, header};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Message, Tokio1Executor};

use crate::ports::{Mail, MailError, Mailer};

/// The mail as a message from `from`: plain text and HTML as alternatives, marked as sent
/// automatically (RFC 3834), so that mail servers send no vacation replies back.
pub fn message(mail: &Mail, from: &Mailbox) -> Result<Message, MailError> {
    let to: Mailbox = mail.to.as_str().parse().map_err(|e| MailError::Refused(format!("recipient: {e}")))?;
    let domain = from.email.domain();
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&mail.subject)
        .message_id(Some(format!("<{}@{domain}>", mail.id)))
        .header(AutoSubmitted)
        .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
        .map_err(|e| MailError::Refused(format!("message: {e}")))
}

/// `Auto-Submitted: auto-generated`.
#[derive(Clone)]
struct AutoSubmitted;

impl header::Header for AutoSubmitted {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }
    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// Local mode's mailer: `<dir>/<mail id>.eml`, written whole or not at all.
pub struct Outbox {
    dir: PathBuf,
    from: Mailbox,
}

impl Outbox {
    pub fn new(dir: impl Into<PathBuf>, from: Mailbox) -> Outbox {
        Outbox { dir: dir.into(), from }
    }
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let bytes = message(mail, &self.from)?.formatted();
        // The id is the notifier's (request id and notice key), but a file name takes no chances.
        let name: String =
            mail.id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        let (dir, path) = (self.dir.clone(), self.dir.join(format!("{name}.eml")));
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            let mut file = tempfile::NamedTempFile::new_in(&dir)?;
            std::io::Write::write_all(&mut file, &bytes)?;
            file.persist(path).map(|_| ()).map_err(|e| e.error)
        })
        .await
        .map_err(|e| MailError::Unavailable(e.to_string()))?
        .map_err(|e| MailError::Unavailable(format!("outbox: {e}")))
    }
}

/// An SMTP relay, given as a URL: `smtp://host:25` (plain, for a relay inside the office's
/// network), `smtp://host:587?tls=required` (STARTTLS), `smtps://user:password@host:465`.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Smtp {
    pub fn new(url: &str, from: Mailbox) -> Result<Smtp, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("SMTP URL: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        Ok(Smtp { transport, from })
    }
}

#[async_trait]
impl Mailer for Smtp {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = message(mail, &self.from)?;
        let error = match self.transport.send(message).await {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        // The reply's text may quote her address: logs and failure reasons get its code only.
        let reason = match error.status() {
            Some(code) => format!("SMTP reply {code}"),
            None if error.is_timeout() => "SMTP timeout".to_owned(),
            None => "SMTP connection failed".to_owned(),
        };
        // 5xx: the relay will never take this mail; anything else may pass later.
        Err(if error.is_permanent() { MailError::Refused(reason) } else { MailError::Unavailable(reason) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::values::EmailAddress;

    fn mail() -> Mail {
        Mail {
            id: "r1.status_issued".into(),
            request_id: Some("r1".into()),
            to: EmailAddress::parse("sophia.beispiel@example.org").unwrap(),
            account: "bundid-demo".into(),
            subject: "Neuigkeiten zu Ihrem Antrag r1 – Bescheinigung fertig".into(),
            text: "Guten Tag,\nIhre Bescheinigung ist fertig.".into(),
            html: "<p>Guten Tag,</p><p>Ihre Bescheinigung ist fertig.</p>".into(),
        }
    }

    fn from() -> Mailbox {
        "Sorgeregister online <noreply@sorgeregister.example>".parse().unwrap()
    }

    #[tokio::test]
    async fn the_outbox_keeps_one_rfc_5322_file_per_mail() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path().join("outbox"), from());
        outbox.send(&mail()).await.unwrap();
        outbox.send(&mail()).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox")).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(files.len(), 1, "the same mail twice is one file: {files:?}");
        assert_eq!(files[0].file_name().unwrap(), "r1_status_issued.eml");
        let eml = std::fs::read_to_string(&files[0]).unwrap();
        for header in [
            "From: \"Sorgeregister online\" <noreply@sorgeregister.example>",
            "To: sophia.beispiel@example.org",
            "Message-ID: <r1.status_issued@sorgeregister.example>",
            "Auto-Submitted: auto-generated",
            "Content-Type: multipart/alternative",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Type: text/html; charset=utf-8",
        ] {
            assert!(eml.contains(header), "{header} missing in\n{eml}");
        }
        // Non-ASCII in the subject becomes encoded words (RFC 2047): the headers are ASCII.
        let headers = eml.split("\r\n\r\n").next().unwrap();
        assert!(headers.is_ascii() && headers.contains("=?utf-8?b?4oCT?="), "{headers}");
    }
}
