//! Offices (Jugendämter, the tenants of the platform) and who is responsible for what:
//! the office of the mother's residence issues the certificate (§ 87c Abs. 6 S. 1 SGB VIII),
//! the office of the child's birth place keeps the register (§ 87c Abs. 6 S. 2); for a child
//! born abroad (or whose birth place is unknown) that is the Land Berlin.

use serde::{Deserialize, Serialize};

use super::normalize::comparison_key;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    pub street: String,
    pub house_number: String,
    pub postcode: String,
    pub city: String,
}

/// A Jugendamt as the platform knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Office {
    pub id: String,
    pub name: String,
    pub address: PostalAddress,
    pub phone: String,
    pub email: String,
    #[serde(default)]
    pub opening_hours: Option<String>,
    /// Postcodes of the office's area (where mothers live).
    pub postcodes: Vec<String>,
    /// Municipalities of the office's area (where children are born).
    pub municipalities: Vec<String>,
    /// Whether the office takes requests through this service.
    pub connected: bool,
    /// Whether certificates may be issued without a case worker when the register is clean.
    pub auto_issue: bool,
    #[serde(default)]
    pub required_documents: Vec<String>,
    pub retention_days: u32,
    /// Keeps the register for children born abroad or of unknown birth place (Land Berlin).
    #[serde(default)]
    pub keeps_register_for_born_abroad: bool,
}

/// All offices, answering the routing questions.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    offices: Vec<Office>,
}

impl Directory {
    pub fn new(offices: Vec<Office>) -> Self {
        Self { offices }
    }

    pub fn get(&self, id: &str) -> Option<&Office> {
        self.offices.iter().find(|office| office.id == id)
    }

    /// The office of the area that contains `postcode`: it issues the certificate.
    pub fn residence_office(&self, postcode: &str) -> Option<&Office> {
        self.offices.iter().find(|office| office.postcodes.iter().any(|p| p == postcode))
    }

    /// The office that keeps the register for a child born at `birth_place`.
    pub fn register_office(&self, birth_place: &str, born_abroad: bool) -> Option<&Office> {
        if born_abroad {
            return self.offices.iter().find(|office| office.keeps_register_for_born_abroad);
        }
        let place = comparison_key(birth_place);
        self.offices.iter().find(|office| office.municipalities.iter().any(|m| comparison_key(m) == place))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn office(id: &str, postcodes: &[&str], municipalities: &[&str]) -> Office {
        Office {
            id: id.into(),
            name: format!("Jugendamt {id}"),
            address: PostalAddress {
                street: "Am Amt".into(),
                house_number: "1".into(),
                postcode: postcodes.first().copied().unwrap_or("10115").into(),
                city: id.into(),
            },
            phone: "+49 30 000000".into(),
            email: format!("{id}@example.org"),
            opening_hours: None,
            postcodes: postcodes.iter().map(|p| p.to_string()).collect(),
            municipalities: municipalities.iter().map(|m| m.to_string()).collect(),
            connected: true,
            auto_issue: true,
            required_documents: vec![],
            retention_days: 365,
            keeps_register_for_born_abroad: false,
        }
    }

    pub fn directory() -> Directory {
        let mut berlin = office("berlin", &["10115"], &["Berlin"]);
        berlin.keeps_register_for_born_abroad = true;
        Directory::new(vec![
            office("bremen", &["28195", "28203"], &["Bremen"]),
            office("cuxhaven", &["27472"], &["Cuxhaven", "Otterndorf"]),
            berlin,
        ])
    }

    #[test]
    fn the_residence_office_is_found_by_postcode() {
        assert_eq!(directory().residence_office("28203").unwrap().id, "bremen");
        assert!(directory().residence_office("99999").is_none());
    }

    #[test]
    fn the_register_office_is_the_one_of_the_birth_place() {
        assert_eq!(directory().register_office("otterndorf", false).unwrap().id, "cuxhaven");
        assert!(directory().register_office("München", false).is_none());
    }

    #[test]
    fn children_born_abroad_are_registered_in_berlin() {
        assert_eq!(directory().register_office("Wien", true).unwrap().id, "berlin");
    }
}
