//! The application form for citizens (`/antrag`): short steps (applicant, mother, child,
//! delivery, and the documents where her office requires them), each saving the draft for 30
//! days ([`steps`], [`documents`]); then the check-answers page (`/antrag/pruefen`), whose
//! submit button the submit function serves. The form's model — steps, draft, account,
//! check-answers — is `shared::journey`.

mod birth_place;
mod documents;
mod fields;
mod steps;

use axum::Router;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use shared::input::FieldErrors;
use shared::journey::check::render_check;
use shared::journey::form::{BIRTH_PLACE_PATH, CHECK_PATH, DOCUMENTS_PATH, DraftData, Step, load_draft};
use shared::services::Services;
use shared::web::{self, CitizenPage, PageResult};

pub fn router() -> Router<Services> {
    web::pages(
        Router::new()
            .route("/antrag", get(resume))
            .route(CHECK_PATH, get(check))
            .route(DOCUMENTS_PATH, get(documents::documents))
            .route(documents::RECEIVED_PATH, get(documents::received))
            .route("/antrag/nachweise/entfernen", post(documents::remove_upload))
            .route(BIRTH_PLACE_PATH, get(birth_place::show).post(birth_place::choose))
            .route("/antrag/{step}", get(steps::show_step).post(steps::save_step)),
    )
}

async fn resume(CitizenPage { call, .. }: CitizenPage) -> PageResult {
    let draft = load_draft(&call).await?;
    let Some(draft) = draft else { return Ok(Redirect::to(&Step::Applicant.path()).into_response()) };
    let directory = call.services.directory.get().await?;
    Ok(Redirect::to(&DraftData(&draft.data).resume_path(&directory)).into_response())
}

async fn check(view: CitizenPage, headers: HeaderMap) -> PageResult {
    let Some(draft) = load_draft(&view.call).await? else {
        return Ok(Redirect::to("/antrag").into_response());
    };
    let directory = view.call.services.directory.get().await?;
    let resume = DraftData(&draft.data).resume_path(&directory);
    if resume != CHECK_PATH {
        return Ok(Redirect::to(&resume).into_response());
    }
    render_check(&view, &draft, &headers, &FieldErrors::default(), &[]).await
}
