//! The application form for citizens (`/antrag`): short steps (applicant, mother, child,
//! delivery, and the documents where her office requires them), each saving the draft for 30
//! days; then the check-answers page (`/antrag/pruefen`), whose submit button the submit
//! function serves.
//!
//! The web form keeps one draft per citizen ([`WEB_DRAFT_ID`]) in the contract's shape, so the
//! draft is exactly what `POST /api/v1/requests` takes. Each step is judged by the domain's own
//! parser (`parse_submission`), looking only at the problems of that step's fields.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use precheck::pages::Answers;
use serde::Serialize;
use serde_json::{Map, Value as Json, json};
use shared::auth::CitizenClaims;
use shared::domain::application::parse_submission;
use shared::domain::draft::Draft;
use shared::domain::office::{Directory, Office};
use shared::domain::upload::{DocumentKind, MAX_UPLOAD_BYTES, Upload, UploadProblem, required_documents};
use shared::domain::values::{self, ClientId, PersonName, Problem, Text, parse_birth_date, today_in_germany};
use shared::http::Services;
use shared::input::FieldErrors;
use shared::records;
use shared::texts::{Lang, text};
use shared::web::form::{
    DateInput, ErrorLink, FieldKind, FileInput, FormView, Radios, TextInput, Width, date_parts, date_value, field_id,
    problem_message,
};
use shared::web::{
    self, FormData, OfficeView, Page, PageError, PageResult, ReceivedFile, SignedIn, SignedInUntil, Templates, context,
};
use time::{Date, OffsetDateTime};

/// The draft the web form keeps (one per citizen; drafts live under their owner).
pub const WEB_DRAFT_ID: &str = "antrag";

const CHECK_PATH: &str = "/antrag/pruefen";
const DOCUMENTS_PATH: &str = "/antrag/nachweise";

static TEMPLATES: LazyLock<Templates> = LazyLock::new(|| {
    Templates::new(&[
        ("schritt.html", include_str!("../templates/schritt.html")),
        ("nachweise.html", include_str!("../templates/nachweise.html")),
        ("pruefen.html", include_str!("../templates/pruefen.html")),
    ])
});

/// Largest form post with files: room for every document at its limit, so that a file that is
/// too large still gets a friendly answer instead of a broken connection.
const MAX_UPLOAD_REQUEST: usize = 4 * MAX_UPLOAD_BYTES;

pub fn router() -> Router<Services> {
    web::pages(
        Router::new()
            .route("/antrag", get(resume))
            .route(CHECK_PATH, get(check))
            .route(DOCUMENTS_PATH, get(documents).post(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_REQUEST)))
            .route("/antrag/nachweise/entfernen", post(remove_upload))
            .route("/antrag/{step}", get(show_step).post(save_step)),
    )
}

// --- steps ----------------------------------------------------------------------------------

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
    const FORM_STEPS: [Step; 4] = [Step::Applicant, Step::Mother, Step::Child, Step::Delivery];

    pub fn slug(self) -> &'static str {
        match self {
            Step::Applicant => "antragsteller",
            Step::Mother => "mutter",
            Step::Child => "kind",
            Step::Delivery => "zustellung",
            Step::Documents => "nachweise",
        }
    }

    /// The part of the application the step fills in.
    fn section(self) -> &'static str {
        match self {
            Step::Applicant => "applicant",
            Step::Mother => "mother",
            Step::Child => "child",
            Step::Delivery => "delivery",
            Step::Documents => "uploads",
        }
    }

    pub fn path(self) -> String {
        format!("/antrag/{}", self.slug())
    }

    fn parse(slug: &str) -> Option<Step> {
        Self::FORM_STEPS.into_iter().find(|step| step.slug() == slug)
    }

    /// The step a field of the application (`mother.address.postcode`) is asked in.
    fn of_field(path: &str) -> Option<Step> {
        let section = path.split('.').next().unwrap_or_default();
        [Step::Applicant, Step::Mother, Step::Child, Step::Delivery, Step::Documents]
            .into_iter()
            .find(|step| step.section() == section)
    }
}

/// How a field is answered, for the wording of its problems.
fn field_kind(path: &str) -> FieldKind {
    match path {
        "applicant.role" | "child.born_abroad" | "delivery" => FieldKind::Choice,
        path if path.ends_with("birth_date") => FieldKind::Date,
        _ => FieldKind::Text,
    }
}

/// What the form holds so far, in the contract's shape.
struct Application<'a>(&'a Json);

