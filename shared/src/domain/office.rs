//! Offices (Jugendämter, the tenants of the platform) and who is responsible for what:
//! the office of the mother's residence issues the certificate (§ 87c Abs. 6 S. 1 SGB VIII),
//! the office of the child's birth place keeps the register (§ 87c Abs. 6 S. 2); for a child
//! born abroad (or whose birth place is unknown) that is the Land Berlin.

use serde::{Deserialize, Serialize};

use super::normalize::comparison_key;
use super::values::Problem;

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
    /// The office's own identity provider for staff tokens (OpenID Connect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_identity_provider: Option<StaffIdentityProvider>,
    /// What letters of the office carry besides name and address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub letterhead: Option<Letterhead>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffIdentityProvider {
    pub issuer: String,
    pub jwks_url: String,
    pub audience: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Letterhead {
    /// e.g. "Amt für Soziale Dienste – Sorgeregister".
    pub department: Option<String>,
    pub website: Option<String>,
}

/// The documents an office may ask for.
pub const DOCUMENT_KINDS: [&str; 2] = ["birth_certificate", "power_of_attorney"];

/// Where a new or changed office would take over another office's area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overlap {
    pub office_id: String,
    pub postcodes: Vec<String>,
    pub municipalities: Vec<String>,
    /// Both would keep the register for children born abroad.
    pub born_abroad: bool,
}

/// Areas must not overlap: a postcode has one residence office, a municipality one register.
pub fn overlaps(directory: &Directory, office: &Office) -> Vec<Overlap> {
    directory
        .offices
        .iter()
        .filter(|other| other.id != office.id)
        .filter_map(|other| {
            let postcodes: Vec<String> =
                office.postcodes.iter().filter(|p| other.postcodes.contains(p)).cloned().collect();
            let municipalities: Vec<String> = office
                .municipalities
                .iter()
                .filter(|m| other.municipalities.iter().any(|o| comparison_key(o) == comparison_key(m)))
                .cloned()
                .collect();
            let born_abroad = office.keeps_register_for_born_abroad && other.keeps_register_for_born_abroad;
            (!postcodes.is_empty() || !municipalities.is_empty() || born_abroad).then(|| Overlap {
                office_id: other.id.clone(),
                postcodes,
                municipalities,
                born_abroad,
            })
        })
        .collect()
}

