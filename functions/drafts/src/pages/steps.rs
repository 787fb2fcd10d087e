//! The four steps of the form (`/antrag/{step}`): each shows its fields (prefilled from her
//! account and the pre-check, or from her draft), and saving it judges the step's fields with
//! the domain's parser and keeps the draft for another 30 days.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use serde::Serialize;
use serde_json::{Value as Json, json};
use shared::domain::application::parse_submission;
use shared::domain::draft::Draft;
use shared::domain::office::{Directory, ResidenceProblem, Unresolved};
use shared::domain::places::Resolution;
use shared::domain::values::{self, Problem, today_in_germany};
use shared::journey::account::Account;
use shared::journey::form::{
    BIRTH_PLACE_PATH, CHECK_PATH, DraftData, Step, field_kind, load_draft, save_draft, saved_until, set_path,
    with_precheck,
};
use shared::journey::precheck::{Answers, RESULT_PATH};
use shared::texts::{Lang, text};
use shared::web::form::{DateInput, FormView, Radios, TextInput, Width, field_id, problem_message};
use shared::web::{self, CitizenPage, FormData, Page, PageError, PageResult, Templates, context};
use time::OffsetDateTime;

use super::fields::{prefill, sections_from_form, stored_values};

static TEMPLATES: LazyLock<Templates> =
    LazyLock::new(|| Templates::new(&[("schritt.html", include_str!("../../templates/schritt.html"))]));

