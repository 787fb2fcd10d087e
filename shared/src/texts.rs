//! The text catalogue: one file per language (German in bürgernahe Sprache, Leichte Sprache,
//! English), the same keys in each. Rules speak in codes; words come from here.

use std::collections::HashMap;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    De,
    /// Leichte Sprache (easy-to-read German).
    Ls,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::De, Lang::Ls, Lang::En];

    /// `de`, `ls` or `en`, as in `?lang=`.
    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "de" => Some(Lang::De),
            "ls" => Some(Lang::Ls),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::Ls => "ls",
            Lang::En => "en",
        }
    }

    /// The language tag for `<html lang>` and `Content-Language` (Leichte Sprache is German).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::De | Lang::Ls => "de",
            Lang::En => "en",
        }
    }
}

type Catalogue = HashMap<String, String>;

static CATALOGUES: LazyLock<[Catalogue; 3]> = LazyLock::new(|| {
    let parse = |name: &str, json: &str| -> Catalogue {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("text catalogue {name} is not valid JSON: {e}"))
    };
    [
        parse("de", include_str!("../texts/de.json")),
        parse("ls", include_str!("../texts/ls.json")),
        parse("en", include_str!("../texts/en.json")),
    ]
});

fn catalogue(lang: Lang) -> &'static Catalogue {
    &CATALOGUES[match lang {
        Lang::De => 0,
        Lang::Ls => 1,
        Lang::En => 2,
    }]
}

/// The text for `key`; a missing key shows itself instead of failing (tests keep them complete).
/// A request's status in words (`status.<status>`).
pub fn status_text(lang: Lang, status: crate::domain::request::Status) -> String {
    text(lang, &format!("status.{}", status.as_str())).to_owned()
}

pub fn text(lang: Lang, key: &str) -> &str {
    lookup(lang, key).unwrap_or(key)
}

/// The text for `key`, if the catalogue has it (page templates fail loudly on a missing key).
pub fn lookup(lang: Lang, key: &str) -> Option<&'static str> {
    catalogue(lang).get(key).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_language_has_every_key() {
        let keys = |lang| catalogue(lang).keys().cloned().collect::<BTreeSet<_>>();
        let german = keys(Lang::De);
        for lang in [Lang::Ls, Lang::En] {
            let other = keys(lang);
            assert_eq!(german.difference(&other).collect::<Vec<_>>(), Vec::<&String>::new(), "missing in {lang:?}");
            assert_eq!(other.difference(&german).collect::<Vec<_>>(), Vec::<&String>::new(), "only in {lang:?}");
        }
    }

    #[test]
    fn no_text_is_empty() {
        for lang in Lang::ALL {
            for (key, value) in catalogue(lang) {
                assert!(!value.trim().is_empty(), "{key} is empty in {lang:?}");
            }
        }
    }

    #[test]
    fn every_problem_reason_and_status_has_words() {
        use crate::domain::precheck::BlockReason;
        use crate::domain::request::Status;
        use crate::domain::values::Problem;
        let problems = Problem::ALL;
        let reasons = [
            BlockReason::NotEntitled,
            BlockReason::ChildNotMinor,
            BlockReason::MotherMinor,
            BlockReason::Married,
            BlockReason::Sorgeerklaerung,
            BlockReason::CourtDecision,
            BlockReason::ForeignJointCustody,
            BlockReason::OfficeNotConnected,
            BlockReason::NoOfficeForPostcode,
        ];
        let statuses = Status::ALL;
        let keys = problems
            .iter()
            .map(|p| format!("problem.{}", p.code()))
            .chain(reasons.iter().map(|r| format!("reason.{}", r.code())))
            .chain(statuses.iter().map(|s| format!("status.{}", s.as_str())));
        for key in keys {
            assert!(catalogue(Lang::De).contains_key(&key), "{key} has no text");
        }
    }

    #[test]
    fn languages_are_parsed_from_their_codes() {
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse("ls"), Some(Lang::Ls));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::Ls.tag(), "de");
    }
}
