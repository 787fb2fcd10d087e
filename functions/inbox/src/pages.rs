//! The office's pages (`/amt`): the inbox with its filters (and taking several requests at
//! once), one request with everything a case worker needs (who holds it, the application, the
//! proofs, the register result, the documents, the timeline and the messages), and the forms to
//! take it, decide, revoke and write to the mother — each only for those who may.
//!
//! Staff sign in at their office's provider (`staff-login`; the `amt_session` cookie, read by
//! [`shared::web::StaffPage`]). Every page acts through
//! the same functions as the API, so it is confined to the own office and audited the same way:
//! another office's request is "not found", a decision that came too late is a 409.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::json;
use shared::domain::application::{Applicant, Application, Delivery};
use shared::domain::message::parse_office_message;
use shared::domain::places::{Ags, Places};
use shared::domain::register::{RegisterEntry, ReviewReason};
use shared::domain::request::{Request, Status, TrustLevel, parse_outcome, parse_revocation};
use shared::domain::upload::DocumentKind;
use shared::http::{ApiError, StaffCall};
use shared::input::FieldErrors;
use shared::records;
use shared::services::Services;
use shared::texts::{Lang, lookup, text};
use shared::web::form::{FieldKind, FormView, problem_message};
use shared::web::{
    self, FormData, MessageView, Page, PageError, PageResult, StaffPage, SummaryRow, Templates, Value, context,
};

use crate::{
    AssignmentChange, OfficeDocument, change_assignment, office_document, office_inbox, office_request,
    record_decision, revoke_certificate, send_office_message,
};

static TEMPLATES: LazyLock<Templates> = LazyLock::new(|| {
    Templates::new(&[
        ("amt-eingang.html", include_str!("../templates/amt-eingang.html")),
        ("amt-antrag.html", include_str!("../templates/amt-antrag.html")),
    ])
});

/// The inbox's filters (`?status=`), as the API names them.
const FILTERS: [&str; 5] = ["new", "in_review", "issued", "rejected", "posted"];

pub fn router() -> Router<Services> {
    web::pages(
        Router::new()
            .route("/amt", get(inbox))
            .route("/amt/antraege/uebernehmen", post(take_selected))
            .route("/amt/antraege/{id}", get(detail))
            .route("/amt/antraege/{id}/bearbeitung", post(assignment))
            .route("/amt/antraege/{id}/entscheidung", post(decide))
            .route("/amt/antraege/{id}/nachricht", post(write))
            .route("/amt/antraege/{id}/widerruf", post(revoke))
            .route("/amt/antraege/{id}/dokumente/{name}", get(download)),
    )
}

fn detail_path(id: &str) -> String {
    format!("/amt/antraege/{id}")
}

/// A status as the office speaks of it.
fn status_text(lang: Lang, status: Status) -> String {
    text(lang, &format!("amt.status.{}", status.as_str())).to_owned()
}

fn full_name(given_names: &str, family_name: &str) -> String {
    format!("{given_names} {family_name}")
}

// --- the inbox ------------------------------------------------------------------------------

#[derive(Serialize)]
struct Tab {
    href: String,
    label: String,
    current: bool,
}

#[derive(Serialize)]
struct InboxRow {
    id: String,
    href: String,
    submitted: String,
    child: String,
    status: String,
    /// Who holds it.
    holder: Option<String>,
}

async fn inbox(StaffPage { call, page }: StaffPage) -> PageResult {
    let lang = page.lang;
    let filter = page.query("status").filter(|f| !f.is_empty()).map(str::to_owned);
    if filter.as_deref().is_some_and(|f| !FILTERS.contains(&f)) {
        return Err(PageError::not_found());
    }
    let requests = office_inbox(&call, filter.as_deref()).await?;
    let rows: Vec<InboxRow> = requests
        .iter()
        .map(|r| InboxRow {
            id: r.id.clone(),
            href: detail_path(&r.id),
            submitted: r.timeline.first().map(|e| web::format_date_time(lang, e.at)).unwrap_or_default(),
            child: full_name(r.application.child.given_names.as_str(), r.application.child.family_name.as_str()),
            status: status_text(lang, r.status),
            holder: r.assignment.as_ref().map(|a| a.to.label().to_owned()),
        })
        .collect();
    let tabs: Vec<Tab> = std::iter::once(None)
        .chain(FILTERS.into_iter().map(Some))
        .map(|f| Tab {
            href: f.map_or_else(|| "/amt".to_owned(), |f| format!("/amt?status={f}")),
            label: text(lang, &format!("amt.filter.{}", f.unwrap_or("all"))).to_owned(),
            current: f == filter.as_deref(),
        })
        .collect();
    let filter_label = text(lang, &format!("amt.filter.{}", filter.as_deref().unwrap_or("all"))).to_owned();
    TEMPLATES.render(
        &page,
        "amt-eingang.html",
        context! {
            office => office_name(&call).await?, tabs, rows, filter_label,
            can_take => call.who.may_do_case_work(),
            filter,
            taken => taken_of(page.query("uebernommen")),
        },
    )
}

