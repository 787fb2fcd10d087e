//! What the mother is told by mail: that there is news about her request, never what it is.
//! The news is read from the request's state (its timeline and the office's messages), so
//! each piece has a stable key: telling her is idempotent per key, and a notice whose
//! trigger was lost goes out with the next one.

use super::application::Delivery;
use super::message::{Author, Message};
use super::request::{Request, Status};

/// A kind of news; each has its mail in the catalogue (`notice.<code>.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum News {
    /// The office has her request (with its reference).
    Received,
    /// The certificate is ready to download (full or partial).
    CertificateReady,
    /// The certificate went out by post.
    CertificatePosted,
    /// The office decided against a certificate.
    Rejected,
    /// The office wrote to her.
    OfficeWrote,
    /// The office asks her for a document.
    ProofRequested,
    /// The office revoked her certificate: it proves nothing any more.
    CertificateRevoked,
}

impl News {
    pub fn code(self) -> &'static str {
        match self {
            News::Received => "received",
            News::CertificateReady => "certificate_ready",
            News::CertificatePosted => "certificate_posted",
            News::Rejected => "rejected",
            News::OfficeWrote => "office_wrote",
            News::ProofRequested => "proof_requested",
            News::CertificateRevoked => "certificate_revoked",
        }
    }
}

/// What the mail service reports back about a mail it took: her address bounced for good, or
/// she marked the mail as spam. Either way no further mail about the request goes to her, and
/// the office sees that she learns of news only on her status page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feedback {
    Bounce,
    Complaint,
}

impl Feedback {
    pub fn code(self) -> &'static str {
        match self {
            Feedback::Bounce => "bounce",
            Feedback::Complaint => "complaint",
        }
    }

    /// Whether a record of what she was told (`NoticeRecord::news`) is such a report.
    pub fn is_feedback(code: &str) -> bool {
        [Feedback::Bounce, Feedback::Complaint].iter().any(|feedback| feedback.code() == code)
    }

    /// The notice key of one report (the service's feedback id): a report delivered twice is
    /// recorded once, and no news has such a key.
    pub fn key(feedback_id: &str) -> Option<String> {
        let plain = !feedback_id.is_empty()
            && feedback_id.len() <= 128
            && feedback_id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        plain.then(|| format!("feedback:{feedback_id}"))
    }
}

/// One piece of news about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub news: News,
    /// Unique within the request: `received`, `status:issued`, `message:<id>`.
    pub key: String,
}

