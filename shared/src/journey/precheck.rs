//! The pre-check as the pages ask it (GOV.UK "check a service is suitable"): one question per
//! page, the answers kept in a session cookie of her browser (nobody is signed in yet, and they
//! are hers), and the custody answers carried into her application as its declarations.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderValue};
use serde_json::{Map, Value as Json};

use crate::web;

/// The cookie holding the answers given so far (URL-encoded, for this browser session only).
pub const ANSWERS_COOKIE: &str = "vorab";

/// Where the result of the pre-check is shown.
pub const RESULT_PATH: &str = "/vorab-check/ergebnis";

/// How a question is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Applicant,
    Postcode,
    /// Her municipality, asked only where her postcode spans the areas of several offices; the
    /// choices are the municipalities of her postcode.
    Municipality,
    YesNo,
    YesNoUnknown,
}

/// A question of the pre-check: its address, its field in the contract, how it is answered.
pub struct Question {
    pub slug: &'static str,
    pub field: &'static str,
    pub kind: Kind,
}

/// In the order asked: who and where first, then the custody questions of DESIGN.md § 2.
pub const QUESTIONS: [Question; 10] = [
    Question { slug: "wer", field: "applicant", kind: Kind::Applicant },
    Question { slug: "wohnort", field: "residence_postcode", kind: Kind::Postcode },
    Question { slug: "gemeinde", field: "residence_municipality", kind: Kind::Municipality },
    Question { slug: "alter-kind", field: "child_under_18", kind: Kind::YesNo },
    Question { slug: "alter-mutter", field: "mother_adult", kind: Kind::YesNo },
    Question { slug: "ehe", field: "married_to_father", kind: Kind::YesNoUnknown },
    Question { slug: "sorgeerklaerung", field: "sorgeerklaerung", kind: Kind::YesNoUnknown },
    Question { slug: "gericht", field: "court_decision", kind: Kind::YesNoUnknown },
    Question { slug: "ausland-recht", field: "foreign_joint_custody", kind: Kind::YesNoUnknown },
    Question { slug: "geburt-ausland", field: "child_born_abroad", kind: Kind::YesNo },
];

/// The custody questions, whose answers the application carries as `declarations`.
pub const DECLARATIONS: [&str; 4] = ["married_to_father", "sorgeerklaerung", "court_decision", "foreign_joint_custody"];

/// How many questions everyone is asked (the municipality only where needed).
pub const ALWAYS_ASKED: usize = QUESTIONS.len() - 1;

impl Question {
    pub fn path(&self) -> String {
        format!("/vorab-check/{}", self.slug)
    }

    /// Whether every mother is asked it (else only where her answers need it).
    pub fn always_asked(&self) -> bool {
        self.kind != Kind::Municipality
    }

    /// Its number in "question n of [`ALWAYS_ASKED`]": the municipality shares its postcode's.
    pub fn number(index: usize) -> usize {
        QUESTIONS[..=index].iter().filter(|q| q.always_asked()).count().max(1)
    }

    /// The question at `slug`, with its place in the order.
    pub fn find(slug: &str) -> Option<(usize, &'static Question)> {
        QUESTIONS.iter().enumerate().find(|(_, q)| q.slug == slug)
    }
}

impl Kind {
    /// `(value, label key)` of the radios.
    pub fn options(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Applicant => &[
                ("mother", "vorab.applicant.mother"),
                ("representative", "vorab.applicant.representative"),
                ("other", "vorab.applicant.other"),
            ],
            Kind::YesNo => &[("yes", "common.yes"), ("no", "common.no")],
            Kind::YesNoUnknown => &[("yes", "common.yes"), ("no", "common.no"), ("unknown", "common.unknown")],
            Kind::Postcode | Kind::Municipality => &[],
        }
    }

    /// The answer as the contract's JSON carries it (yes/no questions are booleans there).
    fn json(self, raw: &str) -> Json {
        match (self, raw) {
            (Kind::YesNo, "yes") => Json::Bool(true),
            (Kind::YesNo, "no") => Json::Bool(false),
            _ => Json::String(raw.to_owned()),
        }
    }
}

/// The answers given so far, by field.
#[derive(Debug, Default, Clone)]
pub struct Answers(BTreeMap<String, String>);

impl Answers {
    /// The answers in the request's cookie (anything unreadable counts as not answered).
    pub fn from_headers(headers: &HeaderMap) -> Answers {
        let pairs: Vec<(String, String)> = web::cookie(headers, ANSWERS_COOKIE)
            .and_then(|raw| serde_urlencoded::from_str(raw).ok())
            .unwrap_or_default();
        Answers(
            pairs
                .into_iter()
                .filter(|(field, value)| QUESTIONS.iter().any(|q| q.field == field) && !value.is_empty())
                .collect(),
        )
    }

    /// The raw answer to `field` (`"yes"`, `"mother"`, `"28195"`, …).
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn set(&mut self, field: &str, answer: String) {
        self.0.insert(field.to_owned(), answer);
    }

    /// Whether any answer is "I don't know".
    pub fn some_unknown(&self) -> bool {
        self.0.values().any(|v| v == "unknown")
    }

    /// The answers in the shape of `POST /api/v1/precheck`.
    pub fn json(&self) -> Json {
        let answers: Map<String, Json> = QUESTIONS
            .iter()
            .filter_map(|q| self.get(q.field).map(|raw| (q.field.to_owned(), q.kind.json(raw))))
            .collect();
        Json::Object(answers)
    }

    /// The custody answers as the application's `declarations`, if any was given.
    pub fn declarations(&self) -> Option<Json> {
        let given: Map<String, Json> =
            DECLARATIONS.iter().filter_map(|f| self.get(f).map(|a| ((*f).to_owned(), Json::from(a)))).collect();
        (!given.is_empty()).then_some(Json::Object(given))
    }

    /// The `Set-Cookie` that keeps these answers for the browser session.
    pub fn cookie(&self) -> HeaderValue {
        web::set_cookie(ANSWERS_COOKIE, &serde_urlencoded::to_string(&self.0).expect("plain pairs encode"), None)
    }
}

/// Where an answer of the pre-check is changed (then she sees the result again).
pub fn change_link(field: &str) -> String {
    QUESTIONS
        .iter()
        .find(|q| q.field == field)
        .map_or_else(|| "/vorab-check".to_owned(), |question| format!("{}?zurueck=ergebnis", question.path()))
}