/// How many of the checked requests were taken (`?uebernommen=3-5`: 3 of 5).
fn taken_of(query: Option<&str>) -> Option<Value> {
    let (taken, checked) = query?.split_once('-')?;
    let (taken, checked): (u32, u32) = (taken.parse().ok()?, checked.parse().ok()?);
    (taken <= checked).then(|| context! { taken, others => checked - taken })
}

async fn office_name(call: &StaffCall) -> Result<Option<String>, PageError> {
    let directory = call.services.directory.get().await?;
    Ok(call.who.office_id.as_deref().and_then(|id| directory.get(id)).map(|office| office.name.clone()))
}

// --- one request ----------------------------------------------------------------------------

/// What was entered in the page's forms and what is wrong with it, to show the page again.
#[derive(Default)]
struct Entered {
    values: BTreeMap<String, String>,
    problems: Vec<(String, String)>,
    /// What changed meanwhile, as the API's 409 says it (its code): decided, taken by someone.
    conflict: Option<&'static str>,
}

impl Entered {
    fn new(form: &FormData) -> Entered {
        Entered { values: form.values.clone(), ..Entered::default() }
    }

    /// The problems in the page's words: `amt.problem.<field>.<code>` where the page says it
    /// more precisely than the domain's general text.
    fn with_problems(mut self, lang: Lang, errors: &FieldErrors) -> Entered {
        for (path, problem) in errors.iter() {
            let specific = lookup(lang, &format!("amt.problem.{path}.{}", problem.code()));
            let kind = if path == "asks_for" { FieldKind::Choice } else { FieldKind::Text };
            let message = specific.map_or_else(|| problem_message(lang, problem, kind), str::to_owned);
            self.problems.push((path.to_owned(), message));
        }
        self
    }
}

fn row(lang: Lang, key: &str, lines: Vec<String>) -> SummaryRow {
    SummaryRow::new(lang, key, lines)
}

fn yes_no(lang: Lang, yes: bool) -> String {
    text(lang, if yes { "common.yes" } else { "common.no" }).to_owned()
}

