//! Mail feedback: Amazon SES reports, through SNS, that her address bounced for good or that
//! she marked a mail as spam. The report is recorded on the request the mail was tagged with
//! (`shared::mail::REQUEST_TAG`): the office sees "Benachrichtigung nicht zustellbar", and the
//! notify step sends no further mail about that request. The request itself never waits for a
//! mail.

use serde_json::Value;
use shared::domain::notice::Feedback;
use shared::ports::StoreError;
use shared::records::{self, NoticeRecord};
use shared::services::Services;

/// One report worth recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub request_id: String,
    pub feedback: Feedback,
    /// The notice key of the report (from SES's feedback id).
    pub key: String,
    /// The addresses it is about, as SES names them.
    pub recipients: Vec<String>,
}

impl Report {
    /// Whether it is about `address`: a report that arrives after she gave another address
    /// says nothing about the new one.
    pub fn concerns(&self, address: &str) -> bool {
        self.recipients.iter().any(|recipient| recipient.eq_ignore_ascii_case(address))
    }
}

/// The report in an SES notification, in either shape SES sends: event publishing through a
/// configuration set (`eventType`) or identity notifications (`notificationType`). Transient
/// bounces (SES has retried already), deliveries and other events, and mails without a request
/// tag (or with a malformed one) are nothing to record: `None`.
pub fn report_of(message: &Value) -> Option<Report> {
    let kind = message.get("eventType").or_else(|| message.get("notificationType"))?.as_str()?;
    let (feedback, details, recipients) = match kind {
        "Bounce" => {
            let bounce = message.get("bounce")?;
            (bounce.get("bounceType")?.as_str()? == "Permanent").then_some((
                Feedback::Bounce,
                bounce,
                "bouncedRecipients",
            ))?
        }
        "Complaint" => (Feedback::Complaint, message.get("complaint")?, "complainedRecipients"),
        _ => return None,
    };
    let key = Feedback::key(details.get("feedbackId")?.as_str()?)?;
    let recipients = details
        .get(recipients)?
        .as_array()?
        .iter()
        .filter_map(|recipient| Some(recipient.get("emailAddress")?.as_str()?.to_owned()))
        .collect();
    let request_id = message.pointer("/mail/tags/request/0")?.as_str()?;
    let plain = !request_id.is_empty()
        && request_id.len() <= 64
        && request_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    plain.then(|| Report { request_id: request_id.to_owned(), feedback, key, recipients })
}

/// Records the report in `message` (an SNS message body) on its request, once however often it
/// comes. A message that is not an SES report, or names no request we hold, is logged and
/// dropped; only a failing store is an error (Lambda retries it, then its dead-letter queue).
pub async fn handle(services: &Services, message: &str) -> Result<(), StoreError> {
    let Some(report) = serde_json::from_str::<Value>(message).ok().as_ref().and_then(report_of) else {
        tracing::info!("notification without a report to record");
        return Ok(());
    };
    let store = &*services.store;
    let Some(request) = records::request(store, &report.request_id).await? else {
        tracing::info!(request_id = %report.request_id, "report about a request we do not hold");
        return Ok(());
    };
    let address = request.value.application.contact.email;
    if !address.is_some_and(|address| report.concerns(address.as_str())) {
        tracing::info!(request_id = %report.request_id, "report about an address she no longer gives");
        return Ok(());
    }
    let record = NoticeRecord { news: report.feedback.code().into(), at: services.clock.now(), delivered: false };
    records::record_notice(store, &report.request_id, &report.key, &record).await?;
    tracing::warn!(request_id = %report.request_id, feedback = report.feedback.code(), "mail not deliverable");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bounce(kind: &str) -> Value {
        json!({
            "eventType": "Bounce",
            "bounce": {"bounceType": kind, "feedbackId": "0102018c-1f2e", "bouncedRecipients": [{"emailAddress": "x@example.org"}]},
            "mail": {"messageId": "m1", "tags": {"request": ["0d9c1f4e-6b1a-4f5e-9a77-3c2b8e5d1a10"], "ses:configuration-set": ["s-mail"]}}
        })
    }

    #[test]
    fn permanent_bounces_and_complaints_are_reports_on_the_tagged_request() {
        let report = report_of(&bounce("Permanent")).unwrap();
        assert_eq!(report.request_id, "0d9c1f4e-6b1a-4f5e-9a77-3c2b8e5d1a10");
        assert_eq!((report.feedback, report.key.as_str()), (Feedback::Bounce, "feedback:0102018c-1f2e"));
        assert!(report.concerns("X@example.org") && !report.concerns("y@example.org"));
        let complaint = json!({
            "notificationType": "Complaint",
            "complaint": {"feedbackId": "c-1", "complainedRecipients": [{"emailAddress": "x@example.org"}]},
            "mail": {"tags": {"request": ["r-1"]}}
        });
        assert_eq!(report_of(&complaint).unwrap().feedback, Feedback::Complaint);
    }

    #[test]
    fn anything_else_is_nothing_to_record() {
        assert_eq!(report_of(&bounce("Transient")), None, "SES retried already");
        let mut untagged = bounce("Permanent");
        untagged["mail"]["tags"] = json!({});
        assert_eq!(report_of(&untagged), None);
        for hostile in ["REQUEST#x", "a/b", "", "x#NOTICE"] {
            let mut message = bounce("Permanent");
            message["mail"]["tags"]["request"] = json!([hostile]);
            assert_eq!(report_of(&message), None, "{hostile:?}");
        }
        assert_eq!(report_of(&json!({"eventType": "Delivery", "mail": {}})), None);
        assert_eq!(report_of(&json!("Bounce")), None);
    }
}