/// Every piece of news the request holds so far, oldest first. Which of them she was told
/// already is the notifier's record, not the request's.
pub fn news_of(request: &Request, messages: &[Message]) -> Vec<Notice> {
    let mut notices = vec![Notice { news: News::Received, key: "received".into() }];
    let reached = |status: Status| request.timeline.iter().any(|entry| entry.status == status);
    let status_news = [
        (Status::Issued, (request.application.delivery == Delivery::Download).then_some(News::CertificateReady)),
        (Status::Rejected, Some(News::Rejected)),
        (Status::Posted, Some(News::CertificatePosted)),
    ];
    for (status, news) in status_news {
        if let Some(news) = news.filter(|_| reached(status)) {
            notices.push(Notice { news, key: format!("status:{}", status.as_str()) });
        }
    }
    for message in messages {
        if let Author::Office { .. } = message.author {
            let news = if message.asks_for.is_some() { News::ProofRequested } else { News::OfficeWrote };
            notices.push(Notice { news, key: format!("message:{}", message.id) });
        }
    }
    if request.certificate.as_ref().is_some_and(|certificate| certificate.revoked.is_some()) {
        notices.push(Notice { news: News::CertificateRevoked, key: "certificate:revoked".into() });
    }
    notices
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_keys_are_plain_and_never_news_keys() {
        assert_eq!(Feedback::key("0100018c-aa.bb_1").as_deref(), Some("feedback:0100018c-aa.bb_1"));
        for hostile in ["", "a#b", "a b", "ü", &"x".repeat(129)] {
            assert_eq!(Feedback::key(hostile), None, "{hostile:?}");
        }
        assert!(Feedback::is_feedback("bounce") && Feedback::is_feedback("complaint"));
        assert!(!Feedback::is_feedback(News::Received.code()));
    }
    use crate::domain::request::TimelineEntry;
    use crate::domain::request::tests::sample_request;
    use crate::domain::upload::DocumentKind;
    use crate::domain::values::LongText;

    fn message(id: &str, author: Author, asks_for: Option<DocumentKind>) -> Message {
        Message {
            id: id.into(),
            at: time::OffsetDateTime::UNIX_EPOCH,
            author,
            text: LongText::parse("Bitte senden Sie die Geburtsurkunde.").unwrap(),
            asks_for,
        }
    }

    fn keys(notices: &[Notice]) -> Vec<(&str, News)> {
        notices.iter().map(|n| (n.key.as_str(), n.news)).collect()
    }

    #[test]
    fn a_new_request_has_one_piece_of_news() {
        assert_eq!(keys(&news_of(&sample_request(), &[])), [("received", News::Received)]);
    }

    #[test]
    fn each_status_and_each_office_message_is_news_once() {
        let mut request = sample_request();
        let at = time::OffsetDateTime::UNIX_EPOCH;
        for status in [Status::Prepared, Status::InReview, Status::Issued] {
            request.timeline.push(TimelineEntry { at, status });
        }
        let office = || Author::Office { staff_id: "staff-1".into() };
        let messages = [
            message("m1", office(), Some(DocumentKind::BirthCertificate)),
            message("m2", Author::Citizen, None),
            message("m3", office(), None),
        ];
        assert_eq!(
            keys(&news_of(&request, &messages)),
            [
                ("received", News::Received),
                ("status:issued", News::CertificateReady),
                ("message:m1", News::ProofRequested),
                ("message:m3", News::OfficeWrote),
            ],
            "review is no news to her; her own message neither"
        );
    }

    #[test]
    fn a_certificate_by_post_is_news_when_it_is_posted() {
        let mut request = sample_request();
        request.application.delivery = Delivery::Post;
        let at = time::OffsetDateTime::UNIX_EPOCH;
        request.timeline.push(TimelineEntry { at, status: Status::Issued });
        assert_eq!(keys(&news_of(&request, &[])), [("received", News::Received)]);
        request.timeline.push(TimelineEntry { at, status: Status::Posted });
        assert_eq!(
            keys(&news_of(&request, &[])),
            [("received", News::Received), ("status:posted", News::CertificatePosted)]
        );
    }

    #[test]
    fn a_revoked_certificate_is_news_once() {
        use crate::domain::request::{Certificate, Revocation};
        let mut request = sample_request();
        let at = time::OffsetDateTime::UNIX_EPOCH;
        request.timeline.push(TimelineEntry { at, status: Status::Issued });
        request.certificate =
            Some(Certificate { code: "C".into(), issued_at: at, document: "d".into(), revoked: None });
        assert_eq!(news_of(&request, &[]).len(), 2, "received and ready");
        let reason = LongText::parse("Eine Sorgeerklärung wurde nachgetragen.").unwrap();
        request.certificate.as_mut().unwrap().revoked = Some(Revocation { reason, by: "s".into(), at });
        assert_eq!(keys(&news_of(&request, &[]))[2], ("certificate:revoked", News::CertificateRevoked));
    }

    #[test]
    fn a_rejection_is_news() {
        let mut request = sample_request();
        let at = time::OffsetDateTime::UNIX_EPOCH;
        request.timeline.push(TimelineEntry { at, status: Status::Rejected });
        assert_eq!(keys(&news_of(&request, &[]))[1], ("status:rejected", News::Rejected));
    }
}
