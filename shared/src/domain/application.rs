//! The application of one mother for one child, parsed from untrusted JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Date;

use super::places::Ags;
use super::precheck::Answer;
use super::values::{ClientId, EmailAddress, PersonName, Postcode, Problem, Text, age_on, iso_date, parse_birth_date};
use crate::input::{FieldErrors, Object};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Address {
    pub street: Text,
    pub house_number: Text,
    pub postcode: Postcode,
    pub city: Text,
    /// Her municipality: chosen where her postcode spans the areas of several offices, else
    /// the one her postcode has (set when the request is routed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality: Option<Ags>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Mother {
    pub given_names: PersonName,
    pub family_name: PersonName,
    pub birth_name: Option<PersonName>,
    #[serde(with = "iso_date")]
    pub birth_date: Date,
    pub birth_place: Text,
    pub address: Address,
}

/// The child as registered at birth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Child {
    pub given_names: PersonName,
    pub family_name: PersonName,
    #[serde(with = "iso_date")]
    pub birth_date: Date,
    /// The place of birth as she wrote it (XFamilie and the certificate carry it so).
    pub birth_place: Text,
    /// The municipality of birth by its key: given, or the one her birth place names (set when
    /// the request is routed); none where the place is not in the directory or abroad.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_municipality: Option<Ags>,
    pub born_abroad: bool,
}

/// A person holding the mother's written power of attorney.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Representative {
    pub given_names: PersonName,
    pub family_name: PersonName,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Applicant {
    Mother,
    Representative { representative: Representative },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Download,
    Post,
}

/// The mother's answers to the custody questions of the pre-check, carried into XFamilie's
/// Zusatzangaben. Left out means "I don't know".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Declarations {
    pub married_to_father: Answer,
    pub sorgeerklaerung: Answer,
    pub court_decision: Answer,
    pub foreign_joint_custody: Answer,
}

/// Where she is told that there is news about her request. Without an address, or with
/// notifications off, she finds the news on her status page only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Contact {
    pub email: Option<EmailAddress>,
    /// Left out: on, where she gives an address.
    #[serde(default = "notifications_on")]
    pub notifications: bool,
    /// The language she applied in, which her mails are written in (set on submission).
    #[serde(default)]
    #[schema(value_type = String, example = "de")]
    pub language: crate::texts::Lang,
}

fn notifications_on() -> bool {
    true
}

impl Default for Contact {
    fn default() -> Self {
        Contact { email: None, notifications: true, language: crate::texts::Lang::De }
    }
}

impl Contact {
    /// The address to write to, if she wants mail.
    pub fn mail_to(&self) -> Option<&EmailAddress> {
        self.email.as_ref().filter(|_| self.notifications)
    }

    /// Her address and choice as she changes them after submitting; the mails stay in the
    /// language she applied in.
    pub fn changed_to(&self, change: ContactChange) -> Contact {
        Contact { email: change.email, notifications: change.notifications, language: self.language }
    }
}

/// What she may change about her contact once the request is submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactChange {
    pub email: Option<EmailAddress>,
    pub notifications: bool,
}

/// Parses `PUT /api/v1/requests/{id}/contact`: `{"email"?, "notifications"?}` as in a
/// submission's `contact` (fields `email`, `notifications`).
pub fn parse_contact_change(body: &Value) -> Result<ContactChange, FieldErrors> {
    let mut errors = FieldErrors::default();
    let root = Object::root(body);
    if !body.is_object() {
        errors.add("email", Problem::NotAnObject);
        return Err(errors);
    }
    let contact = contact_fields(root, "", &mut errors);
    errors.finish(contact.map(|contact| ContactChange { email: contact.email, notifications: contact.notifications }))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Application {
    pub applicant: Applicant,
    pub mother: Mother,
    pub child: Child,
    pub delivery: Delivery,
    pub declarations: Declarations,
    /// Requests stored before she could give an address have none.
    #[serde(default)]
    pub contact: Contact,
}

/// What `POST /api/v1/requests` carries: the application and the draft it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub application: Application,
    pub draft_id: Option<ClientId>,
    /// `child.birth_municipality` as sent: absent (`None`: the birth place's name decides),
    /// `null` (`Some(None)`: she said the place is not in the directory) or a key.
    pub birth_municipality: Option<Option<Ags>>,
}

/// Where she wants to be told that there is news (`contact` of a submission). The mails are in
/// the language of the submission (`Accept-Language`, or the page's).
#[derive(utoipa::ToSchema)]
#[schema(example = json!({"email": "sophia.beispiel@example.org", "notifications": true}))]
pub struct ContactBody {
    pub email: Option<EmailAddress>,
    /// Left out: on, where an address is given.
    pub notifications: Option<bool>,
}

