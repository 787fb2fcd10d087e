//! Offices (Jugendämter, the tenants of the platform) and who is responsible for what:
//! the office of the mother's residence issues the certificate (§ 87c Abs. 6 S. 1 SGB VIII),
//! the office of the child's birth place keeps the register (§ 87c Abs. 6 S. 2); for a child
//! born abroad (or whose birth place is unknown) that is the Land Berlin.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::places::{Ags, Municipality, Places, Resolution};
use super::upload::DocumentKind;
use super::values::Problem;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostalAddress {
    pub street: String,
    pub house_number: String,
    pub postcode: String,
    pub city: String,
}

/// A municipality of an office's area: the key decides, the name is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AreaMunicipality {
    pub ags: Ags,
    pub name: String,
}

/// A Jugendamt as the platform knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": "jugendamt-bremen", "name": "Amt für Soziale Dienste Bremen, Jugendamt",
    "address": {"street": "Rembertiring", "house_number": "39", "postcode": "28203", "city": "Bremen"},
    "phone": "0421 361-0", "email": "sorgeregister@afsd.bremen.example",
    "municipalities": [{"ags": "04011000", "name": "Bremen, Stadt"}],
    "connected": true, "auto_issue": true, "required_documents": [], "retention_days": 365
}))]
pub struct Office {
    pub id: String,
    pub name: String,
    pub address: PostalAddress,
    pub phone: String,
    pub email: String,
    #[serde(default)]
    pub opening_hours: Option<String>,
    /// Postcodes the office serves beyond those the directory assigns to its municipalities
    /// (a postcode the directory does not know, e.g. a new one).
    #[serde(default)]
    pub postcodes: Vec<String>,
    /// The municipalities of the office's area: where mothers live and where children are born.
    /// A Kreisjugendamt lists the municipalities of its district that have no Jugendamt of their
    /// own.
    pub municipalities: Vec<AreaMunicipality>,
    /// Whether the office takes requests through this service.
    pub connected: bool,
    /// Whether certificates may be issued without a case worker when the register is clean.
    pub auto_issue: bool,
    #[serde(default)]
    pub required_documents: Vec<DocumentKind>,
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

impl Office {
    pub fn covers(&self, ags: &Ags) -> bool {
        self.municipalities.iter().any(|m| m.ags == *ags)
    }
}

/// An office's own OpenID Connect provider: its case workers sign in there (code flow with
/// PKCE), its case-management systems get tokens there for the staff API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StaffIdentityProvider {
    /// https; its discovery document is `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// The office's client at the provider: public (PKCE) unless `confidential`.
    pub client_id: String,
    /// Where its tokens name the roles (`roles`, or a path such as `realm_access.roles`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles_claim: Option<String>,
    /// The `aud` of its access tokens for the staff API (the office's case-management systems);
    /// without one, its tokens count for the office's pages only, never for the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Its keys; from discovery where none is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    /// The client authenticates with a secret, which is kept in the secret store only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub confidential: bool,
}

impl StaffIdentityProvider {
    pub const DEFAULT_ROLES_CLAIM: &str = "roles";

    pub fn roles_claim(&self) -> &str {
        self.roles_claim.as_deref().unwrap_or(Self::DEFAULT_ROLES_CLAIM)
    }
}

/// The client secret an operator sent with the office's provider: it goes to the secret store
/// under [`client_secret_name`], never into the office's record.
pub fn client_secret(body: &serde_json::Value) -> Option<&str> {
    body.get("staff_identity_provider")?.get("client_secret")?.as_str().filter(|secret| !secret.trim().is_empty())
}

/// Where the secret store keeps the client secret of `office_id`'s provider.
pub fn client_secret_name(office_id: &str) -> String {
    format!("office-idp-client-secret-{office_id}")
}

/// Which provider addresses an office may name: https, and in local mode also plain http on a
/// loopback address (the tests' provider and a developer's own run there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProviderAddresses {
    #[default]
    HttpsOnly,
    LoopbackHttpToo,
}