impl Application<'_> {
    fn text(&self, path: &str) -> Option<&str> {
        path.split('.').try_fold(self.0, |value, name| value.get(name)).and_then(Json::as_str)
    }

    fn is_representative(&self) -> bool {
        self.text("applicant.role") == Some("representative")
    }

    /// The office that will issue the certificate, once her postcode is known.
    fn office<'d>(&self, directory: &'d Directory) -> Option<&'d Office> {
        self.text("mother.address.postcode").and_then(|postcode| directory.issuing_office(postcode).ok())
    }

    fn required_documents(&self, directory: &Directory) -> Vec<DocumentKind> {
        self.office(directory).map(|office| required_documents(office, self.is_representative())).unwrap_or_default()
    }

    fn uploads(&self) -> Vec<Upload> {
        self.0.get("uploads").and_then(|u| serde_json::from_value(u.clone()).ok()).unwrap_or_default()
    }

    /// The steps she goes through: the documents step only where her office requires some.
    fn steps(&self, directory: &Directory) -> Vec<Step> {
        let mut steps = Step::FORM_STEPS.to_vec();
        if !self.required_documents(directory).is_empty() {
            steps.push(Step::Documents);
        }
        steps
    }

    fn is_done(&self, step: Step, directory: &Directory) -> bool {
        match step {
            Step::Documents => {
                let uploaded = self.uploads();
                self.required_documents(directory).iter().all(|kind| uploaded.iter().any(|u| u.kind == *kind))
            }
            step => self.0.get(step.section()).is_some(),
        }
    }

    /// Where she continues: the first step not done yet, else the check-answers page.
    fn resume_path(&self, directory: &Directory) -> String {
        self.steps(directory)
            .into_iter()
            .find(|step| !self.is_done(*step, directory))
            .map_or_else(|| CHECK_PATH.to_owned(), Step::path)
    }
}

fn draft_id() -> ClientId {
    ClientId::parse(WEB_DRAFT_ID).expect("the web draft id is valid")
}

/// Her web draft, if she has one.
pub async fn load_draft(services: &Services, citizen: &CitizenClaims) -> Result<Option<Draft>, PageError> {
    Ok(records::draft(&*services.store, &citizen.sub, &draft_id()).await?)
}

async fn save_draft(services: &Services, citizen: &CitizenClaims, data: Json) -> Result<Draft, PageError> {
    let draft = Draft::save(draft_id(), data, services.clock.now()).map_err(|problem| {
        tracing::error!(problem = problem.code(), "web draft refused");
        PageError::internal()
    })?;
    records::save_draft(&*services.store, &citizen.sub, &draft).await?;
    Ok(draft)
}

/// The custody answers of the pre-check, as the application's `declarations`.
fn declarations(answers: &Answers) -> Option<Json> {
    let fields = ["married_to_father", "sorgeerklaerung", "court_decision", "foreign_joint_custody"];
    let given: Map<String, Json> =
        fields.iter().filter_map(|f| answers.get(f).map(|a| ((*f).to_owned(), Json::from(a)))).collect();
    (!given.is_empty()).then_some(Json::Object(given))
}

/// The draft's data with the pre-check's answers of this browser session, which are the latest.
fn with_precheck(mut data: Json, answers: &Answers) -> Json {
    if let (Some(object), Some(declarations)) = (data.as_object_mut(), declarations(answers)) {
        object.insert("declarations".into(), declarations);
    }
    data
}

/// What `POST /api/v1/requests` takes for her draft: the application and its draft id; the
/// uploads travel separately.
pub fn submission(draft: &Draft, headers: &HeaderMap) -> (Json, Vec<Upload>) {
    let mut body = with_precheck(draft.data.clone(), &Answers::from_headers(headers));
    let uploads = Application(&body).uploads();
    if let Some(object) = body.as_object_mut() {
        object.remove("uploads");
        object.insert("draft_id".into(), Json::from(WEB_DRAFT_ID));
    }
    (body, uploads)
}

/// The documents her office requires that she has not uploaded yet.
pub fn missing_documents(draft: &Draft, directory: &Directory) -> Vec<DocumentKind> {
    let application = Application(&draft.data);
    let uploaded = application.uploads();
    application
        .required_documents(directory)
        .into_iter()
        .filter(|kind| !uploaded.iter().any(|u| u.kind == *kind))
        .collect()
}

async fn resume(State(services): State<Services>, SignedIn(citizen): SignedIn) -> PageResult {
    let draft = load_draft(&services, &citizen).await?;
    let Some(draft) = draft else { return Ok(Redirect::to(&Step::Applicant.path()).into_response()) };
    let directory = records::directory(&*services.store).await?;
    Ok(Redirect::to(&Application(&draft.data).resume_path(&directory)).into_response())
}

/// The notice on every step: until when the draft is kept.
fn saved_until(lang: Lang, draft: Option<&Draft>) -> Option<String> {
    draft.map(|d| web::format_date(lang, today_in_germany(d.expires_at)))
}

// --- her BundID account ---------------------------------------------------------------------

