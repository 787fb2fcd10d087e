//! The application form as steps over one draft: applicant, mother, child, delivery, and the
//! documents where her office requires them. The web form keeps one draft per citizen
//! ([`WEB_DRAFT_ID`]) in the contract's shape, so the draft is exactly what
//! `POST /api/v1/requests` takes; each step is judged by the domain's own parser.

use axum::http::HeaderMap;
use serde_json::{Map, Value as Json};

use super::precheck::Answers;
use crate::domain::draft::Draft;
use crate::domain::office::{Directory, Office};
use crate::domain::places::Ags;
use crate::domain::upload::{DocumentKind, Upload, required_documents};
use crate::domain::values::{ClientId, today_in_germany};
use crate::http::CitizenCall;
use crate::records;
use crate::texts::{Lang, text};
use crate::web::form::FieldKind;
use crate::web::{self, PageError};

/// The draft the web form keeps (one per citizen; drafts live under their owner).
pub const WEB_DRAFT_ID: &str = "antrag";

/// The check-answers page, whose submit button the submit function serves.
pub const CHECK_PATH: &str = "/antrag/pruefen";
pub const DOCUMENTS_PATH: &str = "/antrag/nachweise";
/// Where she chooses the municipality of her child's birth when its name fits several, or none.
pub const BIRTH_PLACE_PATH: &str = "/antrag/geburtsort";

/// The steps of the form, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Applicant,
    Mother,
    Child,
    Delivery,
    Documents,
}

impl Step {
    /// The steps every application has; [`Step::Documents`] only where her office requires some.
    pub const FORM_STEPS: [Step; 4] = [Step::Applicant, Step::Mother, Step::Child, Step::Delivery];

    pub fn slug(self) -> &'static str {
        match self {
            Step::Applicant => "antragsteller",
            Step::Mother => "mutter",
            Step::Child => "kind",
            Step::Delivery => "zustellung",
            Step::Documents => "nachweise",
        }
    }

    /// The part of the application the step fills in; its presence in the draft means the
    /// step was answered.
    pub fn section(self) -> &'static str {
        self.sections()[0]
    }

    /// Every part of the application the step fills in: the delivery step also asks where she
    /// wants to be told about her request.
    pub fn sections(self) -> &'static [&'static str] {
        match self {
            Step::Applicant => &["applicant"],
            Step::Mother => &["mother"],
            Step::Child => &["child"],
            Step::Delivery => &["delivery", "contact"],
            Step::Documents => &["uploads"],
        }
    }

    pub fn path(self) -> String {
        format!("/antrag/{}", self.slug())
    }

    /// One of the [`Step::FORM_STEPS`] by its slug.
    pub fn parse(slug: &str) -> Option<Step> {
        Self::FORM_STEPS.into_iter().find(|step| step.slug() == slug)
    }

    /// The step a field of the application (`mother.address.postcode`) is asked in.
    pub fn of_field(path: &str) -> Option<Step> {
        let section = path.split('.').next().unwrap_or_default();
        [Step::Applicant, Step::Mother, Step::Child, Step::Delivery, Step::Documents]
            .into_iter()
            .find(|step| step.sections().contains(&section))
    }
}

/// How a field is answered, for the wording of its problems.
pub fn field_kind(path: &str) -> FieldKind {
    match path {
        "applicant.role" | "child.born_abroad" | "delivery" => FieldKind::Choice,
        path if path.ends_with("birth_date") => FieldKind::Date,
        _ => FieldKind::Text,
    }
}

/// What the form holds so far, in the contract's shape.
pub struct DraftData<'a>(pub &'a Json);

impl DraftData<'_> {
    pub fn text(&self, path: &str) -> Option<&str> {
        path.split('.').try_fold(self.0, |value, name| value.get(name)).and_then(Json::as_str)
    }

    pub fn is_representative(&self) -> bool {
        self.text("applicant.role") == Some("representative")
    }

    /// The office that will issue the certificate, once her postcode (and, where it spans the
    /// areas of several offices, her municipality) is known.
    pub fn office<'d>(&self, directory: &'d Directory) -> Option<&'d Office> {
        let postcode = self.text("mother.address.postcode")?;
        directory.issuing_office(postcode, self.residence_municipality().as_ref()).ok()
    }

    /// The municipality she chose for her address.
    pub fn residence_municipality(&self) -> Option<Ags> {
        self.text("mother.address.municipality").and_then(|ags| Ags::parse(ags).ok())
    }

    pub fn required_documents(&self, directory: &Directory) -> Vec<DocumentKind> {
        self.office(directory).map(|office| required_documents(office, self.is_representative())).unwrap_or_default()
    }

    pub fn uploads(&self) -> Vec<Upload> {
        self.0.get("uploads").and_then(|u| serde_json::from_value(u.clone()).ok()).unwrap_or_default()
    }

    /// The documents her office requires that she has not uploaded yet.
    pub fn missing_documents(&self, directory: &Directory) -> Vec<DocumentKind> {
        let uploaded = self.uploads();
        self.required_documents(directory)
            .into_iter()
            .filter(|kind| !uploaded.iter().any(|u| u.kind == *kind))
            .collect()
    }

    /// The steps she goes through: the documents step only where her office requires some.
    pub fn steps(&self, directory: &Directory) -> Vec<Step> {
        let mut steps = Step::FORM_STEPS.to_vec();
        if !self.required_documents(directory).is_empty() {
            steps.push(Step::Documents);
        }
        steps
    }

    /// Whether the municipality of her child's birth is settled: born abroad, a key, or `null`
    /// (she said the place is not in the directory).
    pub fn birth_place_settled(&self) -> bool {
        self.0.pointer("/child/born_abroad") == Some(&Json::Bool(true))
            || self.0.pointer("/child/birth_municipality").is_some()
    }

    fn is_done(&self, step: Step, directory: &Directory) -> bool {
        match step {
            Step::Documents => self.missing_documents(directory).is_empty(),
            Step::Child => self.0.get("child").is_some() && self.birth_place_settled(),
            step => self.0.get(step.section()).is_some(),
        }
    }

    /// Where she continues: the first step not done yet, else the check-answers page.
    pub fn resume_path(&self, directory: &Directory) -> String {
        match self.steps(directory).into_iter().find(|step| !self.is_done(*step, directory)) {
            None => CHECK_PATH.to_owned(),
            Some(Step::Child) if self.0.get("child").is_some() => BIRTH_PLACE_PATH.to_owned(),
            Some(step) => step.path(),
        }
    }
}

