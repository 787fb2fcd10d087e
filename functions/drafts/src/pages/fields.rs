//! The form's fields as the step pages post them, mapped to and from the application's
//! contract shape: what each step asks, its values from the draft or prefilled from her
//! account and the pre-check, and the step's section from a posted form.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};
use shared::auth::CitizenClaims;
use shared::journey::form::{DraftData, Step, set_path};
use shared::journey::precheck::Answers;
use shared::web::FormData;
use shared::web::form::{date_parts, date_value};

/// The values of the step's inputs as stored in the draft (or prefilled), by input name.
pub(super) fn stored_values(step: Step, data: &Json) -> BTreeMap<String, String> {
    let application = DraftData(data);
    let mut values = BTreeMap::new();
    let mut put = |name: &str, value: Option<&str>| {
        if let Some(value) = value {
            values.insert(name.to_owned(), value.to_owned());
        }
    };
    for path in text_fields(step) {
        put(path, application.text(path));
    }
    for path in date_fields(step) {
        if let Some((day, month, year)) = application.text(path).and_then(date_parts) {
            put(&format!("{path}.day"), Some(&day));
            put(&format!("{path}.month"), Some(&month));
            put(&format!("{path}.year"), Some(&year));
        }
    }
    if step == Step::Child {
        let abroad = data.pointer("/child/born_abroad").and_then(Json::as_bool);
        put("child.born_abroad", abroad.map(|b| if b { "yes" } else { "no" }));
    }
    values
}

/// Text inputs (and radios sent as text) of each step, by their path in the application.
fn text_fields(step: Step) -> &'static [&'static str] {
    match step {
        Step::Applicant => {
            &["applicant.role", "applicant.representative.given_names", "applicant.representative.family_name"]
        }
        Step::Mother => &[
            "mother.given_names",
            "mother.family_name",
            "mother.birth_name",
            "mother.birth_place",
            "mother.address.street",
            "mother.address.house_number",
            "mother.address.postcode",
            "mother.address.city",
            "mother.address.municipality",
        ],
        Step::Child => &["child.given_names", "child.family_name", "child.birth_place"],
        Step::Delivery => &["delivery", "contact.email"],
        Step::Documents => &[],
    }
}

fn date_fields(step: Step) -> &'static [&'static str] {
    match step {
        Step::Mother => &["mother.birth_date"],
        Step::Child => &["child.birth_date"],
        _ => &[],
    }
}

/// The step's sections of the application from the posted form, by name.
pub(super) fn sections_from_form(step: Step, form: &FormData) -> Vec<(&'static str, Json)> {
    let mut data = Json::Object(Map::new());
    for path in text_fields(step) {
        let value = form.get(path).trim();
        // Left empty: absent, so the parser says "required" (or nothing for optional fields).
        if !value.is_empty() {
            set_path(&mut data, path, Json::from(value));
        }
    }
    for path in date_fields(step) {
        let part = |name: &str| form.get(&format!("{path}.{name}")).to_owned();
        let value = date_value(&part("day"), &part("month"), &part("year"));
        if !value.is_empty() {
            set_path(&mut data, path, Json::from(value));
        }
    }
    if step == Step::Child {
        let abroad = match form.get("child.born_abroad") {
            "yes" => Some(Json::Bool(true)),
            "no" => Some(Json::Bool(false)),
            "" => None,
            other => Some(Json::from(other)),
        };
        if let Some(abroad) = abroad {
            set_path(&mut data, "child.born_abroad", abroad);
        }
    }
    let mut sections: Vec<(&'static str, Json)> =
        step.sections().iter().map(|name| (*name, data.get(*name).cloned().unwrap_or_else(|| json!({})))).collect();
    let section = &mut sections[0].1;
    // A mother applying herself names no representative.
    if step == Step::Applicant && section.get("role").and_then(Json::as_str) != Some("representative") {
        if let Some(object) = section.as_object_mut() {
            object.remove("representative");
        }
    }
    // A representative's name fields always travel, so missing ones are named as missing.
    if step == Step::Applicant && section.get("role").and_then(Json::as_str) == Some("representative") {
        section.as_object_mut().expect("an object").entry("representative").or_insert_with(|| json!({}));
    }
    if step == Step::Mother {
        section.as_object_mut().expect("an object").entry("address").or_insert_with(|| json!({}));
    }
    sections
}

/// Values she has not given yet, taken from her BundID account and the pre-check.
pub(super) fn prefill(step: Step, data: &Json, citizen: &CitizenClaims, answers: &Answers) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    let application = DraftData(data);
    match step {
        Step::Applicant => {
            if let Some(role @ ("mother" | "representative")) = answers.get("applicant") {
                values.insert("applicant.role".into(), role.to_owned());
            }
            values.insert("applicant.representative.given_names".into(), citizen.given_name.clone());
            values.insert("applicant.representative.family_name".into(), citizen.family_name.clone());
        }
        Step::Mother => {
            if !application.is_representative() {
                values.insert("mother.given_names".into(), citizen.given_name.clone());
                values.insert("mother.family_name".into(), citizen.family_name.clone());
                if let Some(name) = &citizen.birth_name {
                    values.insert("mother.birth_name".into(), name.clone());
                }
                if let Some((day, month, year)) = citizen.birthdate.as_deref().and_then(date_parts) {
                    values.insert("mother.birth_date.day".into(), day);
                    values.insert("mother.birth_date.month".into(), month);
                    values.insert("mother.birth_date.year".into(), year);
                }
                if let Some(place) = &citizen.place_of_birth {
                    values.insert("mother.birth_place".into(), place.clone());
                }
                if let Some(address) = &citizen.address {
                    values.insert("mother.address.street".into(), address.street.clone());
                    values.insert("mother.address.house_number".into(), address.house_number.clone());
                    values.insert("mother.address.postcode".into(), address.postcode.clone());
                    values.insert("mother.address.city".into(), address.city.clone());
                }
            }
            if let Some(postcode) = answers.get("residence_postcode") {
                values.entry("mother.address.postcode".into()).or_insert_with(|| postcode.to_owned());
            }
        }
        Step::Child => {
            if let Some(abroad) = answers.get("child_born_abroad") {
                values.insert("child.born_abroad".into(), abroad.to_owned());
            }
        }
        Step::Delivery => {
            // Her account's address, shown to keep or change; emptied, she gets no mail.
            if let Some(email) = &citizen.email {
                values.insert("contact.email".into(), email.clone());
            }
        }
        Step::Documents => {}
    }
    values
}
