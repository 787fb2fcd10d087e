//! The certificate check for a Kita, a school or a bank: `/pruefen` asks for the code printed on
//! the certificate, `/pruefen/{code}` (where the QR code leads) answers whether it is genuine.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use shared::domain::values::today_in_germany;
use shared::services::Services;
use shared::texts::text;
use shared::web::form::FormView;
use shared::web::{self, OfficeView, Page, PageResult, Templates, context};

use crate::{CODE_LENGTH, lookup, normalize_code};

static TEMPLATES: LazyLock<Templates> = LazyLock::new(|| {
    Templates::new(&[
        ("pruefen.html", include_str!("../templates/pruefen.html")),
        ("pruefen-ergebnis.html", include_str!("../templates/pruefen-ergebnis.html")),
    ])
});

pub fn router() -> Router<Services> {
    web::pages(Router::new().route("/pruefen", get(ask)).route("/pruefen/{code}", get(answer)))
}

/// The form (a GET form: the answer has its own address, like the QR code's).
async fn ask(page: Page) -> PageResult {
    let Some(raw) = page.query("code").map(str::to_owned) else {
        return render_form(&page, FormView::new(page.lang, Default::default()), StatusCode::OK);
    };
    let code = normalize_code(&raw);
    let problem = match code.len() {
        0 => Some("pruefen.problem.required"),
        CODE_LENGTH => None,
        _ => Some("pruefen.problem.length"),
    };
    let Some(problem) = problem else { return Ok(Redirect::to(&format!("/pruefen/{code}")).into_response()) };
    let mut form = FormView::new(page.lang, [("code".to_owned(), raw)].into());
    form.problem("code", text(page.lang, problem).to_owned());
    render_form(&page.clone().at("/pruefen"), form, StatusCode::UNPROCESSABLE_ENTITY)
}

fn render_form(page: &Page, mut form: FormView, status: StatusCode) -> PageResult {
    let field = form.text("code", "pruefen.code_label").hint("pruefen.code_hint").no_spellcheck();
    TEMPLATES.render_with_status(status, page, "pruefen.html", context! { field, errors => form.errors() })
}

async fn answer(State(services): State<Services>, page: Page, Path(code): Path<String>) -> PageResult {
    let verified = lookup(&services, &code).await?;
    let lang = page.lang;
    TEMPLATES.render(
        &page,
        "pruefen-ergebnis.html",
        context! {
            valid => verified.as_ref().is_some_and(|v| v.record.revoked_at.is_none()),
            revoked => verified.as_ref().and_then(|v| v.record.revoked_at).map(|at| web::format_date(lang, today_in_germany(at))),
            code => web::code_groups(&normalize_code(&code)),
            issued => verified.as_ref().map(|v| web::format_date(lang, today_in_germany(v.record.issued_at))),
            office => verified.as_ref().and_then(|v| v.office.as_ref()).map(OfficeView::from),
        },
    )
}
