//! Amazon SES v2 (feature `ses`): the same RFC 5322 message as the other mailers, sent raw
//! through a configuration set whose event destination reports bounces and complaints; the mail
//! is tagged with its request, so that a report finds its way back (`functions/mail-feedback`).

use async_trait::async_trait;
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};

use super::{Mailbox, message};
use crate::ports::{Mail, MailError, Mailer};

/// The tag that names the request a mail is about.
pub const REQUEST_TAG: &str = "request";

pub struct Ses {
    client: aws_sdk_sesv2::Client,
    from: Mailbox,
    configuration_set: String,
}

impl Ses {
    pub fn new(config: &aws_config::SdkConfig, from: Mailbox, configuration_set: impl Into<String>) -> Ses {
        Ses { client: aws_sdk_sesv2::Client::new(config), from, configuration_set: configuration_set.into() }
    }
}

/// SES takes tag values of letters, digits, `_` and `-` only; request ids are the server's
/// UUIDs, anything else goes untagged rather than refused.
fn tag_value(value: &str) -> Option<&str> {
    let plain = !value.is_empty()
        && value.len() <= 256
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    plain.then_some(value)
}

#[async_trait]
impl Mailer for Ses {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let raw = RawMessage::builder()
            .data(Blob::new(message(mail, &self.from)?.formatted()))
            .build()
            .map_err(|e| MailError::Refused(format!("SES message: {e}")))?;
        let mut send = self
            .client
            .send_email()
            // The bare address: what an IAM condition on `ses:FromAddress` compares.
            .from_email_address(self.from.email.to_string())
            .destination(Destination::builder().to_addresses(mail.to.as_str()).build())
            .content(EmailContent::builder().raw(raw).build())
            .configuration_set_name(&self.configuration_set);
        if let Some(request) = mail.request_id.as_deref().and_then(tag_value) {
            let tag = MessageTag::builder()
                .name(REQUEST_TAG)
                .value(request)
                .build()
                .map_err(|e| MailError::Refused(format!("SES tag: {e}")))?;
            send = send.email_tags(tag);
        }
        let error = match send.send().await {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        // SES's messages may quote her address: reasons carry the error code only.
        let code = match (error.code(), error.raw_response()) {
            (Some(code), _) => code.to_owned(),
            (None, Some(response)) => format!("HTTP {}", response.status().as_u16()),
            (None, None) => "no answer".to_owned(),
        };
        Err(match error.into_service_error() {
            // SES will not take this mail, however often it is sent.
            SendEmailError::MessageRejected(_) => MailError::Refused(format!("SES {code}")),
            // Throttling, a paused account, a missing configuration set: for operators to see
            // (the message waits, then goes to the dead-letter queue), never her fault.
            _ => MailError::Unavailable(format!("SES {code}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::tag_value;

    #[test]
    fn only_plain_values_become_tags() {
        assert_eq!(tag_value("0d9c1f4e-6b1a-4f5e-9a77-3c2b8e5d1a10"), Some("0d9c1f4e-6b1a-4f5e-9a77-3c2b8e5d1a10"));
        for hostile in ["", "a b", "a.b", "ä", "x\r\ny", &"a".repeat(257)] {
            assert_eq!(tag_value(hostile), None, "{hostile:?}");
        }
    }
}
