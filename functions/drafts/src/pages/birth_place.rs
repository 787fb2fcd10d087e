//! The results page for her child's birth place (`/antrag/geburtsort`), without JavaScript:
//! where the place she typed fits several municipalities (17 "Neustadt …") or none, she picks
//! the one she means — shown with Kreis and Land — searches again, or says that the place is
//! not in the directory (then a case worker checks the register). What she typed stays as she
//! wrote it for XFamilie and the certificate; the key decides where the register is asked.

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde_json::Value as Json;
use shared::domain::normalize::comparison_key;
use shared::domain::office::Directory;
use shared::domain::places::{Ags, Municipality};
use shared::domain::values::Problem;
use shared::journey::form::{BIRTH_PLACE_PATH, DraftData, Step, load_draft, save_draft, set_path};
use shared::web::form::{FieldKind, FormView, problem_message};
use shared::web::{self, CitizenPage, FormData, PageResult, Templates, context};

use super::steps::{back_path, to_check};

static TEMPLATES: LazyLock<Templates> =
    LazyLock::new(|| Templates::new(&[("geburtsort.html", include_str!("../../templates/geburtsort.html"))]));

/// More results than fit one page ask for a more precise name.
const MOST_RESULTS: usize = 50;
/// The radio for "the place is not in this list".
const NOT_LISTED: &str = "none";

/// The municipalities `query` may mean, and whether it names any itself; where it names none,
/// those of its first word (a name written differently than the directory writes it: "Neustadt
/// an der Aisch", "Bremen-Vegesack").
fn results<'a>(directory: &'a Directory, query: &str) -> (Vec<&'a Municipality>, bool) {
    let places = directory.places();
    let found = places.named(query);
    let named = !found.is_empty();
    let found = if named {
        found
    } else {
        comparison_key(query).split(' ').next().map(|first| places.named(first)).unwrap_or_default()
    };
    (found.into_iter().take(MOST_RESULTS).collect(), named)
}

fn render(view: &CitizenPage, directory: &Directory, data: &Json, query: &str, mut form: FormView) -> PageResult {
    let CitizenPage { page, .. } = view;
    let lang = page.lang;
    let (found, named) = results(directory, query);
    let hint = web::fill(
        lang,
        if named { "antrag.geburtsort.several" } else { "antrag.geburtsort.none_found" },
        &[("place", query)],
    );
    let mut options: Vec<(String, String)> = found.iter().map(|m| (m.ags.as_str().to_owned(), m.label())).collect();
    options.push((NOT_LISTED.to_owned(), web::fill(lang, "antrag.geburtsort.not_listed", &[])));
    let mut choice =
        form.radios_labelled("child.birth_municipality", "antrag.geburtsort.question", options).as_heading();
    choice.hint = Some(hint);
    let search = form.text("suche", "antrag.geburtsort.search_label").no_spellcheck();
    let steps = DraftData(data).steps(directory);
    let status = if form.has_problems() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let back_to_check = to_check(page, None);
    TEMPLATES.render_with_status(
        status,
        &page.clone().at(BIRTH_PLACE_PATH),
        "geburtsort.html",
        context! {
            choice,
            search,
            number => steps.iter().position(|s| *s == Step::Child).unwrap_or(0) + 1,
            total => steps.len(),
            action => BIRTH_PLACE_PATH,
            to_check => back_to_check,
            back => if back_to_check { back_path(Step::Child, &steps, true) } else { Step::Child.path() },
            errors => form.errors(),
        },
    )
}

/// `?suche=` searches again; without it, what she typed on the child step.
pub(super) async fn show(view: CitizenPage) -> PageResult {
    let Some(draft) = load_draft(&view.call).await? else { return Ok(Redirect::to("/antrag").into_response()) };
    let Some(typed) = DraftData(&draft.data).text("child.birth_place").map(str::to_owned) else {
        return Ok(Redirect::to(&Step::Child.path()).into_response());
    };
    let directory = view.call.services.directory.get().await?;
    let query = view.page.query("suche").map(str::trim).filter(|q| !q.is_empty()).unwrap_or(&typed).to_owned();
    let chosen = draft.data.pointer("/child/birth_municipality").map(|key| key.as_str().unwrap_or(NOT_LISTED));
    let values = [("suche".to_owned(), query.clone())]
        .into_iter()
        .chain(chosen.map(|key| ("child.birth_municipality".to_owned(), key.to_owned())))
        .collect();
    render(&view, &directory, &draft.data, &query, FormView::new(view.page.lang, values))
}

/// `child.birth_municipality`: a key of the directory, or `none`.
pub(super) async fn choose(view: CitizenPage, form: FormData) -> PageResult {
    let Some(mut draft) = load_draft(&view.call).await? else { return Ok(Redirect::to("/antrag").into_response()) };
    let directory = view.call.services.directory.get().await?;
    let picked = form.get("child.birth_municipality");
    let key = match picked {
        NOT_LISTED => Some(Json::Null),
        key => {
            Ags::parse(key).ok().filter(|ags| directory.places().get(ags).is_some()).map(|ags| Json::from(ags.as_str()))
        }
    };
    let Some(key) = key else {
        let query = form.get("suche").to_owned();
        let typed = DraftData(&draft.data).text("child.birth_place").unwrap_or_default().to_owned();
        let query = if query.trim().is_empty() { typed } else { query };
        let lang = view.page.lang;
        let mut view_form = FormView::new(lang, [("suche".to_owned(), query.clone())].into());
        view_form.problem("child.birth_municipality", problem_message(lang, Problem::NotAChoice, FieldKind::Choice));
        return render(&view, &directory, &draft.data, &query, view_form);
    };
    set_path(&mut draft.data, "child.birth_municipality", key);
    let draft = save_draft(&view.call, draft.data).await?;
    Ok(Redirect::to(&DraftData(&draft.data).resume_path(&directory)).into_response())
}
