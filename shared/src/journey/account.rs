//! What her login (BundID) states about the mother, where the form takes it from there instead
//! of asking again (WCAG 3.3.7).

use std::collections::BTreeMap;

use serde_json::Value as Json;
use time::Date;

use super::form::{DraftData, set_path};
use crate::auth::CitizenClaims;
use crate::domain::values::{self, PersonName, Text, parse_birth_date};

/// Her account's values by field path: only when she applies herself (a representative types
/// the mother's data), and only values the domain takes — anything else is asked, prefilled,
/// so that she can put it right. Her address is never among them: she can correct it.
pub struct Account(BTreeMap<&'static str, String>);

impl Account {
    pub fn of(citizen: &CitizenClaims, data: &Json, today: Date) -> Account {
        let mut known = BTreeMap::new();
        if DraftData(data).is_representative() {
            return Account(known);
        }
        let name = |raw: &str| PersonName::parse(raw).ok().map(|_| raw.trim().to_owned());
        let mut take = |path: &'static str, value: Option<String>| {
            if let Some(value) = value {
                known.insert(path, value);
            }
        };
        take("mother.given_names", name(&citizen.given_name));
        take("mother.family_name", name(&citizen.family_name));
        take("mother.birth_name", citizen.birth_name.as_deref().and_then(name));
        let birth_date = citizen.birthdate.as_deref().and_then(|raw| parse_birth_date(raw, today).ok());
        take("mother.birth_date", birth_date.map(values::format_date));
        let place = citizen.place_of_birth.as_deref().filter(|raw| Text::parse(raw).is_ok());
        take("mother.birth_place", place.map(|raw| raw.trim().to_owned()));
        Account(known)
    }

    pub fn get(&self, path: &str) -> Option<&str> {
        self.0.get(path).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Puts what her account states into the application, over anything posted or stored.
    pub fn apply(&self, data: &mut Json) {
        for (path, value) in &self.0 {
            set_path(data, path, Json::from(value.as_str()));
        }
    }

    /// Whether the application's value at `path` is her account's (nothing to change there).
    pub fn supplied(&self, data: &Json, path: &str) -> bool {
        self.get(path).is_some() && DraftData(data).text(path) == self.get(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_what_the_domain_takes_is_taken_from_her_account() {
        let today = time::macros::date!(2026 - 11 - 23);
        let mut citizen = CitizenClaims {
            sub: "s".into(),
            given_name: "Sophia".into(),
            family_name: "Beispiel".into(),
            birth_name: None,
            birthdate: Some("1994-05-02".into()),
            place_of_birth: Some("Bremen".into()),
            address: None,
            email: None,
            trust_level: crate::domain::request::TrustLevel::Hoch,
            auth_time: None,
        };
        let mother = Account::of(&citizen, &json!({"applicant": {"role": "mother"}}), today);
        assert_eq!(mother.get("mother.birth_date"), Some("1994-05-02"));
        assert_eq!(mother.get("mother.birth_name"), None, "not supplied: asked");
        citizen.birthdate = Some("1994-00-00".into());
        citizen.given_name = String::new();
        let partial = Account::of(&citizen, &json!({}), today);
        assert_eq!(partial.get("mother.birth_date"), None, "an incomplete date is asked, to be put right");
        assert_eq!(partial.get("mother.given_names"), None);
        assert_eq!(partial.get("mother.family_name"), Some("Beispiel"));
        let representative = Account::of(&citizen, &json!({"applicant": {"role": "representative"}}), today);
        assert!(representative.is_empty(), "a representative types the mother's data");
    }
}
