//! The citizen's first pages: the start page (`/`), the questions and answers (`/faq`), the
//! accessibility statement (`/barrierefreiheit`) and the pre-check (`/vorab-check`), one
//! question per page (GOV.UK "check a service is suitable").
//!
//! The questions and her answers (a cookie of her browser) are `shared::journey::precheck`.
//! The result comes once every question is answered, because even a blocked mother needs the
//! contact data of the office of her residence, and the domain reports all reasons together.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use serde::Serialize;
use shared::domain::office::ResidenceProblem;
use shared::domain::precheck::{assess, parse_answers};
use shared::domain::values::Problem;
use shared::journey::precheck::{ALWAYS_ASKED, Answers, Kind, QUESTIONS, Question, RESULT_PATH, change_link};
use shared::services::Services;
use shared::texts::text;
use shared::web::form::{FieldKind, FormView, Width, problem_message};
use shared::web::{self, FormData, OfficeView, Page, PageError, PageResult, Templates, context};

static TEMPLATES: LazyLock<Templates> = LazyLock::new(|| {
    Templates::new(&[
        ("start.html", include_str!("../templates/start.html")),
        ("faq.html", include_str!("../templates/faq.html")),
        ("barrierefreiheit.html", include_str!("../templates/barrierefreiheit.html")),
        ("frage.html", include_str!("../templates/frage.html")),
        ("ergebnis.html", include_str!("../templates/ergebnis.html")),
    ])
});

pub fn router() -> Router<Services> {
    web::pages(
        Router::new()
            .route("/", get(start))
            .route("/faq", get(faq))
            .route("/barrierefreiheit", get(accessibility))
            .route("/vorab-check", get(|| async { Redirect::to(&QUESTIONS[0].path()) }))
            .route("/vorab-check/ergebnis", get(result))
            .route("/vorab-check/{slug}", get(ask).post(answer)),
    )
}

async fn start(page: Page) -> PageResult {
    TEMPLATES.render(&page, "start.html", context! {})
}

async fn faq(page: Page) -> PageResult {
    TEMPLATES.render(&page, "faq.html", context! {})
}

async fn accessibility(page: Page) -> PageResult {
    TEMPLATES.render(&page, "barrierefreiheit.html", context! {})
}

/// Back to the result when she came from there to change an answer, else on to the next question.
fn returns_to_result(page: &Page, form: Option<&FormData>) -> bool {
    form.map_or(page.query("zurueck"), |f| Some(f.get("zurueck"))) == Some("ergebnis")
}

async fn ask(
    State(services): State<Services>,
    page: Page,
    headers: axum::http::HeaderMap,
    Path(slug): Path<String>,
) -> PageResult {
    let (index, question) = Question::find(&slug).ok_or_else(PageError::not_found)?;
    let answers = Answers::from_headers(&headers);
    let values = answers.get(question.field).map(|v| (question.field.to_owned(), v.to_owned())).into_iter().collect();
    let back_to_result = returns_to_result(&page, None);
    let choices = municipalities_to_choose(&services, &answers).await?;
    if question.kind == Kind::Municipality && choices.is_empty() {
        // Her postcode leads to one office: nothing to choose.
        return Ok(Redirect::to(&next_path(index, back_to_result)).into_response());
    }
    render_question(&page, index, FormView::new(page.lang, values), &choices, back_to_result, StatusCode::OK)
}

/// The municipalities of her postcode, where it spans the areas of several offices (as `(key,
/// label)`), else none.
async fn municipalities_to_choose(services: &Services, answers: &Answers) -> Result<Vec<(String, String)>, PageError> {
    let Some(postcode) = answers.get("residence_postcode") else { return Ok(vec![]) };
    let directory = services.directory.get().await?;
    Ok(match directory.residence_office(postcode, None) {
        Err(ResidenceProblem::Choose(choices)) => {
            choices.iter().map(|m| (m.ags.as_str().to_owned(), m.label())).collect()
        }
        _ => vec![],
    })
}

/// The next question everyone is asked (the municipality is asked by the postcode's answer).
fn next_path(index: usize, back_to_result: bool) -> String {
    match QUESTIONS[index + 1..].iter().find(|q| q.always_asked()) {
        Some(next) if !back_to_result => next.path(),
        _ => RESULT_PATH.to_owned(),
    }
}

