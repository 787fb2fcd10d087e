//! Form fields as the templates' macros draw them (GOV.UK patterns: label, hint, the error at
//! the field, radios in a fieldset with a legend, dates as day, month and year). Fields are laid
//! out in page order, which also gives the error summary its order.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::values::Problem;
use crate::texts::{Lang, text};

/// The `id` of a field named by its dotted path: `mother.address.postcode` → `mother-address-postcode`.
pub fn field_id(path: &str) -> String {
    path.replace('.', "-")
}

/// How a field is answered, which decides how a problem is worded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Date,
    Choice,
}

/// The words for a problem of a field: the domain's text, except where the page asks differently
/// (a date in three boxes, a choice of radios).
pub fn problem_message(lang: Lang, problem: Problem, kind: FieldKind) -> String {
    let key = match (kind, problem) {
        (FieldKind::Date, Problem::Required) => "form.problem.date_required".to_owned(),
        (FieldKind::Date, Problem::DateFormat) => "form.problem.date_format".to_owned(),
        (FieldKind::Choice, Problem::Required | Problem::NotAChoice | Problem::NotYesNo) => {
            "form.problem.choose".to_owned()
        }
        _ => format!("problem.{}", problem.code()),
    };
    text(lang, &key).to_owned()
}

/// A file to upload (`upload.<kind>`), with the hint on formats and size.
#[derive(Debug, Clone, Serialize)]
pub struct FileInput {
    pub id: String,
    pub name: String,
    pub label: String,
    pub hint: String,
    pub error: Option<String>,
}

/// A link of the error summary.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorLink {
    pub href: String,
    pub text: String,
}

/// A form being laid out: what was entered, what is wrong, and the summary of errors so far.
pub struct FormView {
    lang: Lang,
    values: BTreeMap<String, String>,
    problems: BTreeMap<String, String>,
    summary: Vec<ErrorLink>,
}

impl FormView {
    /// `values` by input name; `problems` (message by field path) come with [`Self::problem`].
    pub fn new(lang: Lang, values: BTreeMap<String, String>) -> FormView {
        FormView { lang, values, problems: BTreeMap::new(), summary: Vec::new() }
    }

    pub fn problem(&mut self, path: &str, message: String) {
        self.problems.entry(path.to_owned()).or_insert(message);
    }

    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    /// The error summary, in the order the fields were laid out.
    pub fn errors(&self) -> &[ErrorLink] {
        &self.summary
    }

    fn value(&self, name: &str) -> String {
        self.values.get(name).cloned().unwrap_or_default()
    }

    fn error_at(&mut self, path: &str, anchor: &str) -> Option<String> {
        let message = self.problems.get(path).cloned()?;
        self.summary.push(ErrorLink { href: format!("#{anchor}"), text: message.clone() });
        Some(message)
    }

    /// A value shown but not asked (it is known already): its problem, if it has one, still
    /// goes into the error summary, linking to the value (`id` = [`field_id`]).
    pub fn shown(&mut self, path: &str) -> Option<String> {
        self.error_at(path, &field_id(path))
    }

    /// A one-line text box.
    pub fn text(&mut self, path: &str, label_key: &str) -> TextInput {
        let id = field_id(path);
        TextInput {
            error: self.error_at(path, &id),
            value: self.value(path),
            label: text(self.lang, label_key).to_owned(),
            name: path.to_owned(),
            id,
            hint: None,
            autocomplete: None,
            width: None,
            numeric: false,
            email: false,
            spellcheck: true,
            heading: false,
            lang: self.lang,
        }
    }

    /// A date as day, month and year (`<path>.day`, …); the error links to the day box.
    pub fn date(&mut self, path: &str, legend_key: &str) -> DateInput {
        let id = field_id(path);
        DateInput {
            error: self.error_at(path, &format!("{id}-day")),
            day: self.value(&format!("{path}.day")),
            month: self.value(&format!("{path}.month")),
            year: self.value(&format!("{path}.year")),
            legend: text(self.lang, legend_key).to_owned(),
            name: path.to_owned(),
            id,
            hint: None,
            autocomplete: None,
            lang: self.lang,
        }
    }

    /// Radios in a fieldset; `options` are `(value, label key)`. The first radio carries the
    /// field's id, so the error summary's link lands on it.
    pub fn radios(&mut self, path: &str, legend_key: &str, options: &[(&str, &str)]) -> Radios {
        let labelled: Vec<(String, String)> =
            options.iter().map(|(value, key)| ((*value).to_owned(), text(self.lang, key).to_owned())).collect();
        self.radios_labelled(path, legend_key, labelled)
    }

    /// Like [`Self::radios`], with `(value, label)` whose labels are data (names of places).
    pub fn radios_labelled(&mut self, path: &str, legend_key: &str, options: Vec<(String, String)>) -> Radios {
        let id = field_id(path);
        let chosen = self.value(path);
        Radios {
            error: self.error_at(path, &id),
            legend: text(self.lang, legend_key).to_owned(),
            options: options
                .into_iter()
                .enumerate()
                .map(|(i, (value, label))| RadioOption {
                    id: if i == 0 { id.clone() } else { format!("{id}-{value}") },
                    checked: chosen == value,
                    value,
                    label,
                    hint: None,
                })
                .collect(),
            name: path.to_owned(),
            id,
            hint: None,
            heading: false,
            lang: self.lang,
        }
    }
}

/// Width of a text box in characters, so its size hints at the expected answer.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Width {
    Chars5,
    Chars10,
    Chars20,
}

