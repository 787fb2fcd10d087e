//! The status page of a request for its owner (`/antraege/{id}`): where it stands, the
//! timeline in plain words, the office to ask, and — once issued — the download button
//! (`/antraege/{id}/bescheinigung`, the same short-lived link as the API's).

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde::Serialize;
use shared::http::Services;
use shared::records;
use shared::texts::text;
use shared::web::{self, OfficeView, Page, PageError, PageResult, SignedIn, Templates, context};

use crate::certificate_download;

static TEMPLATES: LazyLock<Templates> =
    LazyLock::new(|| Templates::new(&[("antrag-status.html", include_str!("../templates/antrag-status.html"))]));

pub fn router() -> Router<Services> {
    web::pages(
        Router::new().route("/antraege/{id}", get(status_page)).route("/antraege/{id}/bescheinigung", get(download)),
    )
}

#[derive(Serialize)]
struct Event {
    at: String,
    text: String,
}

async fn status_page(
    State(services): State<Services>,
    page: Page,
    SignedIn(citizen): SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    let store = &*services.store;
    let request = records::own_request(store, &id, &citizen.sub).await?.ok_or_else(PageError::not_found)?;
    let directory = records::directory(store).await?;
    let lang = page.lang;
    let timeline: Vec<Event> = request
        .timeline
        .iter()
        .rev()
        .map(|entry| Event {
            at: web::format_date_time(lang, entry.at),
            text: text(lang, &format!("status.{}", entry.status.as_str())).to_owned(),
        })
        .collect();
    let status = request.status.as_str();
    TEMPLATES.render(
        &page,
        "antrag-status.html",
        context! {
            id => request.id,
            status_text => text(lang, &format!("status.{status}")),
            explanation => text(lang, &format!("statuspage.explain.{status}")),
            is_open => request.status.is_open(),
            timeline,
            rejection_reason => request.rejection_reason.as_ref().map(|r| r.as_str().to_owned()),
            certificate => request.certificate.as_ref().map(|c| context! {
                code => web::code_groups(&c.code),
                href => format!("/antraege/{}/bescheinigung", request.id),
                issued => web::format_date(lang, shared::domain::values::today_in_germany(c.issued_at)),
            }),
            office => directory.get(&request.office_id).map(OfficeView::from),
        },
    )
}

async fn download(State(services): State<Services>, SignedIn(citizen): SignedIn, Path(id): Path<String>) -> PageResult {
    let request = records::own_request(&*services.store, &id, &citizen.sub).await?.ok_or_else(PageError::not_found)?;
    certificate_download(&services, &request).await?.ok_or_else(PageError::not_found)
}
