//! Typed values that can only be built from valid input ("parse, don't validate").

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, macros::format_description};

use super::din91379::{self, DataType};

/// What is wrong with one input field. The text catalogue turns the code into words
/// (`problem.<code>`), so the rules stay free of language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    Required,
    TooLong,
    NameCharacters,
    TextCharacters,
    NotText,
    NotYesNo,
    NotAChoice,
    NotAnObject,
    DateFormat,
    DateInFuture,
    DateTooEarly,
    ChildNotMinor,
    MotherMinor,
    PostcodeFormat,
    OneChildOnly,
    NoOfficeForPostcode,
    OfficeNotConnected,
    IdFormat,
    NotEligible,
    PhoneFormat,
    EmailFormat,
    UrlFormat,
    RetentionRange,
    AgsFormat,
    UnknownMunicipality,
    AmbiguousMunicipality,
    PostcodeUnknown,
    LimitRange,
    CursorFormat,
    LineNumber,
}

impl Problem {
    pub const ALL: [Problem; 30] = [
        Problem::Required,
        Problem::TooLong,
        Problem::NameCharacters,
        Problem::TextCharacters,
        Problem::NotText,
        Problem::NotYesNo,
        Problem::NotAChoice,
        Problem::NotAnObject,
        Problem::DateFormat,
        Problem::DateInFuture,
        Problem::DateTooEarly,
        Problem::ChildNotMinor,
        Problem::MotherMinor,
        Problem::PostcodeFormat,
        Problem::OneChildOnly,
        Problem::NoOfficeForPostcode,
        Problem::OfficeNotConnected,
        Problem::IdFormat,
        Problem::NotEligible,
        Problem::PhoneFormat,
        Problem::EmailFormat,
        Problem::UrlFormat,
        Problem::RetentionRange,
        Problem::AgsFormat,
        Problem::UnknownMunicipality,
        Problem::AmbiguousMunicipality,
        Problem::PostcodeUnknown,
        Problem::LimitRange,
        Problem::CursorFormat,
        Problem::LineNumber,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Problem::Required => "required",
            Problem::TooLong => "too_long",
            Problem::NameCharacters => "name_characters",
            Problem::TextCharacters => "text_characters",
            Problem::NotText => "not_text",
            Problem::NotYesNo => "not_yes_no",
            Problem::NotAChoice => "not_a_choice",
            Problem::NotAnObject => "not_an_object",
            Problem::DateFormat => "date_format",
            Problem::DateInFuture => "date_in_future",
            Problem::DateTooEarly => "date_too_early",
            Problem::ChildNotMinor => "child_not_minor",
            Problem::MotherMinor => "mother_minor",
            Problem::PostcodeFormat => "postcode_format",
            Problem::OneChildOnly => "one_child_only",
            Problem::NoOfficeForPostcode => "no_office_for_postcode",
            Problem::OfficeNotConnected => "office_not_connected",
            Problem::IdFormat => "id_format",
            Problem::NotEligible => "not_eligible",
            Problem::PhoneFormat => "phone_format",
            Problem::EmailFormat => "email_format",
            Problem::UrlFormat => "url_format",
            Problem::RetentionRange => "retention_range",
            Problem::AgsFormat => "ags_format",
            Problem::UnknownMunicipality => "unknown_municipality",
            Problem::AmbiguousMunicipality => "ambiguous_municipality",
            Problem::PostcodeUnknown => "postcode_unknown",
            Problem::LimitRange => "limit_range",
            Problem::CursorFormat => "cursor_format",
            Problem::LineNumber => "line_number",
        }
    }
}

/// Longest name or text we accept; XFamilie and letters have no room for more.
const MAX_CHARS: usize = 100;

fn conform(raw: &str, data_type: DataType, problem: Problem) -> Result<String, Problem> {
    let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return Err(Problem::Required);
    }
    // Tabs and line breaks were folded into spaces above; a name must not smuggle them in.
    if raw.chars().any(|c| c.is_control()) {
        return Err(problem);
    }
    let text = din91379::conform(&collapsed, data_type).map_err(|_| problem)?;
    if text.chars().count() > MAX_CHARS {
        return Err(Problem::TooLong);
    }
    Ok(text)
}

/// A name of a natural person (DIN 91379 type A, NFC, single spaces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        conform(raw, DataType::A, Problem::NameCharacters).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Other text: places, streets, house numbers (DIN 91379 type C, NFC, single spaces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        conform(raw, DataType::C, Problem::TextCharacters).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text of several lines (messages, reasons): DIN 91379 type C per line, NFC, at most
/// 2000 characters; surrounding blank space is trimmed, line breaks are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct LongText(String);

impl LongText {
    pub const MAX_CHARS: usize = 2000;

