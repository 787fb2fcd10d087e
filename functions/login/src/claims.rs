//! What BundID's attributes say about the citizen, as the claims of our session.

use saml::{VerifiedAssertion, attribute_names as names};
use shared::auth::{CitizenClaims, ClaimAddress};
use shared::domain::request::TrustLevel;
use shared::domain::values::EmailAddress;
use time::Date;
use time::macros::format_description;

/// The citizen the assertion describes. Missing attributes stay empty (the form then asks);
/// a birth date that is not `YYYY-MM-DD` counts as missing.
pub fn citizen_claims(assertion: &VerifiedAssertion, trust_level: TrustLevel) -> CitizenClaims {
    let value = |name| assertion.attribute(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let birthdate =
        value(names::BIRTH_DATE).filter(|d| Date::parse(d, format_description!("[year]-[month]-[day]")).is_ok());
    let address = match (value(names::POSTAL_ADDRESS), value(names::POSTAL_CODE), value(names::LOCALITY)) {
        (Some(street_line), Some(postcode), Some(city)) => {
            let (street, house_number) = split_street_line(&street_line);
            Some(ClaimAddress { street, house_number, postcode, city })
        }
        _ => None,
    };
    CitizenClaims {
        sub: assertion.name_id.clone(),
        given_name: value(names::GIVEN_NAME).unwrap_or_default(),
        family_name: value(names::SURNAME).unwrap_or_default(),
        birth_name: value(names::BIRTH_NAME),
        birthdate,
        place_of_birth: value(names::PLACE_OF_BIRTH),
        address,
        email: value(names::MAIL).filter(|mail| EmailAddress::parse(mail).is_ok()),
        trust_level,
        auth_time: None,
    }
}

/// BundID gives street and house number in one line ("Am Markt 1a"); the number is the last
/// word if it starts with a digit.
fn split_street_line(line: &str) -> (String, String) {
    match line.rsplit_once(char::is_whitespace) {
        Some((street, number)) if number.starts_with(|c: char| c.is_ascii_digit()) => {
            (street.trim_end().to_owned(), number.to_owned())
        }
        _ => (line.to_owned(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn assertion(attributes: &[(&str, &str)]) -> VerifiedAssertion {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in attributes {
            map.entry((*name).to_owned()).or_default().push((*value).to_owned());
        }
        VerifiedAssertion {
            assertion_id: "_a".into(),
            in_response_to: "_r".into(),
            valid_until: time::OffsetDateTime::UNIX_EPOCH,
            name_id: "bundid-pseudonym".into(),
            authn_context: "STORK-QAA-Level-4".into(),
            attributes: map,
        }
    }

    #[test]
    fn bundid_attributes_become_the_session_claims() {
        let claims = citizen_claims(
            &assertion(&[
                (names::GIVEN_NAME, "Sophia"),
                (names::SURNAME, "Beispiel"),
                (names::BIRTH_DATE, "1994-05-02"),
                (names::PLACE_OF_BIRTH, "Bremen"),
                (names::POSTAL_ADDRESS, "Am Markt 1a"),
                (names::POSTAL_CODE, "28195"),
                (names::LOCALITY, "Bremen"),
                (names::MAIL, " sophia.beispiel@example.org "),
            ]),
            TrustLevel::Hoch,
        );
        assert_eq!(claims.sub, "bundid-pseudonym");
        assert_eq!((claims.given_name.as_str(), claims.family_name.as_str()), ("Sophia", "Beispiel"));
        assert_eq!(claims.birthdate.as_deref(), Some("1994-05-02"));
        let address = claims.address.unwrap();
        assert_eq!((address.street.as_str(), address.house_number.as_str()), ("Am Markt", "1a"));
        assert_eq!(claims.trust_level, TrustLevel::Hoch);
        assert_eq!(claims.email.as_deref(), Some("sophia.beispiel@example.org"));
    }

    #[test]
    fn missing_or_malformed_attributes_are_simply_absent() {
        let claims = citizen_claims(
            &assertion(&[
                (names::GIVEN_NAME, "Sophia"),
                (names::BIRTH_DATE, "02.05.1994"),
                (names::POSTAL_CODE, "28195"),
                (names::MAIL, "Sophia <sophia@example.org>\r\nBcc: x@example.org"),
            ]),
            TrustLevel::Basis,
        );
        assert_eq!(claims.family_name, "");
        assert_eq!(claims.birthdate, None, "not YYYY-MM-DD");
        assert_eq!(claims.address, None, "half an address is no address");
        assert_eq!(claims.email, None, "not a plain address");
        assert_eq!(split_street_line("Hauptstraße"), ("Hauptstraße".into(), String::new()));
    }
}
