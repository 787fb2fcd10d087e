//! Messages between the office and the mother about one request.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::values::LongText;

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Author {
    /// The mother (or her representative).
    Citizen,
    /// A case worker of the issuing office.
    Office { staff_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(flatten)]
    pub author: Author,
    pub text: LongText,
}