impl ProviderAddresses {
    /// Whether `url` is an address of this kind: an absolute URL without credentials or
    /// fragment.
    pub fn permit(self, url: &str) -> bool {
        let Ok(parsed) = url::Url::parse(url) else { return false };
        if !parsed.username().is_empty() || parsed.password().is_some() || parsed.fragment().is_some() {
            return false;
        }
        match parsed.scheme() {
            "https" => parsed.host().is_some(),
            "http" => self == ProviderAddresses::LoopbackHttpToo && is_loopback(&parsed),
            _ => false,
        }
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Letterhead {
    /// e.g. "Amt für Soziale Dienste – Sorgeregister".
    pub department: Option<String>,
    pub website: Option<String>,
}

/// Where a new or changed office would take over another office's area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Overlap {
    pub office_id: String,
    pub postcodes: Vec<String>,
    /// By key; never by name, which repeats across the country.
    pub municipalities: Vec<AreaMunicipality>,
    /// Both would keep the register for children born abroad.
    pub born_abroad: bool,
}

/// Areas must not overlap: a municipality has one office (for residence and register alike), a
/// postcode one office, and one office keeps the register for children born abroad.
pub fn overlaps(directory: &Directory, office: &Office) -> Vec<Overlap> {
    directory
        .offices
        .iter()
        .filter(|other| other.id != office.id)
        .filter_map(|other| {
            let postcodes: Vec<String> =
                office.postcodes.iter().filter(|p| other.postcodes.contains(p)).cloned().collect();
            let municipalities: Vec<AreaMunicipality> =
                office.municipalities.iter().filter(|m| other.covers(&m.ags)).cloned().collect();
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

/// A municipality of a tenant as operators send it: `{"ags": "03352011", "name": "…"}`, or a
/// name alone, which is taken only where it names exactly one municipality of the directory.
fn parse_area_municipality(value: &serde_json::Value, places: &Places) -> Result<AreaMunicipality, Problem> {
    use super::values::Text;
    match value {
        serde_json::Value::Object(fields) => {
            let ags = fields.get("ags").and_then(serde_json::Value::as_str).ok_or(Problem::Required)?;
            let ags = Ags::parse(ags)?;
            let official = places.get(&ags).ok_or(Problem::UnknownMunicipality)?;
            let name = match fields.get("name") {
                None | Some(serde_json::Value::Null) => official.name.clone(),
                Some(name) => Text::parse(name.as_str().ok_or(Problem::NotText)?)?.as_str().to_owned(),
            };
            Ok(AreaMunicipality { ags, name })
        }
        serde_json::Value::String(name) => match places.resolve(name) {
            Resolution::One(found) => Ok(AreaMunicipality { ags: found.ags.clone(), name: found.name.clone() }),
            Resolution::Several(_) => Err(Problem::AmbiguousMunicipality),
            Resolution::NotFound => Err(Problem::UnknownMunicipality),
        },
        _ => Err(Problem::NotAnObject),
    }
}

/// Parses an office (tenant) as operators send it; every invalid field is named (a municipality
/// by its position: `municipalities.2`).
pub fn parse_office(
    body: &serde_json::Value,
    places: &Places,
    addresses: ProviderAddresses,
) -> Result<Office, crate::input::FieldErrors> {
    use super::values::{ClientId, EmailAddress, Postcode, Text};
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
    let email = errors.take("email", root.text("email").and_then(EmailAddress::parse).map(|e| e.as_str().to_owned()));
    let opening_hours = optional_text(&mut errors, root, "opening_hours", "opening_hours");
    let postcodes = match root.value("postcodes") {
        None => Some(vec![]),
        Some(_) => list(&mut errors, "postcodes", &|p| Postcode::parse(p).map(|p| p.as_str().to_owned())),
    };
    let municipalities = match root.value("municipalities") {
        Some(serde_json::Value::Array(items)) if !items.is_empty() => {
            let parsed: Vec<Option<AreaMunicipality>> = items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    errors.take(&format!("municipalities.{index}"), parse_area_municipality(item, places))
                })
                .collect();
            parsed.into_iter().collect::<Option<Vec<_>>>()
        }
        Some(serde_json::Value::Array(_)) | None => errors.take("municipalities", Err(Problem::Required)),
        Some(_) => errors.take("municipalities", Err(Problem::NotAnObject)),
    };
    let connected = errors.take("connected", root.yes_no("connected"));
    let auto_issue = errors.take("auto_issue", root.yes_no("auto_issue"));
    let required_documents = match root.value("required_documents") {
        None => Some(vec![]),
        Some(_) => list(&mut errors, "required_documents", &|d| {
            DocumentKind::parse(d).map(|kind| kind.code().to_owned()).ok_or(Problem::NotAChoice)
        })
        .map(|codes| codes.iter().filter_map(|code| DocumentKind::parse(code)).collect()),
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
            let address = |errors: &mut FieldErrors, url: Result<Option<&str>, Problem>, name: &str| {
                let checked = url.and_then(|url| match url {
                    Some(url) if addresses.permit(url) => Ok(Some(url.trim_end_matches('/').to_owned())),
                    Some(_) => Err(Problem::UrlFormat),
                    None => Ok(None),
                });
                errors.take(&format!("staff_identity_provider.{name}"), checked)
            };
            let issuer = address(&mut errors, idp.text("issuer").map(Some), "issuer").map(Option::unwrap_or_default);
            let jwks_url = address(&mut errors, idp.optional_text("jwks_url"), "jwks_url");
            let field = |name: &str| format!("staff_identity_provider.{name}");
            let client_id = text(&mut errors, idp, "client_id", &field("client_id"));
            let roles_claim = optional_text(&mut errors, idp, "roles_claim", &field("roles_claim"));
            let audience = optional_text(&mut errors, idp, "audience", &field("audience"));
            // The secret itself is kept apart (see `client_secret`); the office only says it has
            // one, also when a change leaves the stored one as it is (`confidential: true`).
            let secret = optional_text(&mut errors, idp, "client_secret", &field("client_secret"));
            let confidential = if idp.has("confidential") {
                errors.take(&field("confidential"), idp.yes_no("confidential"))
            } else {
                Some(false)
            };
            Some(Some(StaffIdentityProvider {
                issuer: issuer?,
                client_id: client_id?,
                roles_claim: roles_claim?,
                audience: audience?,
                jwks_url: jwks_url?,
                confidential: secret?.is_some() || confidential?,
            }))
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

/// All offices with the directory of municipalities: answers the routing questions.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    offices: Vec<Office>,
    places: Arc<Places>,
    /// Office (index) by the municipalities of its area.
    by_ags: HashMap<Ags, usize>,
    /// Office (index) by the postcodes it lists itself.
    by_postcode: HashMap<String, usize>,
}

/// Why the office of a mother's residence could not be found, with what she may choose from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResidenceProblem<'a> {
    /// Neither the directory nor an office knows the postcode.
    PostcodeUnknown,
    /// No office of the platform covers the postcode (or the chosen municipality).
    NoOffice,
    /// The office does not take requests through this service (its contact is shown).
    NotConnected(&'a Office),
    /// The postcode spans municipalities of several offices: she chooses hers.
    Choose(Vec<&'a Municipality>),
}

impl ResidenceProblem<'_> {
    pub fn problem(&self) -> Problem {
        match self {
            ResidenceProblem::PostcodeUnknown => Problem::PostcodeUnknown,
            ResidenceProblem::NoOffice => Problem::NoOfficeForPostcode,
            ResidenceProblem::NotConnected(_) => Problem::OfficeNotConnected,
            ResidenceProblem::Choose(_) => Problem::AmbiguousMunicipality,
        }
    }
}

/// A place that does not lead to one office: the field, what is wrong, and what she may choose
/// from (several municipalities of one name or one postcode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved<'a> {
    pub field: &'static str,
    pub problem: Problem,
    pub choices: Vec<&'a Municipality>,
}

impl<'a> Unresolved<'a> {
    pub fn new(field: &'static str, problem: Problem) -> Self {
        Unresolved { field, problem, choices: vec![] }
    }

    /// The office of her residence could not be found: on the postcode field, or on the
    /// municipality field where she has to choose (`chosen`: the field of her choice).
    pub fn residence(postcode_field: &'static str, chosen_field: &'static str, problem: ResidenceProblem<'a>) -> Self {
        match problem {
            ResidenceProblem::Choose(choices) => {
                Unresolved { field: chosen_field, problem: Problem::AmbiguousMunicipality, choices }
            }
            other => Unresolved::new(postcode_field, other.problem()),
        }
    }
}

/// Where a child was born, as the directory resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BirthPlace<'a> {
    /// Born abroad (or at an unknown place): the register is the Land Berlin's.
    Abroad,
    Municipality(&'a Municipality),
    /// Not in the directory (or she said it is not in the list): no register office, a case
    /// worker's review at the issuing office; never a guess.
    Unknown,
}

impl Directory {
    pub fn new(offices: Vec<Office>, places: Arc<Places>) -> Self {
        let mut by_ags = HashMap::new();
        let mut by_postcode = HashMap::new();
        for (index, office) in offices.iter().enumerate() {
            for municipality in &office.municipalities {
                by_ags.entry(municipality.ags.clone()).or_insert(index);
            }
            for postcode in &office.postcodes {
                by_postcode.entry(postcode.clone()).or_insert(index);
            }
        }
        Self { offices, places, by_ags, by_postcode }
    }

    pub fn places(&self) -> &Places {
        &self.places
    }

    /// The directory of municipalities, to build another directory on (a cache refresh).
    pub fn shared_places(&self) -> Arc<Places> {
        self.places.clone()
    }

    pub fn offices(&self) -> &[Office] {
        &self.offices
    }

    pub fn get(&self, id: &str) -> Option<&Office> {
        self.offices.iter().find(|office| office.id == id)
    }

    /// The office whose area holds the municipality.
    pub fn office_of(&self, ags: &Ags) -> Option<&Office> {
        self.by_ags.get(ags).map(|index| &self.offices[*index])
    }

    /// The offices serving a postcode, with the municipality each serves it for (none where an
    /// office lists a postcode the directory does not know).
    pub fn offices_for_postcode(&self, postcode: &str) -> Vec<(Option<&Municipality>, &Office)> {
        let municipalities = self.places.of_postcode(postcode);
        if municipalities.is_empty() {
            return self.by_postcode.get(postcode).map(|index| (None, &self.offices[*index])).into_iter().collect();
        }
        municipalities.into_iter().filter_map(|m| self.office_of(&m.ags).map(|office| (Some(m), office))).collect()
    }

    /// The office of the area a mother lives in (it issues the certificate, connected or not):
    /// by the municipalities of her postcode, or by the municipality she chose where the
    /// postcode spans the areas of several offices.
    pub fn residence_office(&self, postcode: &str, chosen: Option<&Ags>) -> Result<&Office, ResidenceProblem<'_>> {
        let municipalities = self.places.of_postcode(postcode);
        if municipalities.is_empty() {
            let listed = self.by_postcode.get(postcode).map(|index| &self.offices[*index]);
            return listed.ok_or(ResidenceProblem::PostcodeUnknown);
        }
        if let Some(chosen) = chosen.filter(|ags| municipalities.iter().any(|m| m.ags == **ags)) {
            return self.office_of(chosen).ok_or(ResidenceProblem::NoOffice);
        }
        let mut offices: Vec<&Office> = municipalities.iter().filter_map(|m| self.office_of(&m.ags)).collect();
        offices.dedup_by(|a, b| a.id == b.id);
        let all_covered = municipalities.iter().all(|m| self.office_of(&m.ags).is_some());
        match offices.as_slice() {
            [] => Err(ResidenceProblem::NoOffice),
            // One office for every municipality of the postcode: no need to ask.
            [only] if all_covered => Ok(only),
            _ => Err(ResidenceProblem::Choose(municipalities)),
        }
    }

    /// The office that issues the certificate to a mother living at `postcode`, if it takes
    /// requests through this service.
    pub fn issuing_office(&self, postcode: &str, chosen: Option<&Ags>) -> Result<&Office, ResidenceProblem<'_>> {
        let office = self.residence_office(postcode, chosen)?;
        if office.connected { Ok(office) } else { Err(ResidenceProblem::NotConnected(office)) }
    }