fn draft_id() -> ClientId {
    ClientId::parse(WEB_DRAFT_ID).expect("the web draft id is valid")
}

/// Her web draft, if she has one; the pages read its uploads from `data.uploads` (see
/// [`DraftData::uploads`]), which holds the server's record of them.
pub async fn load_draft(call: &CitizenCall) -> Result<Option<Draft>, PageError> {
    let draft = records::draft(&*call.services.store, &call.who.sub, &draft_id()).await?;
    Ok(draft.map(|mut draft| {
        set_path(&mut draft.data, "uploads", serde_json::to_value(&draft.uploads).expect("uploads serialise"));
        draft
    }))
}

/// Saves her web draft with `data` (as the pages hold it: with the uploads the server recorded,
/// see [`load_draft`]), for another 30 days.
pub async fn save_draft(call: &CitizenCall, data: Json) -> Result<Draft, PageError> {
    let uploads = DraftData(&data).uploads();
    let mut draft = Draft::save(draft_id(), data, uploads, call.services.clock.now()).map_err(|problem| {
        tracing::error!(problem = problem.code(), "web draft refused");
        PageError::internal()
    })?;
    records::save_draft(&*call.services.store, &call.who.sub, &draft, Some(call.lang)).await?;
    set_path(&mut draft.data, "uploads", serde_json::to_value(&draft.uploads).expect("uploads serialise"));
    Ok(draft)
}

/// The draft's data with the pre-check's answers of this browser session, which are the latest.
pub fn with_precheck(mut data: Json, answers: &Answers) -> Json {
    if let (Some(object), Some(declarations)) = (data.as_object_mut(), answers.declarations()) {
        object.insert("declarations".into(), declarations);
    }
    data
}

/// What `POST /api/v1/requests` takes for her draft: the application and its draft id; the
/// uploads travel separately.
pub fn submission(draft: &Draft, headers: &HeaderMap) -> (Json, Vec<Upload>) {
    let mut body = with_precheck(draft.data.clone(), &Answers::from_headers(headers));
    let uploads = DraftData(&body).uploads();
    if let Some(object) = body.as_object_mut() {
        object.remove("uploads");
        object.insert("draft_id".into(), Json::from(WEB_DRAFT_ID));
    }
    (body, uploads)
}

/// Sets `value` at a dotted path, creating objects on the way.
pub fn set_path(target: &mut Json, path: &str, value: Json) {
    let mut names = path.split('.').peekable();
    let mut current = target;
    while let Some(name) = names.next() {
        if !current.is_object() {
            *current = Json::Object(Map::new());
        }
        let object = current.as_object_mut().expect("made an object above");
        if names.peek().is_none() {
            object.insert(name.to_owned(), value);
            return;
        }
        current = object.entry(name.to_owned()).or_insert_with(|| Json::Object(Map::new()));
    }
}

/// The notice on every step: until when the draft is kept.
pub fn saved_until(lang: Lang, draft: Option<&Draft>) -> Option<String> {
    draft.map(|d| web::format_date(lang, today_in_germany(d.expires_at)))
}

/// A kind of document in words.
pub fn document_label(lang: Lang, kind: DocumentKind) -> String {
    text(lang, &format!("nachweise.kind.{}", kind.code())).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_values_are_set_by_path() {
        let mut data = json!({"mother": {"given_names": "Sophia"}});
        set_path(&mut data, "mother.address.postcode", json!("28195"));
        assert_eq!(data, json!({"mother": {"given_names": "Sophia", "address": {"postcode": "28195"}}}));
    }

    #[test]
    fn fields_belong_to_the_step_that_asks_them() {
        assert_eq!(Step::of_field("mother.address.postcode"), Some(Step::Mother));
        assert_eq!(Step::of_field("applicant.representative.family_name"), Some(Step::Applicant));
        assert_eq!(Step::of_field("declarations.married_to_father"), None);
        assert_eq!(Step::of_field("contact.email"), Some(Step::Delivery));
        assert_eq!(field_kind("child.birth_date"), FieldKind::Date);
        assert_eq!(field_kind("delivery"), FieldKind::Choice);
    }
}