/// The application in summary lists: who applied, the mother, the child, delivery, declarations.
fn application_sections(lang: Lang, request: &Request, places: &Places) -> Vec<Value> {
    let Application { applicant, mother, child, delivery, .. } = &request.application;
    // A municipality key as the directory names it: "Bremen, Stadt — Bremen (04011000)".
    let municipality = |ags: &Option<Ags>| {
        ags.as_ref().map(|ags| {
            places.get(ags).map_or_else(|| ags.as_str().to_owned(), |m| format!("{} ({})", m.label(), ags.as_str()))
        })
    };
    let login = &request.login;
    let trust = match login.trust_level {
        TrustLevel::Basis => "basis",
        TrustLevel::Substantiell => "substantiell",
        TrustLevel::Hoch => "hoch",
    };
    let mut signed_in = vec![full_name(&login.given_names, &login.family_name)];
    signed_in.extend(login.birth_date.map(|date| web::format_date(lang, date)));
    signed_in.push(text(lang, &format!("amt.trust.{trust}")).to_owned());
    let applicant = match applicant {
        Applicant::Mother => text(lang, "amt.applicant.mother").to_owned(),
        Applicant::Representative { representative } => web::fill(
            lang,
            "amt.applicant.representative",
            &[("name", &full_name(representative.given_names.as_str(), representative.family_name.as_str()))],
        ),
    };
    let mut mother_name = vec![full_name(mother.given_names.as_str(), mother.family_name.as_str())];
    mother_name
        .extend(mother.birth_name.as_ref().map(|name| web::fill(lang, "amt.born_as", &[("name", name.as_str())])));
    let address = &mother.address;
    let declarations = serde_json::to_value(request.application.declarations).expect("declarations serialise");
    let declarations: Vec<SummaryRow> =
        ["married_to_father", "sorgeerklaerung", "court_decision", "foreign_joint_custody"]
            .into_iter()
            .map(|field| {
                let answer = declarations[field].as_str().unwrap_or("unknown");
                row(lang, &format!("vorab.{field}.short"), vec![text(lang, &format!("common.{answer}")).to_owned()])
            })
            .collect();
    vec![
        context! { heading => text(lang, "amt.section.applicant"), rows => vec![
            row(lang, "amt.field.applicant", vec![applicant]),
            row(lang, "amt.field.login", signed_in),
            row(lang, "amt.field.delivery", vec![text(lang, match delivery {
                Delivery::Download => "amt.delivery.download",
                Delivery::Post => "amt.delivery.post",
            }).to_owned()]),
        ]},
        context! { heading => text(lang, "amt.section.mother"), rows => vec![
            row(lang, "amt.field.name", mother_name),
            row(lang, "amt.field.birth", vec![
                web::format_date(lang, mother.birth_date), mother.birth_place.as_str().to_owned(),
            ]),
            row(lang, "amt.field.address", [
                format!("{} {}", address.street.as_str(), address.house_number.as_str()),
                format!("{} {}", address.postcode.as_str(), address.city.as_str()),
            ].into_iter().chain(municipality(&address.municipality)).collect()),
        ]},
        context! { heading => text(lang, "amt.section.child"), rows => vec![
            row(lang, "amt.field.name", vec![full_name(child.given_names.as_str(), child.family_name.as_str())]),
            row(lang, "amt.field.birth", [
                web::format_date(lang, child.birth_date), child.birth_place.as_str().to_owned(),
            ].into_iter().chain(municipality(&child.birth_municipality)).collect()),
            row(lang, "amt.field.born_abroad", vec![yes_no(lang, child.born_abroad)]),
        ]},
        context! { heading => text(lang, "amt.section.declarations"), rows => declarations },
    ]
}

#[derive(Serialize)]
struct Candidate {
    kind: String,
    child: String,
    birth: String,
    mother: String,
    parts: Vec<String>,
}

fn candidate(lang: Lang, entry: &RegisterEntry) -> Candidate {
    Candidate {
        kind: format!("{} {}", entry.kind.code(), entry.kind.label()),
        child: full_name(entry.child.given_names.as_str(), entry.child.family_name.as_str()),
        birth: format!("{}, {}", web::format_date(lang, entry.child.birth_date), entry.child.birth_place.as_str()),
        mother: full_name(entry.mother.given_names.as_str(), entry.mother.family_name.as_str()),
        parts: entry.parts.clone(),
    }
}

/// What the register check found: when, and each reason for a case worker's review.
fn register_view(lang: Lang, request: &Request) -> Option<Value> {
    let result = request.register_result.as_ref()?;
    let reasons: Vec<Value> = result
        .review_reasons
        .iter()
        .map(|reason| {
            let (code, candidates) = match reason {
                ReviewReason::RegisterEntries { candidates } => {
                    ("register_entries", candidates.iter().map(|e| candidate(lang, e)).collect())
                }
                ReviewReason::BirthDateSlip { candidates } => {
                    ("birth_date_slip", candidates.iter().map(|e| candidate(lang, e)).collect())
                }
                ReviewReason::BirthPlaceNotMapped => ("birth_place_not_mapped", vec![]),
                ReviewReason::RegisterOfficeNotConnected => ("register_office_not_connected", vec![]),
                ReviewReason::AutomationOff => ("automation_off", vec![]),
                ReviewReason::TrustLevelTooLow => ("trust_level_too_low", vec![]),
                ReviewReason::Representative => ("representative", vec![]),
                ReviewReason::IdentityMismatch => ("identity_mismatch", vec![]),
            };
            context! { text => text(lang, &format!("amt.reason.{code}")), candidates }
        })
        .collect();
    Some(context! { checked => web::format_date_time(lang, result.checked_at), reasons })
}

