//! The check-answers page (`/antrag/pruefen`): everything she entered, each with a link to
//! change it, before she submits. The form shows it when her draft is complete; the submit
//! button shows it again with the problems the submission found.

use std::sync::LazyLock;

use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use serde_json::Value as Json;

use super::account::Account;
use super::form::{
    CHECK_PATH, DOCUMENTS_PATH, DraftData, Step, document_label, field_kind, saved_until, with_precheck,
};
use super::precheck::{self, Answers, DECLARATIONS};
use crate::domain::draft::Draft;
use crate::domain::office::Directory;
use crate::domain::places::Ags;
use crate::domain::upload::DocumentKind;
use crate::domain::values::{parse_date, today_in_germany};
use crate::input::FieldErrors;
use crate::texts::{Lang, text};
use crate::web::form::{ErrorLink, field_id, problem_message};
use crate::web::{self, CitizenPage, OfficeView, PageResult, Templates, context};

static TEMPLATES: LazyLock<Templates> = LazyLock::new(|| {
    Templates::new(&[("antrag-pruefen.html", include_str!("../../templates/journey/antrag-pruefen.html"))])
});

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

/// Where a field is changed (then she comes back here).
pub fn change_link(step: Step, path: &str) -> String {
    format!("{}?zurueck=pruefen#{}", step.path(), field_id(path))
}

/// Her child's birth place as she wrote it, with the municipality it was settled to (changed on
/// the child step, and on the results page where the name fits several).
fn birth_place_row(lang: Lang, application: &DraftData, directory: &Directory) -> Row {
    let typed = application.text("child.birth_place").unwrap_or_default().to_owned();
    if application.0.pointer("/child/born_abroad") == Some(&Json::Bool(true)) {
        return Row {
            key: text(lang, "antrag.birth_place").to_owned(),
            lines: vec![typed],
            href: Some(change_link(Step::Child, "child.birth_place")),
        };
    }
    let settled = match application.0.pointer("/child/birth_municipality") {
        Some(Json::String(key)) => Ags::parse(key).ok().and_then(|ags| directory.places().get(&ags)).map(|m| m.label()),
        _ => None,
    };
    let settled = settled.unwrap_or_else(|| text(lang, "antrag.geburtsort.not_in_directory").to_owned());
    Row {
        key: text(lang, "antrag.birth_place").to_owned(),
        lines: vec![typed, settled],
        href: Some(change_link(Step::Child, "child.birth_place")),
    }
}

/// The check-answers page's sections; what `account` states has nothing to change.
fn sections(lang: Lang, data: &Json, directory: &Directory, account: &Account) -> Vec<Section> {
    let application = DraftData(data);
    let value = |path: &str| application.text(path).unwrap_or_default().to_owned();
    let date = |path: &str| {
        application
            .text(path)
            .and_then(|raw| parse_date(raw).ok())
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
        birth_place_row(lang, &application, directory),
    ];
    let email =
        application.text("contact.email").map_or_else(|| text(lang, "antrag.contact.none").to_owned(), str::to_owned);
    let delivery = vec![
        row(
            Step::Delivery,
            "antrag.check.delivery",
            "delivery",
            vec![text(lang, &format!("antrag.delivery.{}", value("delivery"))).to_owned()],
        ),
        row(Step::Delivery, "antrag.contact.email", "contact.email", vec![email]),
    ];
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
                key: document_label(lang, u.kind),
                lines: vec![format!("{} ({})", u.file_name, web::file_size(lang, u.size))],
                href: Some(DOCUMENTS_PATH.to_owned()),
            })
            .collect();
        sections.push(Section { heading: text(lang, "antrag.nachweise.title").to_owned(), rows });
    }
    if let Some(declarations) = data.get("declarations").and_then(Json::as_object) {
        let rows = DECLARATIONS
            .iter()
            .filter_map(|field| {
                let answer = declarations.get(*field).and_then(Json::as_str)?;
                Some(Row {
                    key: text(lang, &format!("vorab.{field}.short")).to_owned(),
                    lines: vec![
                        text(lang, &format!("common.{}", if answer == "unknown" { "unknown" } else { answer }))
                            .to_owned(),
                    ],
                    href: Some(precheck::change_link(field)),
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
    CitizenPage { call, page, until }: &CitizenPage,
    draft: &Draft,
    headers: &HeaderMap,
    problems: &FieldErrors,
    missing: &[DocumentKind],
) -> PageResult {
    let lang = page.lang;
    let services = &call.services;
    let account = Account::of(&call.who, &draft.data, today_in_germany(services.clock.now()));
    let directory = services.directory.get().await?;
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
        text: web::fill(lang, "nachweise.problem.missing", &[("document", &document_label(lang, *kind))]),
    }));
    let office = DraftData(&data).office(&directory).map(OfficeView::from);
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    TEMPLATES.render_with_status(
        status,
        &page.clone().at(CHECK_PATH),
        "antrag-pruefen.html",
        context! {
            sections => sections(lang, &data, &directory, &account),
            office,
            saved_until => saved_until(lang, Some(draft)),
            session_until => web::format_date_time(lang, *until),
            // A fresh key for each showing of the page: a double click submits only once.
            idempotency_key => services.ids.new_id(),
            back => DraftData(&data).steps(&directory).last().map(|s| s.path()),
            errors,
        },
    )
}