#[derive(Debug, Clone, Serialize)]
pub struct TextInput {
    pub id: String,
    pub name: String,
    pub label: String,
    pub hint: Option<String>,
    pub value: String,
    pub error: Option<String>,
    pub autocomplete: Option<&'static str>,
    pub width: Option<Width>,
    pub numeric: bool,
    /// An e-mail address: `type="email"` (the phone shows its @ keyboard).
    pub email: bool,
    pub spellcheck: bool,
    /// The label is the page's heading (one question per page).
    pub heading: bool,
    #[serde(skip)]
    lang: Lang,
}

impl TextInput {
    pub fn as_heading(mut self) -> Self {
        self.heading = true;
        self
    }
    pub fn hint(mut self, key: &str) -> Self {
        self.hint = Some(text(self.lang, key).to_owned());
        self
    }
    /// The `autocomplete` token; only for the person's own data (WCAG 1.3.5).
    pub fn autocomplete(mut self, token: Option<&'static str>) -> Self {
        self.autocomplete = token;
        self
    }
    pub fn width(mut self, width: Width) -> Self {
        self.width = Some(width);
        self
    }
    /// Digits only: the phone shows its number pad.
    pub fn numeric(mut self) -> Self {
        self.numeric = true;
        self
    }
    /// An e-mail address: its keyboard, no spell checking.
    pub fn email(mut self) -> Self {
        self.email = true;
        self.spellcheck = false;
        self
    }
    /// Names and codes: no spell checking.
    pub fn no_spellcheck(mut self) -> Self {
        self.spellcheck = false;
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DateInput {
    pub id: String,
    pub name: String,
    pub legend: String,
    pub hint: Option<String>,
    pub day: String,
    pub month: String,
    pub year: String,
    pub error: Option<String>,
    /// `bday` for her own birth date: the boxes get `bday-day`, `bday-month`, `bday-year`.
    pub autocomplete: Option<&'static str>,
    #[serde(skip)]
    lang: Lang,
}

impl DateInput {
    pub fn hint(mut self, key: &str) -> Self {
        self.hint = Some(text(self.lang, key).to_owned());
        self
    }
    pub fn autocomplete(mut self, prefix: Option<&'static str>) -> Self {
        self.autocomplete = prefix;
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Radios {
    pub id: String,
    pub name: String,
    pub legend: String,
    pub hint: Option<String>,
    pub options: Vec<RadioOption>,
    pub error: Option<String>,
    /// The legend is the page's heading (one question per page).
    pub heading: bool,
    #[serde(skip)]
    lang: Lang,
}

#[derive(Debug, Clone, Serialize)]
pub struct RadioOption {
    pub id: String,
    pub value: String,
    pub label: String,
    pub hint: Option<String>,
    pub checked: bool,
}

impl Radios {
    pub fn hint(mut self, key: &str) -> Self {
        self.hint = Some(text(self.lang, key).to_owned());
        self
    }
    pub fn as_heading(mut self) -> Self {
        self.heading = true;
        self
    }
    /// A hint under the option with `value`.
    pub fn option_hint(mut self, value: &str, key: &str) -> Self {
        if let Some(option) = self.options.iter_mut().find(|o| o.value == value) {
            option.hint = Some(text(self.lang, key).to_owned());
        }
        self
    }
}

/// The three boxes of a date as `YYYY-MM-DD` for the domain's parser; anything that is not a
/// number stays as typed, so the parser names the problem.
pub fn date_value(day: &str, month: &str, year: &str) -> String {
    let (day, month, year) = (day.trim(), month.trim(), year.trim());
    if day.is_empty() && month.is_empty() && year.is_empty() {
        return String::new();
    }
    let pad = |part: &str| {
        if part.len() == 1 && part.bytes().all(|b| b.is_ascii_digit()) { format!("0{part}") } else { part.to_owned() }
    };
    format!("{year}-{}-{}", pad(month), pad(day))
}

/// The boxes of a stored `YYYY-MM-DD` date (without leading zeros, as people type them).
pub fn date_parts(value: &str) -> Option<(String, String, String)> {
    let mut parts = value.splitn(3, '-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    let plain = |part: &str| part.trim_start_matches('0').to_owned();
    Some((plain(day), plain(month), year.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_joined_for_the_domain_and_split_for_the_boxes() {
        assert_eq!(date_value("2", "5", "1994"), "1994-05-02");
        assert_eq!(date_value(" 14 ", "03", "2021"), "2021-03-14");
        assert_eq!(date_value("", "", ""), "");
        assert_eq!(date_value("x", "5", "1994"), "1994-05-x", "kept for the parser to refuse");
        assert_eq!(date_parts("1994-05-02"), Some(("2".into(), "5".into(), "1994".into())));
    }

    #[test]
    fn the_error_summary_follows_the_layout_and_links_to_the_field() {
        let mut form = FormView::new(Lang::De, BTreeMap::new());
        form.problem("child.birth_date", "Datum".into());
        form.problem("child.given_names", "Vorname".into());
        form.text("child.given_names", "common.yes");
        form.date("child.birth_date", "common.yes");
        let links: Vec<_> = form.errors().iter().map(|e| (e.href.as_str(), e.text.as_str())).collect();
        assert_eq!(links, [("#child-given_names", "Vorname"), ("#child-birth_date-day", "Datum")]);
    }

    #[test]
    fn radio_problems_ask_for_a_choice() {
        assert_eq!(
            problem_message(Lang::En, Problem::Required, FieldKind::Choice),
            text(Lang::En, "form.problem.choose")
        );
        assert_eq!(
            problem_message(Lang::De, Problem::PostcodeFormat, FieldKind::Text),
            text(Lang::De, "problem.postcode_format")
        );
    }
}