#[derive(Serialize)]
struct Download {
    href: String,
    label: String,
    detail: Option<String>,
}

fn downloads(lang: Lang, request: &Request) -> Vec<Download> {
    let documents = &request.documents;
    let generated = [
        (documents.antrag_pdf.is_some(), OfficeDocument::AntragPdf, "amt.document.antrag_pdf"),
        (documents.antrag_xml.is_some(), OfficeDocument::AntragXml, "amt.document.xfamilie"),
        (documents.auskunft_xml.is_some(), OfficeDocument::AuskunftXml, "amt.document.auskunft"),
        (documents.letter_pdf.is_some(), OfficeDocument::LetterPdf, "amt.document.letter"),
    ];
    let href = |which: OfficeDocument| format!("{}/dokumente/{}", detail_path(&request.id), which.name());
    let generated = generated.into_iter().filter(|(present, _, _)| *present).map(|(_, which, key)| Download {
        href: href(which),
        label: text(lang, key).to_owned(),
        detail: None,
    });
    let uploads = documents.uploads.iter().map(|upload| Download {
        href: href(OfficeDocument::Upload(upload.kind)),
        label: text(lang, &format!("nachweise.kind.{}", upload.kind.code())).to_owned(),
        detail: Some(format!("{}, {}", upload.file_name, web::file_size(lang, upload.size))),
    });
    generated.chain(uploads).collect()
}

async fn render_detail(call: &StaffCall, page: &Page, id: &str, entered: Entered, status: StatusCode) -> PageResult {
    let lang = page.lang;
    let request = office_request(call, id, "read:request").await?.value;
    let directory = call.services.directory.get().await?;
    let messages = records::messages(&*call.services.store, id).await?;
    let mail_undeliverable = records::mail_undeliverable(&*call.services.store, id).await?;
    let mut values = entered.values;
    values.entry("asks_for".into()).or_insert_with(|| "none".into());
    let mut form = FormView::new(lang, values);
    for (path, message) in entered.problems {
        form.problem(&path, message);
    }
    // Forms only for what the caller may do; the API refuses the rest anyway.
    let holder = request.assignment.as_ref();
    let held_by_other = holder.is_some_and(|a| a.to.id != call.who.sub);
    let does_case_work = call.who.may_do_case_work() && !held_by_other;
    let can_decide = does_case_work && request.status == Status::InReview && request.approval.is_none();
    let can_post = does_case_work && request.status == Status::Issued && request.application.delivery == Delivery::Post;
    let certificate = request.certificate.as_ref();
    let can_revoke = call.who.may_overrule() && certificate.is_some_and(|c| c.revoked.is_none());
    let revoked = certificate.and_then(|c| c.revoked.as_ref()).map(|r| web::format_date_time(lang, r.at));
    // Fields in page order, so that the error summary follows it.
    let parts = form.text("parts", "amt.decision.parts_label").hint("amt.decision.parts_hint");
    let reason = form.text("reason", "amt.decision.reason_label").hint("amt.decision.reason_hint");
    let message_text = form.text("text", "amt.message.text_label");
    let revoke_reason = form.text("revoke_reason", "amt.revoke.reason_label").hint("amt.revoke.reason_hint");
    let mut ask_options = vec![("none", "amt.message.ask_none")];
    let kinds: Vec<(DocumentKind, String)> =
        DocumentKind::ALL.iter().map(|kind| (*kind, format!("nachweise.kind.{}", kind.code()))).collect();
    ask_options.extend(kinds.iter().map(|(kind, key)| (kind.code(), key.as_str())));
    let asks_for = form.radios("asks_for", "amt.message.ask_legend", &ask_options);
    let mut errors = form.errors().to_vec();
    if let Some(code) = entered.conflict {
        let (href, key) = match code {
            "held_by_other" => ("#bearbeitung", "amt.assignment.held_by_other".to_owned()),
            "not_open" => ("#status", "amt.not_open".to_owned()),
            code => ("#status", format!("error.{code}")),
        };
        errors.insert(0, web::form::ErrorLink { href: href.into(), text: text(lang, &key).to_owned() });
    }
    let timeline: Vec<Value> = request
        .timeline
        .iter()
        .rev()
        .map(|entry| context! { at => web::format_date_time(lang, entry.at), text => status_text(lang, entry.status) })
        .collect();
    let messages: Vec<MessageView> = messages
        .iter()
        .map(|m| MessageView::new(lang, m, "amt.message.from_office", "amt.message.from_mother"))
        .collect();
    let asked_for: Vec<String> = request
        .documents
        .asked_for
        .iter()
        .map(|kind| text(lang, &format!("nachweise.kind.{}", kind.code())).to_owned())
        .collect();
    let done = page
        .query("erledigt")
        .filter(|d| ["entscheidung", "nachricht", "widerruf", "uebernommen", "zurueckgegeben"].contains(d));
    let child = &request.application.child;
    TEMPLATES.render_with_status(
        status,
        &page.clone().at(&detail_path(id)),
        "amt-antrag.html",
        context! {
            id,
            path => detail_path(id),
            child => full_name(child.given_names.as_str(), child.family_name.as_str()),
            status_text => status_text(lang, request.status),
            approved => request.approval.is_some() && request.status == Status::InReview,
            partial_parts => request.approval.as_ref().map(|a| a.partial_parts.clone()).unwrap_or_default(),
            rejection_reason => request.rejection_reason.as_ref().map(|r| r.as_str().to_owned()),
            done,
            errors,
            can_decide,
            can_post,
            can_revoke,
            revoked,
            revoke_reason,
            parts,
            reason,
            sections => application_sections(lang, &request, directory.places()),
            register => register_view(lang, &request),
            downloads => downloads(lang, &request),
            asked_for,
            timeline,
            messages,
            message_text,
            asks_for,
            is_open => request.status.is_open(),
            can_write => does_case_work,
            assignment => assignment_view(lang, call, &request),
            mail_undeliverable,
        },
    )
}