/// An application, as `POST /api/v1/requests` carries it.
#[derive(utoipa::ToSchema)]
#[schema(example = json!({
    "applicant": {"role": "mother"},
    "mother": {"given_names": "Sophia", "family_name": "Beispiel", "birth_name": null, "birth_date": "1994-05-02",
               "birth_place": "Bremen",
               "address": {"street": "Am Markt", "house_number": "1", "postcode": "28195", "city": "Bremen"}},
    "child": {"given_names": "Mia", "family_name": "Beispiel", "birth_date": "2021-03-14",
              "birth_place": "Bremen", "born_abroad": false},
    "delivery": "download"
}))]
pub struct SubmissionBody {
    pub applicant: Applicant,
    pub mother: Mother,
    /// One child per request. `birth_municipality`: the key where the birth place's name
    /// fits several municipalities (the 422 lists them), `null` for a place not in the directory.
    pub child: Child,
    pub delivery: Delivery,
    /// Her answers to the custody questions; left out, "I don't know".
    pub declarations: Option<Declarations>,
    /// Her e-mail address for news about the request (never its contents); left out, none.
    pub contact: Option<ContactBody>,
    /// The draft this application was made in: it is removed with the submission.
    pub draft_id: Option<ClientId>,
}

const YES_NO_UNKNOWN: &[(&str, Answer)] = &[("yes", Answer::Yes), ("no", Answer::No), ("unknown", Answer::Unknown)];

/// Parses a submission; `today` decides the age rules. Reports every invalid field at once.
pub fn parse_submission(body: &Value, today: Date) -> Result<Submission, FieldErrors> {
    let root = Object::root(body);
    let mut errors = FieldErrors::default();

    let applicant = parse_applicant(root, &mut errors);
    let mother = errors.take("mother", root.object("mother")).and_then(|m| parse_mother(m, today, &mut errors));
    let child = parse_child(root, today, &mut errors);
    let delivery =
        errors.take("delivery", root.choice("delivery", &[("download", Delivery::Download), ("post", Delivery::Post)]));
    let declarations = parse_declarations(root, &mut errors);
    let contact = parse_contact(root, &mut errors);
    let draft_id = match root.optional_text("draft_id") {
        Ok(None) => Some(None),
        Ok(Some(id)) => errors.take("draft_id", ClientId::parse(id)).map(Some),
        Err(problem) => errors.take("draft_id", Err(problem)),
    };

    let birth_municipality = match body.pointer("/child/birth_municipality") {
        None => Some(None),
        Some(Value::Null) => Some(Some(None)),
        Some(Value::String(key)) => errors.take("child.birth_municipality", Ags::parse(key)).map(|ags| Some(Some(ags))),
        Some(_) => errors.take("child.birth_municipality", Err(Problem::NotText)),
    };
    let parsed = match (applicant, mother, child, delivery, declarations, contact, draft_id, birth_municipality) {
        (
            Some(applicant),
            Some(mother),
            Some(child),
            Some(delivery),
            Some(declarations),
            Some(contact),
            Some(draft_id),
            Some(birth_municipality),
        ) => Some(Submission {
            application: Application { applicant, mother, child, delivery, declarations, contact },
            draft_id,
            birth_municipality,
        }),
        _ => None,
    };
    errors.finish(parsed)
}

fn parse_applicant(root: Object, errors: &mut FieldErrors) -> Option<Applicant> {
    let applicant = errors.take("applicant", root.object("applicant"))?;
    let role = errors.take("applicant.role", applicant.choice("role", &[("mother", 0), ("representative", 1)]))?;
    if role == 0 {
        return Some(Applicant::Mother);
    }
    let person = errors.take("applicant.representative", applicant.object("representative"))?;
    let given_names =
        errors.take("applicant.representative.given_names", person.text("given_names").and_then(PersonName::parse));
    let family_name =
        errors.take("applicant.representative.family_name", person.text("family_name").and_then(PersonName::parse));
    Some(Applicant::Representative {
        representative: Representative { given_names: given_names?, family_name: family_name? },
    })
}