// --- her BundID account ---------------------------------------------------------------------

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
pub(super) fn back_path(step: Step, steps: &[Step], to_check: bool) -> String {
    if to_check {
        return CHECK_PATH.to_owned();
    }
    let index = steps.iter().position(|s| *s == step).unwrap_or(0);
    index.checked_sub(1).map_or_else(|| RESULT_PATH.to_owned(), |previous| steps[previous].path())
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
fn layout(step: Step, form: &mut FormView, view: &StepPage, lang: Lang) -> Vec<Item> {
    let (data, account) = (view.data, view.account);
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
            let self_applying = !DraftData(data).is_representative();
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
            let mut address = address;
            if !view.residence_choices.is_empty() {
                address.push(Item::Radios(form.radios_labelled(
                    "mother.address.municipality",
                    "antrag.mother.municipality",
                    view.residence_choices.clone(),
                )));
            }
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
        Step::Delivery => vec![
            Item::Radios(
                form.radios(
                    "delivery",
                    "antrag.delivery.question",
                    &[("download", "antrag.delivery.download"), ("post", "antrag.delivery.post")],
                )
                .as_heading()
                .option_hint("download", "antrag.delivery.download_hint")
                .option_hint("post", "antrag.delivery.post_hint"),
            ),
            Item::Text(
                form.text("contact.email", "antrag.contact.email")
                    .hint("antrag.contact.email_hint")
                    .autocomplete(Some("email"))
                    .email(),
            ),
        ],
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
    /// Where her postcode spans the areas of several offices: its municipalities (key, label).
    residence_choices: Vec<(String, String)>,
    /// The end of her session.
    until: OffsetDateTime,
}

fn render_step(page: &Page, view: StepPage, mut form: FormView, status: StatusCode) -> PageResult {
    let lang = page.lang;
    // Shown first, so their problems (if any) come first in the error summary too.
    let known = if view.step == Step::Mother { account_rows(&mut form, view.account, lang) } else { Vec::new() };
    let items = layout(view.step, &mut form, &view, lang);
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

/// The municipalities of her postcode where it spans the areas of several offices, as radios.
fn residence_choices(directory: &Directory, data: &Json) -> Vec<(String, String)> {
    let postcode = DraftData(data).text("mother.address.postcode").unwrap_or_default().to_owned();
    match directory.residence_office(&postcode, None) {
        Err(ResidenceProblem::Choose(choices)) => {
            choices.iter().map(|m| (m.ags.as_str().to_owned(), m.label())).collect()
        }
        _ => vec![],
    }
}

/// What keeps her postcode from leading to a connected office, by field; a municipality she
/// chose for a postcode that no longer needs one is forgotten.
fn residence_problem(directory: &Directory, data: &mut Json) -> Option<(String, Problem)> {
    let form = DraftData(data);
    let postcode = form.text("mother.address.postcode")?.to_owned();
    let chosen = form.residence_municipality();
    let problem = match directory.issuing_office(&postcode, chosen.as_ref()) {
        Ok(_) => None,
        Err(ResidenceProblem::Choose(_)) if chosen.is_some() => {
            Some(("mother.address.municipality", Problem::NotAChoice))
        }
        Err(problem) => {
            let unresolved = Unresolved::residence("mother.address.postcode", "mother.address.municipality", problem);
            Some((unresolved.field, unresolved.problem))
        }
    };
    if residence_choices(directory, data).is_empty() {
        if let Some(address) = data.pointer_mut("/mother/address").and_then(Json::as_object_mut) {
            address.remove("municipality");
        }
    }
    problem.map(|(field, problem)| (field.to_owned(), problem))
}

/// Settles her child's birth municipality from the place she typed: born abroad needs none, a
/// name that fits exactly one municipality gets its key; false where she chooses on the results
/// page (a name of several municipalities, or of none), with her earlier choice for the same
/// name kept there to confirm or change.
fn settle_birth_place(directory: &Directory, data: &mut Json, before: Option<&Draft>) -> bool {
    let typed = DraftData(data).text("child.birth_place").unwrap_or_default().to_owned();
    if data.pointer("/child/born_abroad") == Some(&Json::Bool(true)) {
        clear_birth_municipality(data);
        return true;
    }
    if let Resolution::One(municipality) = directory.places().resolve(&typed) {
        set_path(data, "child.birth_municipality", Json::from(municipality.ags.as_str()));
        return true;
    }
    let earlier = before
        .and_then(|d| d.data.pointer("/child"))
        .filter(|child| child.get("birth_place").and_then(Json::as_str) == Some(typed.as_str()))
        .and_then(|child| child.get("birth_municipality").cloned());
    match earlier {
        Some(key) => set_path(data, "child.birth_municipality", key),
        None => clear_birth_municipality(data),
    }
    false
}

fn clear_birth_municipality(data: &mut Json) {
    if let Some(child) = data.get_mut("child").and_then(Json::as_object_mut) {
        child.remove("birth_municipality");
    }
}

pub(super) fn to_check(page: &Page, form: Option<&FormData>) -> bool {
    form.map_or(page.query("zurueck"), |f| Some(f.get("zurueck"))) == Some("pruefen")
}

pub(super) async fn show_step(
    CitizenPage { call, page, until }: CitizenPage,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> PageResult {
    let step = Step::parse(&slug).ok_or_else(PageError::not_found)?;
    let (services, citizen) = (&call.services, &call.who);
    let draft = load_draft(&call).await?;
    let data = draft.as_ref().map_or_else(|| json!({}), |d| d.data.clone());
    let directory = services.directory.get().await?;
    let steps = DraftData(&data).steps(&directory);
    let account = Account::of(citizen, &data, today_in_germany(services.clock.now()));
    let values = if data.get(step.section()).is_some() {
        stored_values(step, &data)
    } else {
        prefill(step, &data, citizen, &Answers::from_headers(&headers))
    };
    let view = StepPage {
        step,
        data: &data,
        draft: draft.as_ref(),
        steps: &steps,
        to_check: to_check(&page, None),
        account: &account,
        residence_choices: residence_choices(&directory, &data),
        until,
    };
    render_step(&page, view, FormView::new(page.lang, values), StatusCode::OK)
}

pub(super) async fn save_step(
    CitizenPage { call, page, until }: CitizenPage,
    headers: HeaderMap,
    Path(slug): Path<String>,
    form: FormData,
) -> PageResult {
    let step = Step::parse(&slug).ok_or_else(PageError::not_found)?;
    let lang = page.lang;
    let (services, citizen) = (&call.services, &call.who);
    let draft = load_draft(&call).await?;
    let mut data = draft.as_ref().map_or_else(|| json!({}), |d| d.data.clone());
    for (section, value) in sections_from_form(step, &form) {
        set_path(&mut data, section, value);
    }
    let today = today_in_germany(services.clock.now());
    // She applies herself: what her account states is taken from there, never from the post
    // (nor from what she typed before, as a representative).
    let account = Account::of(citizen, &data, today);
    if data.get("mother").is_some() {
        account.apply(&mut data);
    }
    let directory = services.directory.get().await?;

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
    // Tell her at once if her office does not take requests here, not only on submission; where
    // her postcode spans the areas of several offices, she chooses her municipality.
    if step == Step::Mother && problems.iter().all(|(path, _)| path != "mother.address.postcode") {
        problems.extend(residence_problem(&directory, &mut data));
    }
    let back_to_check = to_check(&page, Some(&form));
    if !problems.is_empty() {
        let mut view = FormView::new(lang, form.values.clone());
        for (path, problem) in &problems {
            view.problem(path, problem_message(lang, *problem, field_kind(path)));
        }
        let steps = DraftData(&data).steps(&directory);
        let page_view = StepPage {
            step,
            data: &data,
            draft: draft.as_ref(),
            steps: &steps,
            to_check: back_to_check,
            account: &account,
            residence_choices: residence_choices(&directory, &data),
            until,
        };
        return render_step(&page, page_view, view, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let settled = step != Step::Child || settle_birth_place(&directory, &mut data, draft.as_ref());

    let data = with_precheck(data, &Answers::from_headers(&headers));
    save_draft(&call, data.clone()).await?;
    let application = DraftData(&data);
    let next = if !settled {
        // A name that fits several municipalities, or none: she chooses on the results page.
        format!("{BIRTH_PLACE_PATH}{}", if back_to_check { "?zurueck=pruefen" } else { "" })
    } else if back_to_check {
        application.resume_path(&directory)
    } else {
        let steps = application.steps(&directory);
        let index = steps.iter().position(|s| *s == step).unwrap_or(0);
        steps.get(index + 1).map_or_else(|| application.resume_path(&directory), |next| next.path())
    };
    Ok(Redirect::to(&next).into_response())
}