    pub fn parse(raw: &str) -> Result<Self, Problem> {
        let normalised = raw.replace("\r\n", "\n");
        let trimmed = normalised.trim();
        if trimmed.is_empty() {
            return Err(Problem::Required);
        }
        let mut lines = Vec::new();
        for line in trimmed.split('\n') {
            let line = line.trim_end();
            if line.chars().any(|c| c.is_control()) {
                return Err(Problem::TextCharacters);
            }
            lines.push(din91379::conform(line, DataType::C).map_err(|_| Problem::TextCharacters)?);
        }
        let text = lines.join("\n");
        if text.chars().count() > Self::MAX_CHARS {
            return Err(Problem::TooLong);
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A German postcode: five digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(example = "28195")]
pub struct Postcode(String);

impl Postcode {
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        let code = raw.trim();
        if code.is_empty() {
            return Err(Problem::Required);
        }
        if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) || code == "00000" {
            return Err(Problem::PostcodeFormat);
        }
        Ok(Self(code.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address to write to: a plain `local@domain.tld`, as a form field or an office's
/// settings give it (no display name, no domain literal, no quoting), so it can go into a mail
/// header as it is. The syntax is `email_address`'s (RFC 5321/5322).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(example = "sophia.beispiel@example.org")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        let address = raw.trim();
        if address.is_empty() {
            return Err(Problem::Required);
        }
        let options =
            email_address::Options::default().with_required_tld().without_domain_literal().without_display_text();
        // Quoted local parts and non-ASCII are valid mail, but not what a mother or an office
        // types; refusing them keeps every header plain.
        let plain =
            address.len() <= 254 && address.chars().all(|c| c.is_ascii_graphic() && !"\"<>()[]\\,;:".contains(c));
        match email_address::EmailAddress::parse_with_options(address, options) {
            Ok(_) if plain => Ok(Self(address.to_owned())),
            _ => Err(Problem::EmailFormat),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A calendar date written as `YYYY-MM-DD`.
pub fn parse_date(raw: &str) -> Result<Date, Problem> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Problem::Required);
    }
    Date::parse(raw, format_description!("[year]-[month]-[day]")).map_err(|_| Problem::DateFormat)
}

time::serde::format_description!(pub iso_date, Date, "[year]-[month]-[day]");

/// Formats a date as German documents write it: `14.03.2021`.
pub fn format_date_german(date: Date) -> String {
    date.format(format_description!("[day].[month].[year]")).expect("a calendar date always formats")
}

/// Formats a date as `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]")).expect("a calendar date always formats")
}

/// A date of birth: a real date, not in the future, not before 1900.
pub fn parse_birth_date(raw: &str, today: Date) -> Result<Date, Problem> {
    let date = parse_date(raw)?;
    if date > today {
        return Err(Problem::DateInFuture);
    }
    if date.year() < 1900 {
        return Err(Problem::DateTooEarly);
    }
    Ok(date)
}

/// The calendar day in Germany at `now`, which decides ages and "today" for the mother,
/// whatever the server's zone.
pub fn today_in_germany(now: OffsetDateTime) -> Date {
    in_germany(now).date()
}

/// `now` in German local time (Europe/Berlin: CET/CEST), as pages show times.
pub fn in_germany(now: OffsetDateTime) -> OffsetDateTime {
    use time_tz::OffsetDateTimeExt;
    now.to_timezone(time_tz::timezones::db::europe::BERLIN)
}

/// Completed years of life on `on` (a person born on 29 February turns a year older on 1 March).
pub fn age_on(birth: Date, on: Date) -> i32 {
    let had_birthday = (on.month() as u8, on.day()) >= (birth.month() as u8, birth.day());
    on.year() - birth.year() - if had_birthday { 0 } else { 1 }
}

/// An identifier chosen by a client (draft ids, idempotency keys): 1–64 of `A–Z a–z 0–9 - _`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(example = "antrag-1")]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok { Ok(Self(raw.to_owned())) } else { Err(Problem::IdFormat) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn email_addresses_are_plain_local_at_domain() {
        assert_eq!(
            EmailAddress::parse(" sophia.beispiel@example.org ").unwrap().as_str(),
            "sophia.beispiel@example.org"
        );
        assert_eq!(EmailAddress::parse("jugendamt+sorge@bremen.de").unwrap().as_str(), "jugendamt+sorge@bremen.de");
        assert_eq!(EmailAddress::parse("  "), Err(Problem::Required));
        for hostile in [
            "sophia",
            "sophia@localhost",
            "@example.org",
            "sophia@",
            "sophia@[127.0.0.1]",
            "Sophia <sophia@example.org>",
            "\"so phia\"@example.org",
            "sophia@example.org\r\nBcc: all@example.org",
            "a,b@example.org",
            "sophia@exa mple.org",
            "söphia@example.org",
        ] {
            assert_eq!(EmailAddress::parse(hostile), Err(Problem::EmailFormat), "{hostile:?}");
        }
        assert_eq!(EmailAddress::parse(&format!("{}@example.org", "a".repeat(250))), Err(Problem::EmailFormat));
    }

    #[test]
    fn names_are_trimmed_and_inner_spaces_collapsed() {
        assert_eq!(PersonName::parse("  Anna   Maria ").unwrap().as_str(), "Anna Maria");
    }

    #[test]
    fn an_empty_name_is_required_not_malformed() {
        assert_eq!(PersonName::parse("   "), Err(Problem::Required));
    }

    #[test]
    fn names_with_line_breaks_or_digits_are_refused() {
        assert_eq!(PersonName::parse("Anna\nBeispiel"), Err(Problem::NameCharacters));
        assert_eq!(PersonName::parse("R2D2"), Err(Problem::NameCharacters));
    }

    #[test]
    fn overlong_names_are_refused() {
        assert_eq!(PersonName::parse(&"a".repeat(101)), Err(Problem::TooLong));
    }

    #[test]
    fn postcodes_have_five_digits() {
        assert!(Postcode::parse("28195").is_ok());
        for bad in ["2819", "281955", "28l95", "00000"] {
            assert_eq!(Postcode::parse(bad), Err(Problem::PostcodeFormat), "{bad}");
        }
    }

    #[test]
    fn birth_dates_are_real_past_dates() {
        let today = date!(2026 - 11 - 23);
        assert_eq!(parse_birth_date("2024-02-30", today), Err(Problem::DateFormat));
        assert_eq!(parse_birth_date("02.05.1994", today), Err(Problem::DateFormat));
        assert_eq!(parse_birth_date("2026-11-24", today), Err(Problem::DateInFuture));
        assert_eq!(parse_birth_date("1899-12-31", today), Err(Problem::DateTooEarly));
        assert_eq!(parse_birth_date("2026-11-23", today), Ok(today));
    }

    #[test]
    fn today_is_the_german_calendar_day() {
        use time::macros::datetime;
        assert_eq!(today_in_germany(datetime!(2026-11-23 22:59 UTC)), date!(2026 - 11 - 23));
        assert_eq!(today_in_germany(datetime!(2026-11-23 23:00 UTC)), date!(2026 - 11 - 24));
        assert_eq!(today_in_germany(datetime!(2026-07-01 21:59 UTC)), date!(2026 - 07 - 01));
        assert_eq!(today_in_germany(datetime!(2026-07-01 22:00 UTC)), date!(2026 - 07 - 02));
    }

    #[test]
    fn summer_time_starts_and_ends_at_one_o_clock_utc() {
        use time::macros::{datetime, offset};
        assert_eq!(in_germany(datetime!(2026-03-29 00:59 UTC)).offset(), offset!(+1));
        assert_eq!(in_germany(datetime!(2026-03-29 01:00 UTC)).offset(), offset!(+2));
        assert_eq!(in_germany(datetime!(2026-10-25 00:59 UTC)).offset(), offset!(+2));
        assert_eq!(in_germany(datetime!(2026-10-25 01:00 UTC)).offset(), offset!(+1));
    }

    #[test]
    fn age_counts_completed_years() {
        assert_eq!(age_on(date!(2008 - 11 - 24), date!(2026 - 11 - 23)), 17);
        assert_eq!(age_on(date!(2008 - 11 - 23), date!(2026 - 11 - 23)), 18);
        assert_eq!(age_on(date!(2008 - 02 - 29), date!(2026 - 02 - 28)), 17);
        assert_eq!(age_on(date!(2008 - 02 - 29), date!(2026 - 03 - 01)), 18);
    }

    #[test]
    fn long_text_keeps_lines_and_refuses_control_characters() {
        assert_eq!(
            LongText::parse("  Guten Tag,\r\nbitte senden Sie uns die Geburtsurkunde.\n ").unwrap().as_str(),
            "Guten Tag,\nbitte senden Sie uns die Geburtsurkunde."
        );
        assert_eq!(LongText::parse("a\u{7}b"), Err(Problem::TextCharacters));
        assert_eq!(LongText::parse(&"a".repeat(2001)), Err(Problem::TooLong));
        assert_eq!(LongText::parse(" \n "), Err(Problem::Required));
    }

    #[test]
    fn client_ids_are_short_and_plain() {
        assert!(ClientId::parse("3f2a-9b_x").is_ok());
        assert_eq!(ClientId::parse("../etc/passwd"), Err(Problem::IdFormat));
        assert_eq!(ClientId::parse(&"a".repeat(65)), Err(Problem::IdFormat));
    }
}