/// Who holds the request, and what the caller may do about it (take, give back, take over).
fn assignment_view(lang: Lang, call: &StaffCall, request: &Request) -> Value {
    let Some(held) = &request.assignment else {
        return context! { text => text(lang, "amt.assignment.nobody"), take => call.who.may_do_case_work() };
    };
    // The name last, so that nothing in it is taken for a placeholder.
    let since = web::format_date_time(lang, held.since);
    if held.to.id == call.who.sub {
        return context! { text => web::fill(lang, "amt.assignment.you", &[("since", &since)]), give_back => true };
    }
    let overrule = call.who.may_overrule();
    let text = web::fill(lang, "amt.assignment.other", &[("since", &since), ("name", held.to.label())]);
    context! { text, take => overrule, give_back => overrule, overrule }
}

async fn detail(StaffPage { call, page }: StaffPage, Path(id): Path<String>) -> PageResult {
    render_detail(&call, &page, &id, Entered::default(), StatusCode::OK).await
}

/// Back to the request, saying what was done (post/redirect/get).
fn done(id: &str, what: &str, anchor: &str) -> PageResult {
    Ok(Redirect::to(&format!("{}?erledigt={what}#{anchor}", detail_path(id))).into_response())
}

/// The page again after an action the API would answer with `error`: the 409 as a message on
/// the page, anything else as its error page.
async fn refused(call: &StaffCall, page: &Page, id: &str, form: &FormData, error: ApiError) -> PageResult {
    if error.status() != StatusCode::CONFLICT {
        return Err(error.into());
    }
    let entered = Entered { conflict: Some(error.code()), ..Entered::new(form) };
    render_detail(call, page, id, entered, StatusCode::CONFLICT).await
}

