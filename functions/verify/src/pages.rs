//! The certificate check for a Kita, a school or a bank: `/pruefen` asks for the code printed on
//! the certificate and the child's date of birth as the paper shows it; `/pruefen/{code}` (where
//! the QR code leads) asks for the date only. The form is posted, so that the date of birth
//! never stands in an address (history, logs); the answer is the page it posts to.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use shared::domain::values::today_in_germany;
use shared::domain::verification::Answer;
use shared::http::Client;
use shared::services::Services;
use shared::texts::text;
use shared::web::form::{FieldKind, FormView, date_value, problem_message};
use shared::web::{self, FormData, OfficeView, Page, PageResult, Templates, context};

use crate::{CODE_LENGTH, TooMany, birth_date_of, check, normalize_code, too_many};

static TEMPLATES: LazyLock<Templates> = LazyLock::new(|| {
    Templates::new(&[
        ("pruefen.html", include_str!("../templates/pruefen.html")),
        ("pruefen-ergebnis.html", include_str!("../templates/pruefen-ergebnis.html")),
    ])
});

pub fn router() -> Router<Services> {
    web::pages(Router::new().route("/pruefen", get(ask).post(answer)).route("/pruefen/{code}", get(ask_for_date)))
}

async fn ask(page: Page) -> PageResult {
    render_form(&page, FormView::new(page.lang, Default::default()), StatusCode::OK)
}

/// From the QR code: the code is there, the date of birth is asked for.
async fn ask_for_date(page: Page, Path(code): Path<String>) -> PageResult {
    let code = normalize_code(&code);
    let values = [("code".to_owned(), web::code_groups(&code))].into();
    render_form(&page.clone().at("/pruefen"), FormView::new(page.lang, values), StatusCode::OK)
}

fn render_form(page: &Page, mut form: FormView, status: StatusCode) -> PageResult {
    let field = form.text("code", "pruefen.code_label").hint("pruefen.code_hint").no_spellcheck();
    let birth_date = form.date("geburtsdatum", "pruefen.birth_date_label").hint("pruefen.birth_date_hint");
    let errors = form.errors().to_vec();
    TEMPLATES.render_with_status(status, page, "pruefen.html", context! { field, birth_date, errors })
}

/// `code` and `geburtsdatum.day|month|year`: the answer, or the form again saying what is wrong.
async fn answer(State(services): State<Services>, page: Page, client: Client, form: FormData) -> PageResult {
    let lang = page.lang;
    let raw_code = form.get("code");
    let code = normalize_code(raw_code);
    let typed_date =
        date_value(form.get("geburtsdatum.day"), form.get("geburtsdatum.month"), form.get("geburtsdatum.year"));
    let mut problems = Vec::new();
    match code.len() {
        0 => problems.push(("code", text(lang, "pruefen.problem.required").to_owned())),
        CODE_LENGTH => {}
        _ => problems.push(("code", text(lang, "pruefen.problem.length").to_owned())),
    }
    let birth_date = match birth_date_of(Some(&typed_date)) {
        Ok(Some(date)) => Some(date),
        Ok(None) => {
            problems.push(("geburtsdatum", text(lang, "pruefen.problem.birth_date_required").to_owned()));
            None
        }
        Err(errors) => {
            let problem = errors.get("birth_date").expect("the date's problem");
            problems.push(("geburtsdatum", problem_message(lang, problem, FieldKind::Date)));
            None
        }
    };
    let page = page.clone().at("/pruefen");
    // Shown again as she typed it, boxes and all.
    let form_again = |problems: Vec<(&str, String)>, status| {
        let mut view = FormView::new(lang, form.values.clone());
        for (path, message) in problems {
            view.problem(path, message);
        }
        render_form(&page, view, status)
    };
    if !problems.is_empty() {
        return form_again(problems, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let checked = match check(&services, &client, &code, birth_date).await? {
        Ok(checked) => checked,
        Err(TooMany(wait)) => {
            let problem = vec![("code", text(lang, "pruefen.problem.too_many").to_owned())];
            return Ok(too_many(form_again(problem, StatusCode::TOO_MANY_REQUESTS)?, wait));
        }
    };
    let record = checked.record.as_ref();
    TEMPLATES
        .render(
            &page,
            "pruefen-ergebnis.html",
            context! {
                valid => checked.answer == Answer::Valid,
                revoked => record.and_then(|r| r.revoked_at).map(|at| web::format_date(lang, today_in_germany(at))),
                code => web::code_groups(&code),
                issued => record.map(|r| web::format_date(lang, today_in_germany(r.issued_at))),
                child => record.and_then(|r| r.child_given_names.clone()),
                office => checked.office.as_ref().map(OfficeView::from),
            },
        )
        .map(IntoResponse::into_response)
}