fn parse_mother(mother: Object, today: Date, errors: &mut FieldErrors) -> Option<Mother> {
    let given_names = errors.take("mother.given_names", mother.text("given_names").and_then(PersonName::parse));
    let family_name = errors.take("mother.family_name", mother.text("family_name").and_then(PersonName::parse));
    let birth_name = errors.take(
        "mother.birth_name",
        mother.optional_text("birth_name").and_then(|name| name.map(PersonName::parse).transpose()),
    );
    let birth_date = errors.take(
        "mother.birth_date",
        mother
            .text("birth_date")
            .and_then(|raw| parse_birth_date(raw, today))
            .and_then(|date| if age_on(date, today) < 18 { Err(Problem::MotherMinor) } else { Ok(date) }),
    );
    let birth_place = errors.take("mother.birth_place", mother.text("birth_place").and_then(Text::parse));
    let address = errors.take("mother.address", mother.object("address")).and_then(|a| parse_address(a, errors));
    Some(Mother {
        given_names: given_names?,
        family_name: family_name?,
        birth_name: birth_name?,
        birth_date: birth_date?,
        birth_place: birth_place?,
        address: address?,
    })
}

fn parse_address(address: Object, errors: &mut FieldErrors) -> Option<Address> {
    let street = errors.take("mother.address.street", address.text("street").and_then(Text::parse));
    let house_number = errors.take("mother.address.house_number", address.text("house_number").and_then(Text::parse));
    let postcode = errors.take("mother.address.postcode", address.text("postcode").and_then(Postcode::parse));
    let city = errors.take("mother.address.city", address.text("city").and_then(Text::parse));
    let municipality = errors.take(
        "mother.address.municipality",
        address.optional_text("municipality").and_then(|ags| ags.map(Ags::parse).transpose()),
    );
    Some(Address {
        street: street?,
        house_number: house_number?,
        postcode: postcode?,
        city: city?,
        municipality: municipality?,
    })
}

fn parse_child(root: Object, today: Date, errors: &mut FieldErrors) -> Option<Child> {
    // One request covers exactly one child.
    if root.has("children") || root.value("child").is_some_and(Value::is_array) {
        errors.add("child", Problem::OneChildOnly);
        return None;
    }
    let child = errors.take("child", root.object("child"))?;
    let given_names = errors.take("child.given_names", child.text("given_names").and_then(PersonName::parse));
    let family_name = errors.take("child.family_name", child.text("family_name").and_then(PersonName::parse));
    let birth_date = errors.take(
        "child.birth_date",
        child
            .text("birth_date")
            .and_then(|raw| parse_birth_date(raw, today))
            .and_then(|date| if age_on(date, today) >= 18 { Err(Problem::ChildNotMinor) } else { Ok(date) }),
    );
    let birth_place = errors.take("child.birth_place", child.text("birth_place").and_then(Text::parse));
    let born_abroad = errors.take("child.born_abroad", child.yes_no("born_abroad"));
    Some(Child {
        given_names: given_names?,
        family_name: family_name?,
        birth_date: birth_date?,
        birth_place: birth_place?,
        birth_municipality: None,
        born_abroad: born_abroad?,
    })
}

fn parse_declarations(root: Object, errors: &mut FieldErrors) -> Option<Declarations> {
    let declarations = match root.value("declarations") {
        None => return Some(Declarations::unknown()),
        Some(_) => errors.take("declarations", root.object("declarations"))?,
    };
    let mut answer = |name: &str| {
        let path = format!("declarations.{name}");
        let given =
            if declarations.has(name) { declarations.choice(name, YES_NO_UNKNOWN) } else { Ok(Answer::Unknown) };
        // A "yes" here means joint custody; the pre-check would have stopped her.
        errors.take(&path, given.and_then(|a| if a == Answer::Yes { Err(Problem::NotEligible) } else { Ok(a) }))
    };
    Some(Declarations {
        married_to_father: answer("married_to_father")?,
        sorgeerklaerung: answer("sorgeerklaerung")?,
        court_decision: answer("court_decision")?,
        foreign_joint_custody: answer("foreign_joint_custody")?,
    })
}

fn parse_contact(root: Object, errors: &mut FieldErrors) -> Option<Contact> {
    let contact = match root.value("contact") {
        None | Some(Value::Null) => return Some(Contact::default()),
        Some(_) => errors.take("contact", root.object("contact"))?,
    };
    contact_fields(contact, "contact.", errors)
}

/// `email` and `notifications` of `contact`, their problems under `prefix`.
fn contact_fields(contact: Object, prefix: &str, errors: &mut FieldErrors) -> Option<Contact> {
    let email = errors.take(
        &format!("{prefix}email"),
        contact.optional_text("email").and_then(|email| email.map(EmailAddress::parse).transpose()),
    );
    let notifications = match contact.value("notifications") {
        None | Some(Value::Null) => Some(true),
        Some(Value::Bool(on)) => Some(*on),
        Some(_) => errors.take(&format!("{prefix}notifications"), Err(Problem::NotYesNo)),
    };
    Some(Contact { email: email?, notifications: notifications?, language: crate::texts::Lang::De })
}