/// What her login states about the mother, by field path, where the form takes it from there
/// instead of asking again (WCAG 3.3.7): only when she applies herself (a representative types
/// the mother's data), and only values the domain takes — anything else is asked, prefilled,
/// so that she can put it right. Her address is never among them: she can correct it.
struct Account(BTreeMap<&'static str, String>);

impl Account {
    fn of(citizen: &CitizenClaims, data: &Json, today: Date) -> Account {
        let mut known = BTreeMap::new();
        if Application(data).is_representative() {
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

    fn get(&self, path: &str) -> Option<&str> {
        self.0.get(path).map(String::as_str)
    }

    /// Puts what her account states into the application, over anything posted or stored.
    fn apply(&self, data: &mut Json) {
        for (path, value) in &self.0 {
            set_path(data, path, Json::from(value.as_str()));
        }
    }

    /// Whether the application's value at `path` is her account's (nothing to change there).
    fn supplied(&self, data: &Json, path: &str) -> bool {
        self.get(path).is_some() && Application(data).text(path) == self.get(path)
    }
}

/// A value of her account, shown instead of asked.
#[derive(Serialize)]
struct ShownValue {
    id: String,
    key: String,
    value: String,
    error: Option<String>,
}

/// The mother step's list of what her account states (the name in one row where both parts
/// come from it).
fn account_rows(form: &mut FormView, account: &Account, lang: Lang) -> Vec<ShownValue> {
    let mut rows = Vec::new();
    let mut row = |form: &mut FormView, path: &str, key: &str, value: String| {
        rows.push(ShownValue { id: field_id(path), key: text(lang, key).to_owned(), value, error: form.shown(path) });
    };
    match (account.get("mother.given_names"), account.get("mother.family_name")) {
        (Some(given), Some(family)) => {
            row(form, "mother.given_names", "antrag.check.name", format!("{given} {family}"))
        }
        (given, family) => {
            if let Some(given) = given {
                row(form, "mother.given_names", "antrag.given_names", given.to_owned());
            }
            if let Some(family) = family {
                row(form, "mother.family_name", "antrag.family_name", family.to_owned());
            }
        }
    }
    if let Some(name) = account.get("mother.birth_name") {
        row(form, "mother.birth_name", "antrag.account.birth_name", name.to_owned());
    }
    if let Some(date) = account.get("mother.birth_date").and_then(|raw| values::parse_date(raw).ok()) {
        row(form, "mother.birth_date", "antrag.birth_date", web::format_date(lang, date));
    }
    if let Some(place) = account.get("mother.birth_place") {
        row(form, "mother.birth_place", "antrag.birth_place", place.to_owned());
    }
    rows
}

/// Where "back" leads from `step`: the previous step, or the check-answers page when she came
/// from there to change something.
fn back_path(step: Step, steps: &[Step], to_check: bool) -> String {
    if to_check {
        return CHECK_PATH.to_owned();
    }
    let index = steps.iter().position(|s| *s == step).unwrap_or(0);
    index.checked_sub(1).map_or_else(|| "/vorab-check/ergebnis".to_owned(), |previous| steps[previous].path())
}

// --- the four form steps --------------------------------------------------------------------

/// The values of the step's inputs as stored in the draft (or prefilled), by input name.
fn stored_values(step: Step, data: &Json) -> BTreeMap<String, String> {
    let application = Application(data);
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
        ],
        Step::Child => &["child.given_names", "child.family_name", "child.birth_place"],
        Step::Delivery => &["delivery"],
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

/// Sets `value` at a dotted path, creating objects on the way.
fn set_path(target: &mut Json, path: &str, value: Json) {
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

/// The step's section of the application from the posted form.
fn section_from_form(step: Step, form: &FormData) -> Json {
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
    let mut section = data.get(step.section()).cloned().unwrap_or_else(|| json!({}));
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
    section
}

/// Values she has not given yet, taken from her BundID account and the pre-check.
fn prefill(step: Step, data: &Json, citizen: &CitizenClaims, answers: &Answers) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    let application = Application(data);
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
        Step::Delivery | Step::Documents => {}
    }
    values
}

/// One thing on a step page.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Item {
    Text(TextInput),
    Date(DateInput),
    Radios(Radios),
    /// Fields under a legend; `conditional`: only for a representative.
    Group {
        legend: String,
        conditional: bool,
        items: Vec<Item>,
    },
}

/// The fields of a step, laid out in order (which also orders the error summary).
/// On the mother step, what `account` states is not asked (see [`account_rows`]).
fn layout(step: Step, form: &mut FormView, data: &Json, account: &Account, lang: Lang) -> Vec<Item> {
    let own = |token: &'static str, yes: bool| yes.then_some(token);
    match step {
        Step::Applicant => {
            let role = form
                .radios(
                    "applicant.role",
                    "antrag.applicant.question",
                    &[("mother", "antrag.applicant.mother"), ("representative", "antrag.applicant.representative")],
                )
                .as_heading()
                .option_hint("representative", "antrag.applicant.representative_hint");
            let names = vec![
                Item::Text(
                    form.text("applicant.representative.given_names", "antrag.given_names")
                        .autocomplete(Some("given-name"))
                        .no_spellcheck(),
                ),
                Item::Text(
                    form.text("applicant.representative.family_name", "antrag.family_name")
                        .autocomplete(Some("family-name"))
                        .no_spellcheck(),
                ),
            ];
            vec![
                Item::Radios(role),
                Item::Group {
                    legend: text(lang, "antrag.applicant.representative_name").to_owned(),
                    conditional: true,
                    items: names,
                },
            ]
        }
        Step::Mother => {
            // Autofill only helps where the data is her own (WCAG 1.3.5), not for a representative.
            let self_applying = !Application(data).is_representative();
            let asked = |path: &str| account.get(path).is_none();
            // Laid out top to bottom: the error summary follows this order.
            let mut items = Vec::new();
            if asked("mother.given_names") {
                items.push(Item::Text(
                    form.text("mother.given_names", "antrag.given_names")
                        .autocomplete(own("given-name", self_applying))
                        .no_spellcheck(),
                ));
            }
            if asked("mother.family_name") {
                items.push(Item::Text(
                    form.text("mother.family_name", "antrag.family_name")
                        .autocomplete(own("family-name", self_applying))
                        .no_spellcheck(),
                ));
            }
            if asked("mother.birth_name") {
                items.push(Item::Text(
                    form.text("mother.birth_name", "antrag.mother.birth_name")
                        .hint("antrag.mother.birth_name_hint")
                        .no_spellcheck(),
                ));
            }
            if asked("mother.birth_date") {
                items.push(Item::Date(
                    form.date("mother.birth_date", "antrag.birth_date")
                        .hint("antrag.mother.birth_date_hint")
                        .autocomplete(own("bday", self_applying)),
                ));
            }
            if asked("mother.birth_place") {
                items.push(Item::Text(form.text("mother.birth_place", "antrag.birth_place")));
            }
            let address = vec![
                Item::Text(
                    form.text("mother.address.street", "antrag.street")
                        .autocomplete(own("address-line1", self_applying)),
                ),
                Item::Text(form.text("mother.address.house_number", "antrag.house_number").width(Width::Chars5)),
                Item::Text(
                    form.text("mother.address.postcode", "antrag.postcode")
                        .autocomplete(own("postal-code", self_applying))
                        .width(Width::Chars5)
                        .numeric()
                        .no_spellcheck(),
                ),
                Item::Text(
                    form.text("mother.address.city", "antrag.city").autocomplete(own("address-level2", self_applying)),
                ),
            ];
            items.push(Item::Group {
                legend: text(lang, "antrag.mother.address").to_owned(),
                conditional: false,
                items: address,
            });
            items
        }
        Step::Child => vec![
            Item::Text(form.text("child.given_names", "antrag.given_names").no_spellcheck()),
            Item::Text(
                form.text("child.family_name", "antrag.child.family_name")
                    .hint("antrag.child.family_name_hint")
                    .no_spellcheck(),
            ),
            Item::Date(form.date("child.birth_date", "antrag.birth_date").hint("antrag.child.birth_date_hint")),
            Item::Radios(form.radios(
                "child.born_abroad",
                "antrag.child.born_abroad",
                &[("no", "common.no"), ("yes", "common.yes")],
            )),
            Item::Text(form.text("child.birth_place", "antrag.birth_place").hint("antrag.child.birth_place_hint")),
        ],
        Step::Delivery => vec![Item::Radios(
            form.radios(
                "delivery",
                "antrag.delivery.question",
                &[("download", "antrag.delivery.download"), ("post", "antrag.delivery.post")],
            )
            .as_heading()
            .option_hint("download", "antrag.delivery.download_hint")
            .option_hint("post", "antrag.delivery.post_hint"),
        )],
        Step::Documents => Vec::new(),
    }
}

struct StepPage<'a> {
    step: Step,
    data: &'a Json,
    draft: Option<&'a Draft>,
    steps: &'a [Step],
    to_check: bool,
    /// What her account states about the mother (empty unless she applies herself).
    account: &'a Account,
    /// The end of her session.
    until: OffsetDateTime,
}

