//! The form's submit button (`POST /antrag/absenden`) and the confirmation with the reference
//! (`/antrag/eingereicht/{id}`). The draft is submitted through [`submit_application`], like
//! `POST /api/v1/requests`; problems send her back to the check-answers page.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use shared::domain::values::ClientId;
use shared::input::FieldErrors;
use shared::journey::check::render_check;
use shared::journey::form::{CHECK_PATH, DraftData, load_draft, submission};
use shared::records;
use shared::services::Services;
use shared::web::{self, CitizenPage, FormData, OfficeView, PageError, PageResult, Templates, context};

use crate::{SubmitError, submit_application};

static TEMPLATES: LazyLock<Templates> =
    LazyLock::new(|| Templates::new(&[("eingereicht.html", include_str!("../templates/eingereicht.html"))]));

pub fn router() -> Router<Services> {
    web::pages(
        Router::new().route("/antrag/absenden", post(submit)).route("/antrag/eingereicht/{id}", get(confirmation)),
    )
}

fn confirmation_path(id: &str) -> String {
    format!("/antrag/eingereicht/{id}")
}

async fn submit(view: CitizenPage, headers: HeaderMap, form: FormData) -> PageResult {
    let (services, citizen) = (&view.call.services, &view.call.who);
    let store = &*services.store;
    // The check-answers page gives every showing its own key: a second click of the same
    // button (the draft is gone by then) finds the request of the first.
    let key = ClientId::parse(form.get("idempotency_key")).ok();
    if let Some(key) = &key {
        if let Some(record) = records::idempotency_record(store, &citizen.sub, key).await? {
            return Ok(Redirect::to(&confirmation_path(&record.request_id)).into_response());
        }
    }
    let Some(draft) = load_draft(&view.call).await? else {
        return Ok(Redirect::to("/antrag").into_response());
    };
    let directory = services.directory.get().await?;
    let missing = DraftData(&draft.data).missing_documents(&directory);
    if !missing.is_empty() {
        return render_check(&view, &draft, &headers, &FieldErrors::default(), &missing).await;
    }
    let (body, uploads) = submission(&draft, &headers);
    match submit_application(services, citizen, view.page.lang, &body, key.as_ref(), &uploads).await {
        Ok(accepted) => Ok(Redirect::to(&confirmation_path(&accepted.id)).into_response()),
        Err(SubmitError::Invalid(errors, _)) => render_check(&view, &draft, &headers, &errors, &[]).await,
        Err(SubmitError::KeyReused) => Ok(Redirect::to(CHECK_PATH).into_response()),
        Err(SubmitError::Store(error)) => Err(error.into()),
        Err(SubmitError::Documents(error)) => Err(error.into()),
        Err(SubmitError::Inconsistent) => Err(PageError::internal()),
    }
}

async fn confirmation(CitizenPage { call, page, .. }: CitizenPage, Path(id): Path<String>) -> PageResult {
    let store = &*call.services.store;
    let request = records::own_request(store, &id, &call.who.sub).await?.ok_or_else(PageError::not_found)?;
    let directory = call.services.directory.get().await?;
    TEMPLATES.render(
        &page,
        "eingereicht.html",
        context! {
            id => request.id,
            office => directory.get(&request.office_id).map(OfficeView::from),
            by_post => request.application.delivery == shared::domain::application::Delivery::Post,
            mail_to => request.application.contact.mail_to().map(|address| address.as_str().to_owned()),
        },
    )
}
