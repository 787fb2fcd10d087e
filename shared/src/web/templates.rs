//! Server-rendered HTML: minijinja with the shared layout and form macros, the text catalogue
//! in the page's language (`t(key, name=value)`, failing on a missing key), and the formats and
//! views every page shows the same way (dates, sizes, codes, offices, messages).

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use minijinja::value::{Kwargs, merge_maps};
use minijinja::{Environment, Error, ErrorKind, State};
// Pages build their template context with these.
pub use minijinja::{Value, context};
use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::errors::{PageError, PageResult};
use super::page::Page;
use crate::domain::message::{Author, Message};
use crate::domain::office::Office;
use crate::domain::values::in_germany;
use crate::texts::{Lang, lookup, text};

const LAYOUT: &str = include_str!("../../templates/layout.html");
const MACROS: &str = include_str!("../../templates/macros.html");
const ERROR_PAGE: &str = include_str!("../../templates/error.html");

/// The templates of one function: the shared layout and macros plus the function's pages.
pub struct Templates {
    environment: Environment<'static>,
}

impl Templates {
    /// `pages` are `(name, source)` pairs; names end in `.html`, which turns on HTML escaping.
    pub fn new(pages: &[(&'static str, &'static str)]) -> Templates {
        let mut environment = Environment::new();
        environment.add_function("t", translate);
        for (name, source) in [("layout.html", LAYOUT), ("macros.html", MACROS), ("error.html", ERROR_PAGE)]
            .into_iter()
            .chain(pages.iter().copied())
        {
            environment.add_template(name, source).unwrap_or_else(|e| panic!("template {name}: {e:#}"));
        }
        Templates { environment }
    }

    /// Renders `template` with `context` and the layout's values, answered with 200.
    pub fn render(&self, page: &Page, template: &str, context: Value) -> PageResult {
        self.render_with_status(StatusCode::OK, page, template, context)
    }

    /// Renders with another status (422 for a form with errors).
    pub fn render_with_status(&self, status: StatusCode, page: &Page, template: &str, context: Value) -> PageResult {
        let html = self.html(page, template, context).map_err(|error| {
            tracing::error!(error = %format!("{error:#}"), template, "page failed to render");
            PageError::internal()
        })?;
        Ok((status, Html(html)).into_response())
    }

    fn html(&self, page: &Page, template: &str, context: Value) -> Result<String, Error> {
        let base = context! {
            lang => page.lang.code(),
            lang_tag => page.lang.tag(),
            languages => page.languages(),
            signed_in => page.signed_in(),
            // The office's pages sign out, and keep the session, at the office's sign-in.
            staff_pages => super::session::is_staff_path(page.path()),
            // Her list, on the citizen's pages.
            my_requests => page.signed_in() && !super::session::is_staff_path(page.path()),
        };
        self.environment.get_template(template)?.render(merge_maps([base, context]))
    }
}

/// `t(key, name=value, …)`: the text in the page's language, `{name}` filled in.
/// `t(key, name=value)` of the templates: the catalogue text in the template's `lang`.
pub fn translate(state: &State, key: &str, kwargs: Kwargs) -> Result<String, Error> {
    let lang = state.lookup("lang").and_then(|code| code.as_str().and_then(Lang::parse)).unwrap_or_default();
    let mut filled = lookup(lang, key)
        .ok_or_else(|| Error::new(ErrorKind::UndefinedError, format!("text {key} is missing in {}", lang.code())))?
        .to_owned();
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        filled = filled.replace(&format!("{{{name}}}"), &value.to_string());
    }
    Ok(filled)
}

/// A catalogue text with `{name}` placeholders filled in.
pub fn fill(lang: Lang, key: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(text(lang, key).to_owned(), |filled, (name, value)| filled.replace(&format!("{{{name}}}"), value))
}

/// A date as the language writes it: `23. Dezember 2026`, `23 December 2026`.
pub fn format_date(lang: Lang, date: Date) -> String {
    let month = text(lang, "common.months").split(',').nth(usize::from(u8::from(date.month())) - 1).unwrap_or("");
    fill(
        lang,
        "common.date",
        &[("day", &date.day().to_string()), ("month", month.trim()), ("year", &date.year().to_string())],
    )
}