fn render_step(page: &Page, view: StepPage, mut form: FormView, status: StatusCode) -> PageResult {
    let lang = page.lang;
    // Shown first, so their problems (if any) come first in the error summary too.
    let known = if view.step == Step::Mother { account_rows(&mut form, view.account, lang) } else { Vec::new() };
    let items = layout(view.step, &mut form, view.data, view.account, lang);
    let number = view.steps.iter().position(|s| *s == view.step).unwrap_or(0) + 1;
    let slug = view.step.slug();
    // Radios that are the whole question carry the heading themselves.
    let heading_in_field = matches!(view.step, Step::Applicant | Step::Delivery);
    let title_key = match view.step {
        Step::Applicant => "antrag.applicant.question".to_owned(),
        Step::Delivery => "antrag.delivery.question".to_owned(),
        step => format!("antrag.{}.title", step.slug()),
    };
    // With her account's values shown, only the address is left to check.
    let intro_key =
        if known.is_empty() { format!("antrag.{slug}.intro") } else { "antrag.mutter.intro_account".into() };
    TEMPLATES.render_with_status(
        status,
        &page.clone().at(&view.step.path()),
        "schritt.html",
        context! {
            title => text(lang, &title_key),
            intro => shared::texts::lookup(lang, &intro_key),
            known,
            heading_in_field,
            number,
            total => view.steps.len(),
            items,
            saved_until => saved_until(lang, view.draft),
            // Until when she is signed in (German time); then she signs in again and finds her draft.
            session_until => web::format_date_time(lang, view.until),
            action => view.step.path(),
            back => back_path(view.step, view.steps, view.to_check),
            to_check => view.to_check,
            errors => form.errors(),
        },
    )
}

fn to_check(page: &Page, form: Option<&FormData>) -> bool {
    form.map_or(page.query("zurueck"), |f| Some(f.get("zurueck"))) == Some("pruefen")
}