/// The page again with the problems of a form the API's parser refused (422).
async fn invalid(call: &StaffCall, page: &Page, id: &str, form: &FormData, errors: &FieldErrors) -> PageResult {
    let entered = Entered::new(form).with_problems(page.lang, errors);
    render_detail(call, page, id, entered, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// `outcome` with `parts` (one per line) or `reason`, read by the API's own parser.
async fn decide(StaffPage { call, page }: StaffPage, Path(id): Path<String>, form: FormData) -> PageResult {
    let parts: Vec<&str> = form.get("parts").lines().map(str::trim).filter(|line| !line.is_empty()).collect();
    let body = json!({"outcome": form.get("outcome"), "parts": parts, "reason": form.get("reason")});
    let outcome = match parse_outcome(&body) {
        Ok(outcome) => outcome,
        // Only a tampered form lacks a valid outcome: there is no field to correct.
        Err(errors) if errors.get("outcome").is_some() => return Err(PageError::bad_request()),
        Err(errors) => {
            return invalid(&call, &page, &id, &form, &errors).await;
        }
    };
    match record_decision(&call, &id, outcome).await {
        Ok(_) => done(&id, "entscheidung", "status"),
        Err(error) => refused(&call, &page, &id, &form, error).await,
    }
}

/// `text`, and `asks_for` (a document kind, or `none`).
async fn write(StaffPage { call, page }: StaffPage, Path(id): Path<String>, form: FormData) -> PageResult {
    let mut body = json!({"text": form.get("text")});
    if !matches!(form.get("asks_for"), "" | "none") {
        body["asks_for"] = json!(form.get("asks_for"));
    }
    let (message, asks_for) = match parse_office_message(&body) {
        Ok(parsed) => parsed,
        Err(errors) => return invalid(&call, &page, &id, &form, &errors).await,
    };
    match send_office_message(&call, &id, message, asks_for).await {
        Ok(_) => done(&id, "nachricht", "nachrichten"),
        Err(error) => refused(&call, &page, &id, &form, error).await,
    }
}

/// `revoke_reason`, read by the API's own parser (which names it `reason`).
async fn revoke(StaffPage { call, page }: StaffPage, Path(id): Path<String>, form: FormData) -> PageResult {
    let reason = match parse_revocation(&json!({"reason": form.get("revoke_reason")})) {
        Ok(reason) => reason,
        Err(errors) => {
            let mut renamed = FieldErrors::default();
            if let Some(problem) = errors.get("reason") {
                renamed.add("revoke_reason", problem);
            }
            return invalid(&call, &page, &id, &form, &renamed).await;
        }
    };
    match revoke_certificate(&call, &id, reason).await {
        Ok(_) => done(&id, "widerruf", "widerruf"),
        Err(error) => refused(&call, &page, &id, &form, error).await,
    }
}

/// `action`: `take` or `give_back` (a supervisor: also someone else's).
async fn assignment(StaffPage { call, page }: StaffPage, Path(id): Path<String>, form: FormData) -> PageResult {
    let change = match form.get("action") {
        "take" => AssignmentChange::Take,
        "give_back" => AssignmentChange::GiveBack,
        _ => return Err(PageError::bad_request()),
    };
    match change_assignment(&call, &id, change).await {
        Ok(_) => {
            done(&id, if change == AssignmentChange::Take { "uebernommen" } else { "zurueckgegeben" }, "bearbeitung")
        }
        Err(error) => refused(&call, &page, &id, &form, error).await,
    }
}

/// The inbox's checked requests (`id`, repeated, each once), taken at once; those someone else
/// holds stay theirs (a supervisor takes them over), and one that is gone or not the office's is
/// passed over. Back to the inbox, saying how many were taken and how many not.
async fn take_selected(StaffPage { call, page }: StaffPage, form: FormData) -> PageResult {
    let mut ids: Vec<&str> = form.all("id").take(200).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err(PageError::bad_request());
    }
    let mut taken = 0;
    for id in &ids {
        match change_assignment(&call, id, AssignmentChange::Take).await {
            Ok(_) => taken += 1,
            Err(error) if matches!(error.status(), StatusCode::CONFLICT | StatusCode::NOT_FOUND) => {}
            Err(error) => return Err(error.into()),
        }
    }
    let back = page.query("status").filter(|f| FILTERS.contains(f)).map_or(String::new(), |f| format!("status={f}&"));
    Ok(Redirect::to(&format!("/amt?{back}uebernommen={taken}-{}", ids.len())).into_response())
}

/// A document of the request, as the API serves it, saved rather than shown in the browser.
async fn download(StaffPage { call, .. }: StaffPage, Path((id, name)): Path<(String, String)>) -> PageResult {
    let which = OfficeDocument::parse(&name).ok_or_else(PageError::not_found)?;
    let mut response = office_document(&call, &id, which).await?;
    // Her proofs come as a link, which names the file itself.
    if response.status().is_success() {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment"));
    }
    Ok(response)
}