/// Parses an office (tenant) as operators send it; every invalid field is named.
pub fn parse_office(body: &serde_json::Value) -> Result<Office, crate::input::FieldErrors> {
    use super::values::{ClientId, Postcode, Problem, Text};
    use crate::input::{FieldErrors, Object};
    let root = Object::root(body);
    let mut errors = FieldErrors::default();
    let text = |errors: &mut FieldErrors, object: Object, name: &str, path: &str| {
        errors.take(path, object.text(name).and_then(Text::parse).map(|t| t.as_str().to_owned()))
    };
    let optional_text = |errors: &mut FieldErrors, object: Object, name: &str, path: &str| {
        errors.take(
            path,
            object
                .optional_text(name)
                .and_then(|t| t.map(|t| Text::parse(t).map(|t| t.as_str().to_owned())).transpose()),
        )
    };
    let list = |errors: &mut FieldErrors, name: &str, each: &dyn Fn(&str) -> Result<String, Problem>| {
        let parsed = match root.value(name) {
            Some(serde_json::Value::Array(items)) => {
                items.iter().map(|i| i.as_str().ok_or(Problem::NotText).and_then(each)).collect()
            }
            None => Err(Problem::Required),
            Some(_) => Err(Problem::NotText),
        };
        errors.take(name, parsed)
    };
    let id = errors.take(
        "id",
        root.text("id").and_then(|id| {
            let plain = id.len() >= 3 && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if plain { ClientId::parse(id).map(|id| id.as_str().to_owned()) } else { Err(Problem::IdFormat) }
        }),
    );
    let name = text(&mut errors, root, "name", "name");
    let address = errors.take("address", root.object("address")).and_then(|address| {
        let street = text(&mut errors, address, "street", "address.street");
        let house_number = text(&mut errors, address, "house_number", "address.house_number");
        let postcode = errors.take("address.postcode", address.text("postcode").and_then(Postcode::parse));
        let city = text(&mut errors, address, "city", "address.city");
        Some(PostalAddress {
            street: street?,
            house_number: house_number?,
            postcode: postcode?.as_str().to_owned(),
            city: city?,
        })
    });
    let phone = errors.take(
        "phone",
        root.text("phone").and_then(|phone| {
            let plain = phone.chars().any(|c| c.is_ascii_digit())
                && phone.len() <= 40
                && phone.chars().all(|c| c.is_ascii_digit() || " +-/()".contains(c));
            if plain { Ok(phone.trim().to_owned()) } else { Err(Problem::PhoneFormat) }
        }),
    );
    let email = errors.take(
        "email",
        root.text("email").and_then(|email| {
            let (local, domain) = email.trim().split_once('@').ok_or(Problem::EmailFormat)?;
            let plain = !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && email.len() <= 254
                && email.trim().chars().all(|c| c.is_ascii_graphic() && c != '<' && c != '>' && c != '"');
            if plain { Ok(email.trim().to_owned()) } else { Err(Problem::EmailFormat) }
        }),
    );
    let opening_hours = optional_text(&mut errors, root, "opening_hours", "opening_hours");
    let postcodes = list(&mut errors, "postcodes", &|p| Postcode::parse(p).map(|p| p.as_str().to_owned()));
    let municipalities = list(&mut errors, "municipalities", &|m| Text::parse(m).map(|m| m.as_str().to_owned()));
    let connected = errors.take("connected", root.yes_no("connected"));
    let auto_issue = errors.take("auto_issue", root.yes_no("auto_issue"));
    let required_documents = match root.value("required_documents") {
        None => Some(vec![]),
        Some(_) => list(&mut errors, "required_documents", &|d| {
            DOCUMENT_KINDS.contains(&d).then(|| d.to_owned()).ok_or(Problem::NotAChoice)
        }),
    };
    let retention_days = errors.take(
        "retention_days",
        match root.value("retention_days") {
            None => Err(Problem::Required),
            Some(v) => v.as_u64().filter(|d| (30..=3650).contains(d)).map(|d| d as u32).ok_or(Problem::RetentionRange),
        },
    );
    let keeps_register_for_born_abroad = if root.has("keeps_register_for_born_abroad") {
        errors.take("keeps_register_for_born_abroad", root.yes_no("keeps_register_for_born_abroad"))
    } else {
        Some(false)
    };
    let staff_identity_provider = match root.value("staff_identity_provider") {
        None => Some(None),
        Some(_) => errors.take("staff_identity_provider", root.object("staff_identity_provider")).and_then(|idp| {
            let https = |errors: &mut FieldErrors, name: &str| {
                let path = format!("staff_identity_provider.{name}");
                errors.take(
                    &path,
                    idp.text(name).and_then(|url| {
                        if url.starts_with("https://") && !url.contains(char::is_whitespace) {
                            Ok(url.to_owned())
                        } else {
                            Err(Problem::UrlFormat)
                        }
                    }),
                )
            };
            let issuer = https(&mut errors, "issuer");
            let jwks_url = https(&mut errors, "jwks_url");
            let audience = text(&mut errors, idp, "audience", "staff_identity_provider.audience");
            Some(Some(StaffIdentityProvider { issuer: issuer?, jwks_url: jwks_url?, audience: audience? }))
        }),
    };
    let letterhead = match root.value("letterhead") {
        None => Some(None),
        Some(_) => errors.take("letterhead", root.object("letterhead")).and_then(|letterhead| {
            let department = optional_text(&mut errors, letterhead, "department", "letterhead.department");
            let website = optional_text(&mut errors, letterhead, "website", "letterhead.website");
            Some(Some(Letterhead { department: department?, website: website? }))
        }),
    };
    let office = (|| {
        Some(Office {
            id: id?,
            name: name?,
            address: address?,
            phone: phone?,
            email: email?,
            opening_hours: opening_hours?,
            postcodes: postcodes?,
            municipalities: municipalities?,
            connected: connected?,
            auto_issue: auto_issue?,
            required_documents: required_documents?,
            retention_days: retention_days?,
            keeps_register_for_born_abroad: keeps_register_for_born_abroad?,
            staff_identity_provider: staff_identity_provider?,
            letterhead: letterhead?,
        })
    })();
    errors.finish(office)
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

    /// The office that issues the certificate to a mother living at `postcode`, if it takes
    /// requests through this service.
    pub fn issuing_office(&self, postcode: &str) -> Result<&Office, Problem> {
        match self.residence_office(postcode) {
            None => Err(Problem::NoOfficeForPostcode),
            Some(office) if !office.connected => Err(Problem::OfficeNotConnected),
            Some(office) => Ok(office),
        }
    }

    /// The offices whose own identity provider for staff is `issuer`.
    pub fn staff_identity_providers<'a>(
        &'a self,
        issuer: &'a str,
    ) -> impl Iterator<Item = (&'a Office, &'a StaffIdentityProvider)> + 'a {
        self.offices.iter().filter_map(move |office| {
            office.staff_identity_provider.as_ref().filter(|idp| idp.issuer == issuer).map(|idp| (office, idp))
        })
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
            staff_identity_provider: None,
            letterhead: None,
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
    fn only_a_connected_residence_office_issues() {
        let mut offices = directory();
        assert_eq!(offices.issuing_office("27472").unwrap().id, "cuxhaven");
        assert_eq!(offices.issuing_office("99999").err(), Some(Problem::NoOfficeForPostcode));
        offices.offices[0].connected = false;
        assert_eq!(offices.issuing_office("28195").err(), Some(Problem::OfficeNotConnected));
    }

    #[test]
    fn the_register_office_is_the_one_of_the_birth_place() {
        assert_eq!(directory().register_office("otterndorf", false).unwrap().id, "cuxhaven");
        assert!(directory().register_office("München", false).is_none());
    }

    fn tenant() -> serde_json::Value {
        serde_json::json!({
            "id": "jugendamt-verden", "name": "Jugendamt Landkreis Verden",
            "address": {"street": "Lindhooper Straße", "house_number": "67", "postcode": "27283", "city": "Verden (Aller)"},
            "phone": "+49 4231 15-0", "email": "jugendamt@landkreis-verden.example",
            "postcodes": ["27283", "27299"], "municipalities": ["Verden (Aller)", "Achim"],
            "connected": true, "auto_issue": true, "retention_days": 365
        })
    }

    #[test]
    fn a_tenant_is_parsed_with_defaults() {
        let office = parse_office(&tenant()).unwrap();
        assert_eq!(office.municipalities, ["Verden (Aller)", "Achim"]);
        assert!(office.required_documents.is_empty() && office.staff_identity_provider.is_none());
    }

    #[test]
    fn invalid_tenants_name_every_field() {
        use crate::domain::values::Problem;
        let mut body = tenant();
        body["id"] = "Verden!".into();
        body["email"] = "jugendamt at verden".into();
        body["phone"] = "call us".into();
        body["postcodes"] = serde_json::json!(["2728"]);
        body["retention_days"] = 5.into();
        body["required_documents"] = serde_json::json!(["selfie"]);
        body["staff_identity_provider"] =
            serde_json::json!({"issuer": "http://idp", "jwks_url": "https://idp/jwks", "audience": "x"});
        let errors = parse_office(&body).unwrap_err();
        assert_eq!(errors.get("id"), Some(Problem::IdFormat));
        assert_eq!(errors.get("email"), Some(Problem::EmailFormat));
        assert_eq!(errors.get("phone"), Some(Problem::PhoneFormat));
        assert_eq!(errors.get("postcodes"), Some(Problem::PostcodeFormat));
        assert_eq!(errors.get("retention_days"), Some(Problem::RetentionRange));
        assert_eq!(errors.get("required_documents"), Some(Problem::NotAChoice));
        assert_eq!(errors.get("staff_identity_provider.issuer"), Some(Problem::UrlFormat));
    }

    #[test]
    fn overlapping_areas_are_found() {
        let mut office = parse_office(&tenant()).unwrap();
        office.postcodes.push("28195".into());
        office.municipalities.push("bremen".into());
        let found = overlaps(&directory(), &office);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].office_id.as_str(), found[0].postcodes.as_slice()),
            ("bremen", ["28195".to_owned()].as_slice())
        );
        assert_eq!(found[0].municipalities, ["bremen"]);
        assert!(
            overlaps(&directory(), &directory().get("bremen").unwrap().clone()).is_empty(),
            "an office does not overlap itself"
        );
    }

    #[test]
    fn children_born_abroad_are_registered_in_berlin() {
        assert_eq!(directory().register_office("Wien", true).unwrap().id, "berlin");
    }
}