impl Declarations {
    pub fn unknown() -> Self {
        Declarations {
            married_to_father: Answer::Unknown,
            sorgeerklaerung: Answer::Unknown,
            court_decision: Answer::Unknown,
            foreign_joint_custody: Answer::Unknown,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::date;

    pub const TODAY: Date = date!(2026 - 11 - 23);

    pub fn valid_body() -> Value {
        json!({
            "applicant": {"role": "mother"},
            "mother": {
                "given_names": "Sophia", "family_name": "Beispiel", "birth_date": "1994-05-02",
                "birth_place": "Bremen",
                "address": {"street": "Am Markt", "house_number": "1", "postcode": "28195", "city": "Bremen"}
            },
            "child": {"given_names": "Mia", "family_name": "Beispiel", "birth_date": "2021-03-14",
                      "birth_place": "Bremen", "born_abroad": false},
            "delivery": "download"
        })
    }

    fn problems(body: Value) -> FieldErrors {
        parse_submission(&body, TODAY).expect_err("should be refused")
    }

    #[test]
    fn a_complete_application_parses() {
        let submission = parse_submission(&valid_body(), TODAY).unwrap();
        assert_eq!(submission.application.child.given_names.as_str(), "Mia");
        assert_eq!(submission.application.declarations, Declarations::unknown());
        assert_eq!(submission.draft_id, None);
        assert_eq!(submission.birth_municipality, None, "not given: the name decides");
    }

    #[test]
    fn the_birth_municipality_is_a_key_or_null() {
        let mut body = valid_body();
        body["child"]["birth_municipality"] = json!("04011000");
        assert_eq!(
            parse_submission(&body, TODAY).unwrap().birth_municipality,
            Some(Some(Ags::parse("04011000").unwrap()))
        );
        body["child"]["birth_municipality"] = Value::Null;
        assert_eq!(parse_submission(&body, TODAY).unwrap().birth_municipality, Some(None));
        body["child"]["birth_municipality"] = json!("0401100");
        assert_eq!(problems(body.clone()).get("child.birth_municipality"), Some(Problem::AgsFormat));
        body["child"]["birth_municipality"] = json!(4011000);
        assert_eq!(problems(body.clone()).get("child.birth_municipality"), Some(Problem::NotText));
        body["child"]["birth_municipality"] = Value::Null;
        body["mother"]["address"]["municipality"] = json!("Bremen");
        assert_eq!(problems(body).get("mother.address.municipality"), Some(Problem::AgsFormat));
    }

    #[test]
    fn every_missing_field_is_named() {
        let errors = problems(json!({}));
        for field in ["applicant", "mother", "child", "delivery"] {
            assert_eq!(errors.get(field), Some(Problem::Required), "{field}");
        }
    }

    #[test]
    fn nested_fields_are_named_by_path() {
        let mut body = valid_body();
        body["mother"]["address"]["postcode"] = json!("2819");
        body["child"]["birth_date"] = json!("14.03.2021");
        body["mother"]["given_names"] = json!("Sophia3");
        let errors = problems(body);
        assert_eq!(errors.get("mother.address.postcode"), Some(Problem::PostcodeFormat));
        assert_eq!(errors.get("child.birth_date"), Some(Problem::DateFormat));
        assert_eq!(errors.get("mother.given_names"), Some(Problem::NameCharacters));
        assert_eq!(errors.iter().count(), 3);
    }

    #[test]
    fn one_request_covers_exactly_one_child() {
        let mut body = valid_body();
        body["children"] = json!([body["child"].clone(), body["child"].clone()]);
        assert_eq!(problems(body).get("child"), Some(Problem::OneChildOnly));
        let mut body = valid_body();
        body["child"] = json!([{"given_names": "Mia"}]);
        assert_eq!(problems(body).get("child"), Some(Problem::OneChildOnly));
    }

    #[test]
    fn an_adult_child_is_refused() {
        let mut body = valid_body();
        body["child"]["birth_date"] = json!("2008-11-23");
        assert_eq!(problems(body).get("child.birth_date"), Some(Problem::ChildNotMinor));
    }

    #[test]
    fn a_minor_mother_is_refused() {
        let mut body = valid_body();
        body["mother"]["birth_date"] = json!("2009-01-01");
        body["child"]["birth_date"] = json!("2026-01-01");
        assert_eq!(problems(body).get("mother.birth_date"), Some(Problem::MotherMinor));
    }

    #[test]
    fn a_representative_must_name_herself() {
        let mut body = valid_body();
        body["applicant"] = json!({"role": "representative", "representative": {"given_names": "Petra"}});
        assert_eq!(problems(body).get("applicant.representative.family_name"), Some(Problem::Required));
        let mut body = valid_body();
        body["applicant"] = json!({"role": "grandmother"});
        assert_eq!(problems(body).get("applicant.role"), Some(Problem::NotAChoice));
    }

    #[test]
    fn declared_joint_custody_is_not_eligible() {
        let mut body = valid_body();
        body["declarations"] = json!({"married_to_father": "yes", "sorgeerklaerung": "no"});
        assert_eq!(problems(body).get("declarations.married_to_father"), Some(Problem::NotEligible));
    }

    #[test]
    fn hostile_names_are_refused_not_mangled() {
        let mut body = valid_body();
        body["child"]["given_names"] = json!("#panic()");
        body["child"]["family_name"] = json!("<script>alert(1)</script>");
        let errors = problems(body);
        assert_eq!(errors.get("child.given_names"), Some(Problem::NameCharacters));
        assert_eq!(errors.get("child.family_name"), Some(Problem::NameCharacters));
    }

    #[test]
    fn the_application_round_trips_through_storage() {
        let application = parse_submission(&valid_body(), TODAY).unwrap().application;
        let stored = serde_json::to_value(&application).unwrap();
        assert_eq!(stored["child"]["birth_date"], "2021-03-14");
        assert_eq!(serde_json::from_value::<Application>(stored).unwrap(), application);
    }

    #[test]
    fn her_address_for_news_is_optional_and_checked() {
        let left_out = parse_submission(&valid_body(), TODAY).unwrap().application.contact;
        assert_eq!(left_out, Contact::default());
        assert_eq!(left_out.mail_to(), None);

        let mut body = valid_body();
        body["contact"] = json!({"email": " sophia.beispiel@example.org "});
        let contact = parse_submission(&body, TODAY).unwrap().application.contact;
        assert_eq!(contact.mail_to().map(EmailAddress::as_str), Some("sophia.beispiel@example.org"));

        body["contact"]["notifications"] = json!(false);
        let off = parse_submission(&body, TODAY).unwrap().application.contact;
        assert_eq!(off.email.as_ref().map(EmailAddress::as_str), Some("sophia.beispiel@example.org"));
        assert_eq!(off.mail_to(), None, "switched off: no mail");

        for (contact, field, problem) in [
            (json!({"email": "sophia"}), "contact.email", Problem::EmailFormat),
            (json!({"email": "a@b.de\r\nBcc: x@y.de"}), "contact.email", Problem::EmailFormat),
            (json!({"email": 7}), "contact.email", Problem::NotText),
            (json!({"notifications": "ja"}), "contact.notifications", Problem::NotYesNo),
            (json!("sophia@example.org"), "contact", Problem::NotAnObject),
        ] {
            let mut body = valid_body();
            body["contact"] = contact;
            assert_eq!(problems(body).get(field), Some(problem), "{field}");
        }
    }

    #[test]
    fn a_contact_change_is_read_like_a_submissions_contact_and_keeps_her_language() {
        let change =
            parse_contact_change(&json!({"email": "sophia.beispiel@example.org", "notifications": false})).unwrap();
        assert_eq!(change.email.as_ref().map(|e| e.as_str()), Some("sophia.beispiel@example.org"));
        assert!(!change.notifications);
        let before = Contact { email: None, notifications: true, language: crate::texts::Lang::En };
        let after = before.changed_to(change);
        assert_eq!((after.language, after.mail_to()), (crate::texts::Lang::En, None));
        let cleared = parse_contact_change(&json!({})).unwrap();
        assert_eq!((cleared.email, cleared.notifications), (None, true), "no address: no mail");
        let errors = parse_contact_change(&json!({"email": "x@y\r\nBcc: z@w", "notifications": "off"})).unwrap_err();
        assert_eq!(errors.get("email"), Some(Problem::EmailFormat));
        assert_eq!(errors.get("notifications"), Some(Problem::NotYesNo));
        assert!(parse_contact_change(&json!(["email"])).is_err());
    }

    #[test]
    fn requests_stored_before_contact_existed_still_read() {
        let mut stored = serde_json::to_value(parse_submission(&valid_body(), TODAY).unwrap().application).unwrap();
        stored.as_object_mut().unwrap().remove("contact");
        let application: Application = serde_json::from_value(stored).unwrap();
        assert_eq!(application.contact, Contact::default());
    }
}
