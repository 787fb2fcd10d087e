//! Messages between the office and the mother about one request.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::upload::DocumentKind;
use super::values::LongText;
use crate::input::{FieldErrors, Object};

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Author {
    /// The mother (or her representative).
    Citizen,
    /// A case worker of the issuing office.
    Office { staff_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(flatten)]
    pub author: Author,
    pub text: LongText,
    /// A document the office asks her to send with this message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asks_for: Option<DocumentKind>,
}

/// A message as the mother sends it.
#[derive(utoipa::ToSchema)]
#[schema(example = json!({"text": "Die Geburtsurkunde sende ich morgen."}))]
pub struct CitizenMessageBody {
    pub text: String,
}

/// A message as the office sends it, perhaps asking her for a document.
#[derive(utoipa::ToSchema)]
#[schema(example = json!({"text": "Bitte senden Sie die Geburtsurkunde.", "asks_for": "geburtsurkunde"}))]
pub struct OfficeMessageBody {
    pub text: String,
    /// A document she is asked to send; the question stays open on the request until she does.
    pub asks_for: Option<DocumentKind>,
}

/// Parses `{"text"}`, what the mother writes.
pub fn parse_text(body: &serde_json::Value) -> Result<LongText, FieldErrors> {
    let mut errors = FieldErrors::default();
    let text = errors.take("text", Object::root(body).text("text").and_then(LongText::parse));
    errors.finish(text)
}

/// Parses `{"text", "asks_for"?: "geburtsurkunde"|"vollmacht"}`, what the office writes.
pub fn parse_office_message(body: &serde_json::Value) -> Result<(LongText, Option<DocumentKind>), FieldErrors> {
    let root = Object::root(body);
    let mut errors = FieldErrors::default();
    let text = errors.take("text", root.text("text").and_then(LongText::parse));
    let kinds: Vec<(&str, DocumentKind)> = DocumentKind::ALL.iter().map(|kind| (kind.code(), *kind)).collect();
    let asks_for = if root.has("asks_for") { errors.take("asks_for", root.choice("asks_for", &kinds)) } else { None };
    errors.finish(text).map(|text| (text, asks_for))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::values::Problem;

    #[test]
    fn the_office_may_ask_for_a_document_with_its_message() {
        let (text, asks_for) = parse_office_message(
            &json!({"text": "Bitte senden Sie die Geburtsurkunde.", "asks_for": "geburtsurkunde"}),
        )
        .unwrap();
        assert_eq!(text.as_str(), "Bitte senden Sie die Geburtsurkunde.");
        assert_eq!(asks_for, Some(DocumentKind::BirthCertificate));
        assert_eq!(parse_office_message(&json!({"text": "Danke."})).unwrap().1, None);
        let errors = parse_office_message(&json!({"text": " ", "asks_for": "fax"})).unwrap_err();
        assert_eq!(errors.get("text"), Some(Problem::Required));
        assert_eq!(errors.get("asks_for"), Some(Problem::NotAChoice));
    }
}