async fn answer(
    State(services): State<Services>,
    page: Page,
    headers: axum::http::HeaderMap,
    Path(slug): Path<String>,
    form: FormData,
) -> PageResult {
    let (index, question) = Question::find(&slug).ok_or_else(PageError::not_found)?;
    let mut answers = Answers::from_headers(&headers);
    let given = form.get(question.field).trim().to_owned();
    answers.set(question.field, given.clone());
    let back_to_result = returns_to_result(&page, Some(&form));
    // The domain's parser judges the answer; only this question's problem matters here. Her
    // postcode must be one the directory knows, her municipality one of her postcode's.
    let mut problem = parse_answers(&answers.json()).err().and_then(|errors| errors.get(question.field));
    let choices = municipalities_to_choose(&services, &answers).await?;
    if problem.is_none() && question.kind == Kind::Postcode {
        let directory = services.directory.get().await?;
        if let Err(ResidenceProblem::PostcodeUnknown) = directory.residence_office(&given, None) {
            problem = Some(Problem::PostcodeUnknown);
        }
    }
    if question.kind == Kind::Municipality && !choices.iter().any(|(ags, _)| *ags == given) {
        problem = Some(Problem::NotAChoice);
    }
    if let Some(problem) = problem {
        let kind = if question.kind == Kind::Postcode { FieldKind::Text } else { FieldKind::Choice };
        let mut view = FormView::new(page.lang, [(question.field.to_owned(), given)].into());
        view.problem(question.field, problem_message(page.lang, problem, kind));
        return render_question(&page, index, view, &choices, back_to_result, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // A new postcode may need her municipality, even on the way back to the result.
    let next = if question.kind == Kind::Postcode && !choices.is_empty() {
        let municipality = QUESTIONS.iter().find(|q| q.kind == Kind::Municipality).expect("asked where needed");
        let query = if back_to_result { "?zurueck=ergebnis" } else { "" };
        format!("{}{query}", municipality.path())
    } else {
        next_path(index, back_to_result)
    };
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().append(header::SET_COOKIE, answers.cookie());
    Ok(response)
}

fn render_question(
    page: &Page,
    index: usize,
    mut view: FormView,
    choices: &[(String, String)],
    back_to_result: bool,
    status: StatusCode,
) -> PageResult {
    let question = &QUESTIONS[index];
    let question_key = format!("vorab.{}.question", question.field);
    let hint_key = format!("vorab.{}.hint", question.field);
    let hint = shared::texts::lookup(page.lang, &hint_key).is_some().then_some(hint_key);
    let (text_field, radios) = if question.kind == Kind::Postcode {
        let mut field = view
            .text(question.field, &question_key)
            .as_heading()
            .autocomplete(Some("postal-code"))
            .numeric()
            .width(Width::Chars5)
            .no_spellcheck();
        if let Some(hint) = &hint {
            field = field.hint(hint);
        }
        (Some(field), None)
    } else {
        let mut radios = if question.kind == Kind::Municipality {
            view.radios_labelled(question.field, &question_key, choices.to_vec())
        } else {
            view.radios(question.field, &question_key, question.kind.options())
        }
        .as_heading();
        if let Some(hint) = &hint {
            radios = radios.hint(hint);
        }
        (None, Some(radios))
    };
    let back = if back_to_result {
        RESULT_PATH.to_owned()
    } else {
        QUESTIONS[..index].iter().rev().find(|q| q.always_asked()).map_or_else(|| "/".to_owned(), Question::path)
    };
    let title = text(page.lang, &question_key);
    TEMPLATES.render_with_status(
        status,
        &page.clone().at(&question.path()),
        "frage.html",
        context! {
            title,
            number => Question::number(index),
            total => ALWAYS_ASKED,
            text_field,
            radios,
            back,
            back_to_result,
            action => question.path(),
            errors => view.errors(),
        },
    )
}

#[derive(Serialize)]
struct Row {
    key: String,
    lines: Vec<String>,
    href: String,
}

async fn result(State(services): State<Services>, page: Page, headers: axum::http::HeaderMap) -> PageResult {
    let answers = Answers::from_headers(&headers);
    if let Some(open) = QUESTIONS.iter().find(|q| q.always_asked() && answers.get(q.field).is_none()) {
        return Ok(Redirect::to(&open.path()).into_response());
    }
    // A changed or stale cookie: ask again from the first question it spoils.
    let parsed = match parse_answers(&answers.json()) {
        Ok(parsed) => parsed,
        Err(errors) => {
            let spoiled = QUESTIONS.iter().find(|q| errors.get(q.field).is_some()).unwrap_or(&QUESTIONS[0]);
            return Ok(Redirect::to(&spoiled.path()).into_response());
        }
    };
    let directory = services.directory.get().await?;
    let outcome = match assess(&parsed, &directory) {
        Ok(outcome) => outcome,
        // Her postcode changed, or her municipality does not fit it: ask again.
        Err(unresolved) => {
            let question = QUESTIONS.iter().find(|q| q.field == unresolved.field).unwrap_or(&QUESTIONS[0]);
            return Ok(Redirect::to(&question.path()).into_response());
        }
    };
    let lang = page.lang;
    let reasons: Vec<String> =
        outcome.reasons.iter().map(|r| text(lang, &format!("reason.{}", r.code())).to_owned()).collect();
    // Her municipality, where her postcode made her choose one.
    let postcode = parsed.residence_postcode.as_str();
    let needed = matches!(directory.residence_office(postcode, None), Err(ResidenceProblem::Choose(_)));
    let chosen = parsed.residence_municipality.as_ref().and_then(|ags| directory.places().get(ags)).filter(|_| needed);
    let rows: Vec<Row> = QUESTIONS
        .iter()
        .filter_map(|q| {
            let raw = answers.get(q.field).unwrap_or_default();
            let shown = match q.kind {
                Kind::Municipality => chosen?.label(),
                _ => q
                    .kind
                    .options()
                    .iter()
                    .find(|(value, _)| *value == raw)
                    .map_or(raw, |(_, key)| text(lang, key))
                    .to_owned(),
            };
            Some(Row {
                key: text(lang, &format!("vorab.{}.short", q.field)).to_owned(),
                lines: vec![shown],
                href: change_link(q.field),
            })
        })
        .collect();
    let some_unknown = answers.some_unknown();
    TEMPLATES.render(
        &page,
        "ergebnis.html",
        context! {
            eligible => outcome.eligible(),
            reasons,
            office => outcome.office.as_ref().map(OfficeView::from),
            rows,
            some_unknown,
            back => QUESTIONS[QUESTIONS.len() - 1].path(),
        },
    )
}