    /// The offices whose own identity provider for staff is `issuer`.
    /// The offices whose staff sign in at their own provider, as the sign-in page lists them:
    /// all, or those whose name holds `query` (case ignored) or whose area has `query` as postcode.
    pub fn offices_signing_in(&self, query: &str) -> Vec<&Office> {
        let query = query.trim();
        let by_postcode: Vec<&str> = if query.len() == 5 && query.bytes().all(|b| b.is_ascii_digit()) {
            self.offices_for_postcode(query).into_iter().map(|(_, office)| office.id.as_str()).collect()
        } else {
            Vec::new()
        };
        let needle = query.to_lowercase();
        let mut found: Vec<&Office> = self
            .offices
            .iter()
            .filter(|office| office.staff_identity_provider.is_some())
            .filter(|office| {
                needle.is_empty()
                    || office.name.to_lowercase().contains(&needle)
                    || by_postcode.contains(&office.id.as_str())
            })
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found
    }

    pub fn staff_identity_providers<'a>(
        &'a self,
        issuer: &'a str,
    ) -> impl Iterator<Item = (&'a Office, &'a StaffIdentityProvider)> + 'a {
        self.offices.iter().filter_map(move |office| {
            office.staff_identity_provider.as_ref().filter(|idp| idp.issuer == issuer).map(|idp| (office, idp))
        })
    }

    /// Where a child was born: abroad, the municipality of its key, or, without a key, the one
    /// municipality its typed name fits. A name that fits several is `Err` with the choice; an
    /// unknown key is `Err` too. `key` `Some(None)`: she said the place is not in the directory.
    pub fn birth_place<'a>(
        &'a self,
        typed: &str,
        key: Option<Option<&Ags>>,
        born_abroad: bool,
    ) -> Result<BirthPlace<'a>, (Problem, Vec<&'a Municipality>)> {
        if born_abroad {
            return Ok(BirthPlace::Abroad);
        }
        match key {
            Some(Some(ags)) => {
                self.places.get(ags).map(BirthPlace::Municipality).ok_or((Problem::UnknownMunicipality, vec![]))
            }
            Some(None) => Ok(BirthPlace::Unknown),
            None => match self.places.resolve(typed) {
                Resolution::One(municipality) => Ok(BirthPlace::Municipality(municipality)),
                Resolution::Several(choices) => Err((Problem::AmbiguousMunicipality, choices)),
                Resolution::NotFound => Ok(BirthPlace::Unknown),
            },
        }
    }

    /// The office that keeps the register for a child born at `birth_place`.
    pub fn register_office(&self, birth_place: &BirthPlace) -> Option<&Office> {
        match birth_place {
            BirthPlace::Abroad => self.offices.iter().find(|office| office.keeps_register_for_born_abroad),
            BirthPlace::Municipality(municipality) => self.office_of(&municipality.ags),
            BirthPlace::Unknown => None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::LazyLock;

    use super::*;

    /// The shipped directory, read once for all tests.
    pub static PLACES: LazyLock<Arc<Places>> = LazyLock::new(|| Arc::new(Places::shipped()));

    pub fn ags(code: &str) -> Ags {
        Ags::parse(code).unwrap()
    }

    /// An office of the municipalities `keys` (names from the directory).
    pub fn office(id: &str, keys: &[&str]) -> Office {
        Office {
            id: id.into(),
            name: format!("Jugendamt {id}"),
            address: PostalAddress {
                street: "Am Amt".into(),
                house_number: "1".into(),
                postcode: "10115".into(),
                city: id.into(),
            },
            phone: "+49 30 000000".into(),
            email: format!("{id}@example.org"),
            opening_hours: None,
            postcodes: vec![],
            municipalities: keys
                .iter()
                .map(|key| AreaMunicipality { ags: ags(key), name: PLACES.get(&ags(key)).unwrap().name.clone() })
                .collect(),
            connected: true,
            auto_issue: true,
            required_documents: vec![],
            retention_days: 365,
            keeps_register_for_born_abroad: false,
            staff_identity_provider: None,
            letterhead: None,
        }
    }

    pub const BREMEN: &str = "04011000";
    pub const CUXHAVEN: &str = "03352011";
    pub const OTTERNDORF: &str = "03352046";
    pub const BERLIN: &str = "11000000";

    pub fn offices() -> Vec<Office> {
        let mut berlin = office("berlin", &[BERLIN]);
        berlin.keeps_register_for_born_abroad = true;
        vec![office("bremen", &[BREMEN]), office("cuxhaven", &[CUXHAVEN, OTTERNDORF]), berlin]
    }

    pub fn directory() -> Directory {
        Directory::new(offices(), PLACES.clone())
    }

    #[test]
    fn the_residence_office_is_found_by_the_municipalities_of_the_postcode() {
        assert_eq!(directory().residence_office("28203", None).unwrap().id, "bremen");
        assert_eq!(directory().residence_office("27472", None).unwrap().id, "cuxhaven");
        assert_eq!(directory().residence_office("99999", None).err(), Some(ResidenceProblem::PostcodeUnknown));
        // 23730 is Neustadt in Holstein and three villages around it; none is on the platform.
        assert_eq!(directory().residence_office("23730", None).err(), Some(ResidenceProblem::NoOffice));
    }

    #[test]
    fn a_postcode_across_two_offices_asks_for_her_municipality() {
        // 06333: Falkenstein/Harz (Landkreis Harz) and Hettstedt (Mansfeld-Südharz).
        let offices = vec![office("harz", &["15085110"]), office("mansfeld-suedharz", &["15087220"])];
        let directory = Directory::new(offices, PLACES.clone());
        let Err(ResidenceProblem::Choose(choices)) = directory.residence_office("06333", None) else {
            panic!("two offices: she chooses");
        };
        assert_eq!(choices.iter().map(|m| m.ags.as_str()).collect::<Vec<_>>(), ["15085110", "15087220"]);
        assert_eq!(directory.residence_office("06333", Some(&ags("15087220"))).unwrap().id, "mansfeld-suedharz");
        // A municipality of another postcode is no choice for this one.
        assert!(directory.residence_office("06333", Some(&ags(BREMEN))).is_err());
        // One office for one of the two, none for the other: she might live in the other.
        let one = Directory::new(vec![office("harz", &["15085110"])], PLACES.clone());
        assert!(matches!(one.residence_office("06333", None), Err(ResidenceProblem::Choose(_))));
        assert_eq!(one.residence_office("06333", Some(&ags("15087220"))).err(), Some(ResidenceProblem::NoOffice));
    }

    #[test]
    fn a_postcode_the_directory_does_not_know_is_served_by_an_office_that_lists_it() {
        let mut bremen = office("bremen", &[BREMEN]);
        bremen.postcodes = vec!["28999".into()];
        let directory = Directory::new(vec![bremen], PLACES.clone());
        assert_eq!(directory.residence_office("28999", None).unwrap().id, "bremen");
    }

    #[test]
    fn only_a_connected_residence_office_issues() {
        let mut offices = offices();
        assert_eq!(
            Directory::new(offices.clone(), PLACES.clone()).issuing_office("27472", None).unwrap().id,
            "cuxhaven"
        );
        offices[0].connected = false;
        let directory = Directory::new(offices, PLACES.clone());
        assert!(
            matches!(directory.issuing_office("28195", None), Err(ResidenceProblem::NotConnected(o)) if o.id == "bremen")
        );
        assert_eq!(directory.issuing_office("28195", None).unwrap_err().problem(), Problem::OfficeNotConnected);
    }

    #[test]
    fn the_register_office_is_the_one_of_the_birth_municipality() {
        let directory = directory();
        let born = |typed: &str, key: Option<Option<&Ags>>| directory.birth_place(typed, key, false);
        let otterndorf = born("Otterndorf", None).unwrap();
        assert_eq!(directory.register_office(&otterndorf).unwrap().id, "cuxhaven");
        let (problem, choices) = born("Neustadt", None).unwrap_err();
        assert_eq!(problem, Problem::AmbiguousMunicipality);
        assert!(choices.len() >= 17);
        // The key decides, whatever she typed.
        let keyed = born("Neustadt", Some(Some(&ags(BREMEN)))).unwrap();
        assert_eq!(directory.register_office(&keyed).unwrap().id, "bremen");
        assert_eq!(born("Atlantis", None).unwrap(), BirthPlace::Unknown);
        assert_eq!(born("Neustadt", Some(None)).unwrap(), BirthPlace::Unknown, "not in the list: no guess");
        assert_eq!(born("x", Some(Some(&ags("99999999")))).unwrap_err().0, Problem::UnknownMunicipality);
        assert!(directory.register_office(&BirthPlace::Unknown).is_none());
    }

    #[test]
    fn children_born_abroad_are_registered_in_berlin() {
        let directory = directory();
        let abroad = directory.birth_place("Wien", None, true).unwrap();
        assert_eq!(directory.register_office(&abroad).unwrap().id, "berlin");
    }

    #[test]
    fn an_offices_provider_is_https_and_its_secret_stays_out_of_the_record() {
        let mut body = tenant();
        body["staff_identity_provider"] = serde_json::json!({
            "issuer": "https://login.landkreis-verden.example/", "client_id": "sorgeregister",
            "client_secret": "s3cr3t"
        });
        let office = parse_office(&body, &PLACES, ProviderAddresses::HttpsOnly).unwrap();
        let idp = office.staff_identity_provider.clone().unwrap();
        assert_eq!(idp.issuer, "https://login.landkreis-verden.example", "no trailing slash");
        assert!(idp.confidential);
        assert_eq!((idp.roles_claim(), idp.audience.as_deref()), ("roles", None));
        assert!(!serde_json::to_string(&office).unwrap().contains("s3cr3t"), "the record keeps no secret");
        assert_eq!(client_secret(&body), Some("s3cr3t"));

        for (issuer, local_ok) in [
            ("http://login.landkreis-verden.example", false),
            ("http://127.0.0.1:4000", true),
            ("http://[::1]:4000", true),
            ("http://localhost:4000", true),
            ("http://127.0.0.1.evil.example", false),
            ("https://user:pw@login.example", false),
            ("javascript:alert(1)", false),
            ("https://login.example/#x", false),
        ] {
            body["staff_identity_provider"]["issuer"] = issuer.into();
            let https_only = parse_office(&body, &PLACES, ProviderAddresses::HttpsOnly);
            assert_eq!(
                https_only.unwrap_err().get("staff_identity_provider.issuer"),
                Some(Problem::UrlFormat),
                "{issuer}"
            );
            let local = parse_office(&body, &PLACES, ProviderAddresses::LoopbackHttpToo);
            assert_eq!(local.is_ok(), local_ok, "{issuer} in local mode");
        }
        body["staff_identity_provider"] = serde_json::json!({"issuer": "https://login.example"});
        let errors = parse_office(&body, &PLACES, ProviderAddresses::HttpsOnly).unwrap_err();
        assert_eq!(errors.get("staff_identity_provider.client_id"), Some(Problem::Required));
    }

    #[test]
    fn the_sign_in_lists_offices_with_a_provider_by_name_or_postcode() {
        let mut offices = offices();
        for office in &mut offices[..2] {
            office.staff_identity_provider = Some(StaffIdentityProvider {
                issuer: format!("https://login.{}.example", office.id),
                client_id: "sorgeregister".into(),
                roles_claim: None,
                audience: None,
                jwks_url: None,
                confidential: false,
            });
        }
        let directory = Directory::new(offices, PLACES.clone());
        let ids = |query: &str| directory.offices_signing_in(query).iter().map(|o| o.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(""), ["bremen", "cuxhaven"], "berlin has no provider of its own");
        assert_eq!(ids("CUX"), ["cuxhaven"]);
        assert_eq!(ids("27472"), ["cuxhaven"], "a postcode of its area");
        assert_eq!(ids("10115"), Vec::<String>::new(), "berlin's, without a provider");
        assert_eq!(ids("<script>"), Vec::<String>::new());
    }

    fn tenant() -> serde_json::Value {
        serde_json::json!({
            "id": "jugendamt-verden", "name": "Jugendamt Landkreis Verden",
            "address": {"street": "Lindhooper Straße", "house_number": "67", "postcode": "27283", "city": "Verden (Aller)"},
            "phone": "+49 4231 15-0", "email": "jugendamt@landkreis-verden.example",
            "municipalities": [{"ags": "03361012", "name": "Verden (Aller), Stadt"}, "Achim"],
            "connected": true, "auto_issue": true, "retention_days": 365
        })
    }

    #[test]
    fn a_tenant_is_parsed_by_key_and_a_unique_name_is_resolved() {
        let office = parse_office(&tenant(), &PLACES, ProviderAddresses::HttpsOnly).unwrap();
        let keys: Vec<&str> = office.municipalities.iter().map(|m| m.ags.as_str()).collect();
        assert_eq!(keys, ["03361012", "03361001"]);
        assert_eq!(office.municipalities[1].name, "Achim, Stadt");
        assert!(office.postcodes.is_empty() && office.required_documents.is_empty());
        assert!(office.staff_identity_provider.is_none());
    }

    #[test]
    fn a_municipality_must_be_known_and_unambiguous() {
        let mut body = tenant();
        body["municipalities"] =
            serde_json::json!(["Neustadt", {"ags": "0336101"}, {"ags": "99999999"}, "Atlantis", 7, {"name": "x"}]);
        let errors = parse_office(&body, &PLACES, ProviderAddresses::HttpsOnly).unwrap_err();
        assert_eq!(errors.get("municipalities.0"), Some(Problem::AmbiguousMunicipality));
        assert_eq!(errors.get("municipalities.1"), Some(Problem::AgsFormat));
        assert_eq!(errors.get("municipalities.2"), Some(Problem::UnknownMunicipality));
        assert_eq!(errors.get("municipalities.3"), Some(Problem::UnknownMunicipality));
        assert_eq!(errors.get("municipalities.4"), Some(Problem::NotAnObject));
        assert_eq!(errors.get("municipalities.5"), Some(Problem::Required));
        body["municipalities"] = serde_json::json!([]);
        assert_eq!(
            parse_office(&body, &PLACES, ProviderAddresses::HttpsOnly).unwrap_err().get("municipalities"),
            Some(Problem::Required)
        );
    }

    #[test]
    fn invalid_tenants_name_every_field() {
        let mut body = tenant();
        body["id"] = "Verden!".into();
        body["email"] = "jugendamt at verden".into();
        body["phone"] = "call us".into();
        body["postcodes"] = serde_json::json!(["2728"]);
        body["retention_days"] = 5.into();
        body["required_documents"] = serde_json::json!(["selfie"]);
        body["staff_identity_provider"] =
            serde_json::json!({"issuer": "http://idp", "jwks_url": "https://idp/jwks", "audience": "x"});
        let errors = parse_office(&body, &PLACES, ProviderAddresses::HttpsOnly).unwrap_err();
        assert_eq!(errors.get("id"), Some(Problem::IdFormat));
        assert_eq!(errors.get("email"), Some(Problem::EmailFormat));
        assert_eq!(errors.get("phone"), Some(Problem::PhoneFormat));
        assert_eq!(errors.get("postcodes"), Some(Problem::PostcodeFormat));
        assert_eq!(errors.get("retention_days"), Some(Problem::RetentionRange));
        assert_eq!(errors.get("required_documents"), Some(Problem::NotAChoice));
        assert_eq!(errors.get("staff_identity_provider.issuer"), Some(Problem::UrlFormat));
    }

    #[test]
    fn overlap_is_by_key_never_by_name() {
        let directory = directory();
        let mut office = parse_office(&tenant(), &PLACES, ProviderAddresses::HttpsOnly).unwrap();
        office.municipalities.push(AreaMunicipality { ags: ags(BREMEN), name: "Bremen".into() });
        let found = overlaps(&directory, &office);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].office_id.as_str(), found[0].municipalities[0].ags.as_str()), ("bremen", BREMEN));
        assert!(overlaps(&directory, directory.get("bremen").unwrap()).is_empty(), "an office does not overlap itself");
        // Two towns called Neustadt are two municipalities: both offices may join.
        let holstein = office_named("ostholstein", "01055032");
        let ruebenberge = office_named("region-hannover", "03241012");
        let both = Directory::new(vec![holstein], PLACES.clone());
        assert!(overlaps(&both, &ruebenberge).is_empty());
    }

    fn office_named(id: &str, key: &str) -> Office {
        let mut office = office(id, &[key]);
        office.municipalities[0].name = "Neustadt".into();
        office
    }
}