async fn show_step(
    State(services): State<Services>,
    page: Page,
    SignedInUntil(citizen, until): SignedInUntil,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> PageResult {
    let step = Step::parse(&slug).ok_or_else(PageError::not_found)?;
    let draft = load_draft(&services, &citizen).await?;
    let data = draft.as_ref().map_or_else(|| json!({}), |d| d.data.clone());
    let directory = records::directory(&*services.store).await?;
    let steps = Application(&data).steps(&directory);
    let account = Account::of(&citizen, &data, today_in_germany(services.clock.now()));
    let values = if data.get(step.section()).is_some() {
        stored_values(step, &data)
    } else {
        prefill(step, &data, &citizen, &Answers::from_headers(&headers))
    };
    let view = StepPage {
        step,
        data: &data,
        draft: draft.as_ref(),
        steps: &steps,
        to_check: to_check(&page, None),
        account: &account,
        until,
    };
    render_step(&page, view, FormView::new(page.lang, values), StatusCode::OK)
}

async fn save_step(
    State(services): State<Services>,
    page: Page,
    SignedInUntil(citizen, until): SignedInUntil,
    headers: HeaderMap,
    Path(slug): Path<String>,
    form: FormData,
) -> PageResult {
    let step = Step::parse(&slug).ok_or_else(PageError::not_found)?;
    let lang = page.lang;
    let draft = load_draft(&services, &citizen).await?;
    let mut data = draft.as_ref().map_or_else(|| json!({}), |d| d.data.clone());
    set_path(&mut data, step.section(), section_from_form(step, &form));
    let today = today_in_germany(services.clock.now());
    // She applies herself: what her account states is taken from there, never from the post
    // (nor from what she typed before, as a representative).
    let account = Account::of(&citizen, &data, today);
    if data.get("mother").is_some() {
        account.apply(&mut data);
    }
    let directory = records::directory(&*services.store).await?;

    let mut problems: Vec<(String, Problem)> = parse_submission(&data, today)
        .err()
        .map(|errors| {
            errors
                .iter()
                .filter(|(path, _)| Step::of_field(path) == Some(step))
                .map(|(path, problem)| (path.to_owned(), problem))
                .collect()
        })
        .unwrap_or_default();
    // Tell her at once if her office does not take requests here, not only on submission.
    if step == Step::Mother && problems.iter().all(|(path, _)| path != "mother.address.postcode") {
        if let Some(Err(problem)) =
            Application(&data).text("mother.address.postcode").map(|p| directory.issuing_office(p))
        {
            problems.push(("mother.address.postcode".into(), problem));
        }
    }
    let back_to_check = to_check(&page, Some(&form));
    if !problems.is_empty() {
        let mut view = FormView::new(lang, form.0.clone());
        for (path, problem) in &problems {
            view.problem(path, problem_message(lang, *problem, field_kind(path)));
        }
        let steps = Application(&data).steps(&directory);
        let page_view = StepPage {
            step,
            data: &data,
            draft: draft.as_ref(),
            steps: &steps,
            to_check: back_to_check,
            account: &account,
            until,
        };
        return render_step(&page, page_view, view, StatusCode::UNPROCESSABLE_ENTITY);
    }

    let data = with_precheck(data, &Answers::from_headers(&headers));
    save_draft(&services, &citizen, data.clone()).await?;
    let application = Application(&data);
    let next = if back_to_check {
        application.resume_path(&directory)
    } else {
        let steps = application.steps(&directory);
        let index = steps.iter().position(|s| *s == step).unwrap_or(0);
        steps.get(index + 1).map_or_else(|| application.resume_path(&directory), |next| next.path())
    };
    Ok(Redirect::to(&next).into_response())
}

// --- documents ------------------------------------------------------------------------------

#[derive(Serialize)]
struct UploadedView {
    kind: &'static str,
    label: String,
    file_name: String,
    size: String,
}

fn kind_label(lang: Lang, kind: DocumentKind) -> String {
    text(lang, &format!("nachweise.kind.{}", kind.code())).to_owned()
}

fn render_documents(
    page: &Page,
    step: &DocumentsStep,
    draft: &Draft,
    problems: &[(DocumentKind, UploadProblem)],
    to_check: bool,
    until: OffsetDateTime,
) -> PageResult {
    let DocumentsStep { office, required, steps, .. } = step;
    let lang = page.lang;
    let uploads = Application(&draft.data).uploads();
    let uploaded: Vec<UploadedView> = uploads
        .iter()
        .filter(|u| required.contains(&u.kind))
        .map(|u| UploadedView {
            kind: u.kind.code(),
            label: kind_label(lang, u.kind),
            file_name: u.file_name.clone(),
            size: web::file_size(lang, u.size),
        })
        .collect();
    let mut errors = Vec::new();
    let inputs: Vec<FileInput> = required
        .iter()
        .filter(|kind| !uploads.iter().any(|u| u.kind == **kind))
        .map(|kind| {
            let id = field_id(&format!("uploads.{}", kind.code()));
            let error = problems.iter().find(|(k, _)| k == kind).map(|(_, problem)| {
                web::fill(
                    lang,
                    &format!("nachweise.problem.{}", problem.code()),
                    &[("document", &kind_label(lang, *kind))],
                )
            });
            if let Some(error) = &error {
                errors.push(ErrorLink { href: format!("#{id}"), text: error.clone() });
            }
            FileInput {
                name: format!("upload.{}", kind.code()),
                label: kind_label(lang, *kind),
                hint: text(lang, "nachweise.hint").to_owned(),
                id,
                error,
            }
        })
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let number = steps.iter().position(|s| *s == Step::Documents).unwrap_or(0) + 1;
    TEMPLATES.render_with_status(
        status,
        &page.clone().at(DOCUMENTS_PATH),
        "nachweise.html",
        context! {
            office => office.name,
            uploaded,
            inputs,
            errors,
            number,
            total => steps.len(),
            saved_until => saved_until(lang, Some(draft)),
            session_until => web::format_date_time(lang, until),
            back => back_path(Step::Documents, steps, to_check),
            to_check,
        },
    )
}

/// The documents step: her draft, her office, what it requires, and the steps around it.
struct DocumentsStep {
    draft: Draft,
    office: Office,
    required: Vec<DocumentKind>,
    steps: Vec<Step>,
}

/// The documents step, or where she belongs instead (no draft yet, or nothing to upload).
async fn documents_step(
    services: &Services,
    citizen: &CitizenClaims,
) -> Result<Result<DocumentsStep, String>, PageError> {
    let Some(draft) = load_draft(services, citizen).await? else { return Ok(Err("/antrag".into())) };
    let directory = records::directory(&*services.store).await?;
    let application = Application(&draft.data);
    let required = application.required_documents(&directory);
    match application.office(&directory).cloned() {
        Some(office) if !required.is_empty() => {
            let steps = application.steps(&directory);
            Ok(Ok(DocumentsStep { draft, office, required, steps }))
        }
        _ => Ok(Err(application.resume_path(&directory))),
    }
}

async fn documents(
    State(services): State<Services>,
    page: Page,
    SignedInUntil(citizen, until): SignedInUntil,
) -> PageResult {
    match documents_step(&services, &citizen).await? {
        Ok(step) => render_documents(&page, &step, &step.draft, &[], to_check(&page, None), until),
        Err(elsewhere) => Ok(Redirect::to(&elsewhere).into_response()),
    }
}

/// The files of the form (`upload.<kind>`), and whether she came from the check-answers page.
async fn read_files(
    multipart: &mut Multipart,
) -> Result<(Vec<(DocumentKind, ReceivedFile)>, bool), axum::extract::multipart::MultipartError> {
    let mut files = Vec::new();
    let mut to_check = false;
    while let Some(field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "zurueck" {
            to_check = field.text().await? == "pruefen";
            continue;
        }
        let Some(kind) = name.strip_prefix("upload.").and_then(DocumentKind::parse) else { continue };
        if let Some(file) = ReceivedFile::read(field).await? {
            files.push((kind, file));
        }
    }
    Ok((files, to_check))
}

async fn upload(
    State(services): State<Services>,
    page: Page,
    SignedInUntil(citizen, until): SignedInUntil,
    mut multipart: Multipart,
) -> PageResult {
    let step = match documents_step(&services, &citizen).await? {
        Ok(step) => step,
        Err(elsewhere) => return Ok(Redirect::to(&elsewhere).into_response()),
    };
    let (files, back_to_check) = match read_files(&mut multipart).await {
        Ok(read) => read,
        Err(error) => {
            // Mostly a post beyond MAX_UPLOAD_REQUEST: too large for any file to be judged.
            tracing::info!(%error, "upload could not be read");
            let problems: Vec<_> = step.required.iter().map(|kind| (*kind, UploadProblem::TooLarge)).collect();
            return render_documents(&page, &step, &step.draft, &problems, false, until);
        }
    };
    let mut uploads = Application(&step.draft.data).uploads();
    let mut problems = Vec::new();
    for (kind, file) in files.into_iter().filter(|(kind, _)| step.required.contains(kind)) {
        let file_type = match file.check() {
            Ok(file_type) => file_type,
            Err(problem) => {
                problems.push((kind, problem));
                continue;
            }
        };
        let key = format!("drafts/{}/{}.{}", services.ids.new_id(), kind.code(), file_type.extension());
        let size = file.bytes.len() as u64;
        services.documents.put(&key, file.bytes, file_type.content_type()).await?;
        let file_name = if file.file_name.is_empty() { kind_label(page.lang, kind) } else { file.file_name };
        if let Some(replaced) = uploads.iter().position(|u| u.kind == kind) {
            let old = uploads.remove(replaced);
            services.documents.delete(&old.key).await?;
        }
        uploads.push(Upload { kind, key, file_type, file_name, size });
    }
    let mut data = step.draft.data.clone();
    set_path(&mut data, "uploads", serde_json::to_value(&uploads).expect("uploads serialise"));
    let draft = save_draft(&services, &citizen, data).await?;
    for kind in &step.required {
        if !uploads.iter().any(|u| u.kind == *kind) && !problems.iter().any(|(k, _)| k == kind) {
            problems.push((*kind, UploadProblem::Missing));
        }
    }
    if !problems.is_empty() {
        return render_documents(&page, &step, &draft, &problems, back_to_check, until);
    }
    Ok(Redirect::to(CHECK_PATH).into_response())
}

async fn remove_upload(State(services): State<Services>, SignedIn(citizen): SignedIn, form: FormData) -> PageResult {
    let Some(mut draft) = load_draft(&services, &citizen).await? else {
        return Ok(Redirect::to("/antrag").into_response());
    };
    let kind = DocumentKind::parse(form.get("kind"));
    let mut uploads = Application(&draft.data).uploads();
    if let Some(index) = uploads.iter().position(|u| Some(u.kind) == kind) {
        let removed = uploads.remove(index);
        services.documents.delete(&removed.key).await?;
        set_path(&mut draft.data, "uploads", serde_json::to_value(&uploads).expect("uploads serialise"));
        save_draft(&services, &citizen, draft.data).await?;
    }
    Ok(Redirect::to(DOCUMENTS_PATH).into_response())
}

// --- check answers --------------------------------------------------------------------------

#[derive(Serialize)]
struct Row {
    key: String,
    lines: Vec<String>,
    /// Where to change it; none for what her account states.
    href: Option<String>,
}

#[derive(Serialize)]
struct Section {
    heading: String,
    rows: Vec<Row>,
}

fn change_link(step: Step, path: &str) -> String {
    format!("{}?zurueck=pruefen#{}", step.path(), field_id(path))
}

/// The check-answers page's sections; what `account` states has nothing to change.
fn sections(lang: Lang, data: &Json, directory: &Directory, account: &Account) -> Vec<Section> {
    let application = Application(data);
    let value = |path: &str| application.text(path).unwrap_or_default().to_owned();
    let date = |path: &str| {
        application
            .text(path)
            .and_then(|raw| shared::domain::values::parse_date(raw).ok())
            .map_or_else(|| value(path), |d| web::format_date(lang, d))
    };
    let row = |step: Step, key: &str, path: &str, lines: Vec<String>| Row {
        key: text(lang, key).to_owned(),
        lines,
        href: Some(change_link(step, path)),
    };
    let known = |mut row: Row, paths: &[&str]| {
        if paths.iter().all(|path| account.supplied(data, path)) {
            row.href = None;
        }
        row
    };
    let name =
        |base: &str| format!("{} {}", value(&format!("{base}.given_names")), value(&format!("{base}.family_name")));

    let mut applicant = vec![row(
        Step::Applicant,
        "antrag.check.applicant",
        "applicant.role",
        vec![text(lang, &format!("antrag.applicant.{}", value("applicant.role"))).to_owned()],
    )];
    if application.is_representative() {
        applicant.push(row(
            Step::Applicant,
            "antrag.applicant.representative_name",
            "applicant.representative.given_names",
            vec![name("applicant.representative")],
        ));
    }
    let mut mother = vec![known(
        row(Step::Mother, "antrag.check.name", "mother.given_names", vec![name("mother")]),
        &["mother.given_names", "mother.family_name"],
    )];
    if application.text("mother.birth_name").is_some() {
        mother.push(known(
            row(Step::Mother, "antrag.mother.birth_name", "mother.birth_name", vec![value("mother.birth_name")]),
            &["mother.birth_name"],
        ));
    }
    mother.extend([
        known(
            row(Step::Mother, "antrag.birth_date", "mother.birth_date", vec![date("mother.birth_date")]),
            &["mother.birth_date"],
        ),
        known(
            row(Step::Mother, "antrag.birth_place", "mother.birth_place", vec![value("mother.birth_place")]),
            &["mother.birth_place"],
        ),
        row(
            Step::Mother,
            "antrag.mother.address",
            "mother.address.street",
            vec![
                format!("{} {}", value("mother.address.street"), value("mother.address.house_number")),
                format!("{} {}", value("mother.address.postcode"), value("mother.address.city")),
            ],
        ),
    ]);
    let abroad = data.pointer("/child/born_abroad").and_then(Json::as_bool).unwrap_or(false);
    let child = vec![
        row(Step::Child, "antrag.check.name", "child.given_names", vec![name("child")]),
        row(Step::Child, "antrag.birth_date", "child.birth_date", vec![date("child.birth_date")]),
        row(
            Step::Child,
            "antrag.child.born_abroad",
            "child.born_abroad",
            vec![text(lang, if abroad { "common.yes" } else { "common.no" }).to_owned()],
        ),
        row(Step::Child, "antrag.birth_place", "child.birth_place", vec![value("child.birth_place")]),
    ];
    let delivery = vec![row(
        Step::Delivery,
        "antrag.check.delivery",
        "delivery",
        vec![text(lang, &format!("antrag.delivery.{}", value("delivery"))).to_owned()],
    )];
    let mut sections = vec![
        Section { heading: text(lang, "antrag.antragsteller.title").to_owned(), rows: applicant },
        Section { heading: text(lang, "antrag.mutter.title").to_owned(), rows: mother },
        Section { heading: text(lang, "antrag.kind.title").to_owned(), rows: child },
        Section { heading: text(lang, "antrag.zustellung.title").to_owned(), rows: delivery },
    ];
    if application.steps(directory).contains(&Step::Documents) {
        let rows = application
            .uploads()
            .iter()
            .map(|u| Row {
                key: kind_label(lang, u.kind),
                lines: vec![format!("{} ({})", u.file_name, web::file_size(lang, u.size))],
                href: Some(DOCUMENTS_PATH.to_owned()),
            })
            .collect();
        sections.push(Section { heading: text(lang, "antrag.nachweise.title").to_owned(), rows });
    }
    if let Some(declarations) = data.get("declarations").and_then(Json::as_object) {
        let rows = ["married_to_father", "sorgeerklaerung", "court_decision", "foreign_joint_custody"]
            .iter()
            .filter_map(|field| {
                let answer = declarations.get(*field).and_then(Json::as_str)?;
                Some(Row {
                    key: text(lang, &format!("vorab.{field}.short")).to_owned(),
                    lines: vec![
                        text(lang, &format!("common.{}", if answer == "unknown" { "unknown" } else { answer }))
                            .to_owned(),
                    ],
                    href: Some(precheck::pages::change_link(field)),
                })
            })
            .collect();
        sections.push(Section { heading: text(lang, "antrag.check.declarations").to_owned(), rows });
    }
    sections
}

/// The check-answers page for her (signed in until `until`), with the problems the submission
/// found (`problems` by field path, missing documents separately).
pub async fn render_check(
    services: &Services,
    page: &Page,
    SignedInUntil(citizen, until): &SignedInUntil,
    draft: &Draft,
    headers: &HeaderMap,
    problems: &FieldErrors,
    missing: &[DocumentKind],
) -> PageResult {
    let lang = page.lang;
    let account = Account::of(citizen, &draft.data, today_in_germany(services.clock.now()));
    let directory = records::directory(&*services.store).await?;
    let data = with_precheck(draft.data.clone(), &Answers::from_headers(headers));
    let mut errors: Vec<ErrorLink> = problems
        .iter()
        .map(|(path, problem)| {
            let href = match Step::of_field(path) {
                Some(step) => change_link(step, path),
                None => "/vorab-check".to_owned(),
            };
            ErrorLink { href, text: problem_message(lang, problem, field_kind(path)) }
        })
        .collect();
    errors.extend(missing.iter().map(|kind| ErrorLink {
        href: format!("{DOCUMENTS_PATH}#{}", field_id(&format!("uploads.{}", kind.code()))),
        text: web::fill(lang, "nachweise.problem.missing", &[("document", &kind_label(lang, *kind))]),
    }));
    let office = Application(&data).office(&directory).map(OfficeView::from);
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    TEMPLATES.render_with_status(
        status,
        &page.clone().at(CHECK_PATH),
        "pruefen.html",
        context! {
            sections => sections(lang, &data, &directory, &account),
            office,
            saved_until => saved_until(lang, Some(draft)),
            session_until => web::format_date_time(lang, *until),
            // A fresh key for each showing of the page: a double click submits only once.
            idempotency_key => services.ids.new_id(),
            back => Application(&data).steps(&directory).last().map(|s| s.path()),
            errors,
        },
    )
}

async fn check(
    State(services): State<Services>,
    page: Page,
    signed_in: SignedInUntil,
    headers: HeaderMap,
) -> PageResult {
    let Some(draft) = load_draft(&services, &signed_in.0).await? else {
        return Ok(Redirect::to("/antrag").into_response());
    };
    let directory = records::directory(&*services.store).await?;
    let resume = Application(&draft.data).resume_path(&directory);
    if resume != CHECK_PATH {
        return Ok(Redirect::to(&resume).into_response());
    }
    render_check(&services, &page, &signed_in, &draft, &headers, &FieldErrors::default(), &[]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_values_are_set_by_path() {
        let mut data = json!({"mother": {"given_names": "Sophia"}});
        set_path(&mut data, "mother.address.postcode", json!("28195"));
        assert_eq!(data, json!({"mother": {"given_names": "Sophia", "address": {"postcode": "28195"}}}));
    }

    #[test]
    fn the_end_of_her_session_is_told_in_german_time() {
        use time::macros::datetime;
        let until = |lang, at| web::format_date_time(lang, at);
        assert_eq!(until(Lang::De, datetime!(2026-11-23 17:15 UTC)), "23. November 2026, 18:15 Uhr");
        assert_eq!(until(Lang::De, datetime!(2026-07-01 16:00 UTC)), "1. Juli 2026, 18:00 Uhr");
        assert_eq!(until(Lang::Ls, datetime!(2026-07-01 22:30 UTC)), "2. Juli 2026 um 00:30 Uhr");
    }

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
            trust_level: shared::domain::request::TrustLevel::Hoch,
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
        assert!(representative.0.is_empty(), "a representative types the mother's data");
    }

    #[test]
    fn fields_belong_to_the_step_that_asks_them() {
        assert_eq!(Step::of_field("mother.address.postcode"), Some(Step::Mother));
        assert_eq!(Step::of_field("applicant.representative.family_name"), Some(Step::Applicant));
        assert_eq!(Step::of_field("declarations.married_to_father"), None);
        assert_eq!(field_kind("child.birth_date"), FieldKind::Date);
        assert_eq!(field_kind("delivery"), FieldKind::Choice);
    }
}