/// An instant in German local time: `23. November 2026, 10:15 Uhr`.
pub fn format_date_time(lang: Lang, at: OffsetDateTime) -> String {
    let local = in_germany(at);
    let time = format!("{:02}:{:02}", local.hour(), local.minute());
    fill(lang, "common.date_time", &[("date", &format_date(lang, local.date())), ("time", &time)])
}

/// A file size as people read it: `1,2 MB`, `340 KB`.
pub fn file_size(lang: Lang, bytes: u64) -> String {
    let kilobytes = bytes.div_ceil(1024);
    if kilobytes < 1024 {
        return format!("{kilobytes} KB");
    }
    let megabytes = format!("{:.1}", bytes as f64 / (1024.0 * 1024.0));
    format!("{} MB", megabytes.replace('.', text(lang, "common.decimal_separator")))
}

/// A certificate code in groups of four, as printed: `K7QM 2XWA 9TZP 4HBN 3XYZ`.
pub fn code_groups(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    chars.chunks(4).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

/// A row of the `summary_list` macro: a label (from the catalogue) and its lines.
#[derive(Debug, Serialize)]
pub struct SummaryRow {
    pub key: String,
    pub lines: Vec<String>,
}

impl SummaryRow {
    pub fn new(lang: Lang, key: &str, lines: Vec<String>) -> SummaryRow {
        SummaryRow { key: text(lang, key).to_owned(), lines }
    }
}

/// An office's contact data as pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct OfficeView {
    pub name: String,
    pub street: String,
    pub city: String,
    pub phone: String,
    /// The number for a `tel:` link: `+` and digits only.
    pub phone_href: String,
    pub email: String,
    pub opening_hours: Option<String>,
}

impl From<&Office> for OfficeView {
    fn from(office: &Office) -> Self {
        let address = &office.address;
        OfficeView {
            name: office.name.clone(),
            street: format!("{} {}", address.street, address.house_number),
            city: format!("{} {}", address.postcode, address.city),
            phone: office.phone.clone(),
            // Only the number itself: what follows in brackets is a remark.
            phone_href: office
                .phone
                .split('(')
                .next()
                .unwrap_or_default()
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '+')
                .collect(),
            email: office.email.clone(),
            opening_hours: office.opening_hours.clone(),
        }
    }
}

/// A message between the office and the mother, as both sides' pages show it (`from` in the
/// words of the side reading it).
#[derive(Debug, Clone, Serialize)]
pub struct MessageView {
    pub from: String,
    pub from_office: bool,
    pub at: String,
    pub text: String,
    /// The document the office asks for with it.
    pub asks_for: Option<String>,
}

impl MessageView {
    /// `office_key` and `citizen_key` name the authors in the catalogue.
    pub fn new(lang: Lang, message: &Message, office_key: &str, citizen_key: &str) -> MessageView {
        let from_office = matches!(message.author, Author::Office { .. });
        MessageView {
            from: text(lang, if from_office { office_key } else { citizen_key }).to_owned(),
            from_office,
            at: format_date_time(lang, message.at),
            text: message.text.as_str().to_owned(),
            asks_for: message.asks_for.map(|kind| text(lang, &format!("nachweise.kind.{}", kind.code())).to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_sizes_read_naturally() {
        assert_eq!(file_size(Lang::De, 300), "1 KB");
        assert_eq!(file_size(Lang::De, 1_300_000), "1,2 MB");
        assert_eq!(file_size(Lang::En, 1_300_000), "1.2 MB");
    }

    #[test]
    fn the_end_of_her_session_is_told_in_german_time() {
        use time::macros::datetime;
        assert_eq!(format_date_time(Lang::De, datetime!(2026-11-23 17:15 UTC)), "23. November 2026, 18:15 Uhr");
        assert_eq!(format_date_time(Lang::De, datetime!(2026-07-01 16:00 UTC)), "1. Juli 2026, 18:00 Uhr");
        assert_eq!(format_date_time(Lang::Ls, datetime!(2026-07-01 22:30 UTC)), "2. Juli 2026 um 00:30 Uhr");
    }
}
