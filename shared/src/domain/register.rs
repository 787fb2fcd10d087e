//! The custody register (Sorgeregister) of a birth-place office, and the decision whether a
//! request may be certified automatically.
//!
//! The check is conservative: any entry that could be this child sends the request to a case
//! worker. Zero wrongful automatic certificates is the bar; a needless review only costs time.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::Date;

use super::application::{Applicant, Application};
use super::normalize::{comparison_key, loose_key};
use super::office::Directory;
use super::request::{LoginIdentity, Request, TrustLevel};
use super::values::{PersonName, Text, iso_date};

/// Kinds of register entries (XFamilie code list `alleinsorgeeintragung`, version 2.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EntryKind {
    #[serde(rename = "01")]
    Sorgeerklaerung,
    #[serde(rename = "02")]
    GerichtlicheEntscheidung,
    #[serde(rename = "03")]
    Sperrvermerk,
    #[serde(rename = "04")]
    GerichtlicheEntscheidungAlleinsorge,
}

impl EntryKind {
    pub fn code(self) -> &'static str {
        match self {
            EntryKind::Sorgeerklaerung => "01",
            EntryKind::GerichtlicheEntscheidung => "02",
            EntryKind::Sperrvermerk => "03",
            EntryKind::GerichtlicheEntscheidungAlleinsorge => "04",
        }
    }

    pub fn parse(code: &str) -> Option<EntryKind> {
        [
            Self::Sorgeerklaerung,
            Self::GerichtlicheEntscheidung,
            Self::Sperrvermerk,
            Self::GerichtlicheEntscheidungAlleinsorge,
        ]
        .into_iter()
        .find(|kind| kind.code() == code)
    }

    /// The legal term, as XFamilie names it.
    pub fn label(self) -> &'static str {
        match self {
            EntryKind::Sorgeerklaerung => "Sorgeerklärung",
            EntryKind::GerichtlicheEntscheidung => "Gerichtliche Entscheidung",
            EntryKind::Sperrvermerk => "Sperrvermerk",
            EntryKind::GerichtlicheEntscheidungAlleinsorge => "Gerichtliche Entscheidung: Alleinsorge",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegisteredChild {
    pub given_names: PersonName,
    pub family_name: PersonName,
    #[serde(with = "iso_date")]
    pub birth_date: Date,
    pub birth_place: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegisteredMother {
    pub given_names: PersonName,
    pub family_name: PersonName,
}

/// One entry in the register of a birth-place office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegisterEntry {
    pub id: String,
    pub office_id: String,
    pub child: RegisteredChild,
    pub mother: RegisteredMother,
    pub kind: EntryKind,
    /// Parts of custody a court decision covers, if only parts.
    #[serde(default)]
    pub parts: Vec<String>,
}

impl RegisterEntry {
    /// An id made of the entry's content and its office: the same row imported twice (an import
    /// sent again after a lost answer, a row repeated in the file) is the same entry.
    pub fn content_id(&self) -> String {
        let content = serde_json::json!([self.office_id, self.child, self.mother, self.kind, self.parts]);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, content.to_string().as_bytes());
        hex::encode(&digest.as_ref()[..16])
    }
}

/// The name parts of `names`, each as its loose key (see `loose_key`).
fn tokens(names: &[&str]) -> BTreeSet<String> {
    names
        .iter()
        .flat_map(|name| comparison_key(name).split(' ').map(loose_key).collect::<Vec<_>>())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Whether two name parts may be one name written differently: the same loose key, or for
/// longer names one slip apart (a letter wrong, missing, added, or two swapped).
fn same_name_part(a: &str, b: &str) -> bool {
    const SLIP_FROM_LENGTH: usize = 5;
    a == b || (a.chars().count().min(b.chars().count()) >= SLIP_FROM_LENGTH && one_slip_apart(a, b))
}

fn one_slip_apart(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    match (a.len(), b.len()) {
        (x, y) if x == y => a[1..] == b[1..] || (x >= 2 && a[0] == b[1] && a[1] == b[0] && a[2..] == b[2..]),
        (x, y) if x == y + 1 => a[1..] == *b,
        (x, y) if x + 1 == y => *a == b[1..],
        _ => false,
    }
}

fn overlap(a: &BTreeSet<String>, b: &BTreeSet<String>) -> bool {
    a.iter().any(|x| b.iter().any(|y| same_name_part(x, y)))
}

/// The birthdays an entry may carry to be this child: the same one, or day and month swapped
/// (a frequent slip).
pub fn birthdays_to_check(applied: Date) -> Vec<Date> {
    let swapped = time::Month::try_from(applied.day())
        .ok()
        .and_then(|month| Date::from_calendar_date(applied.year(), month, applied.month() as u8).ok())
        .filter(|swapped| *swapped != applied);
    std::iter::once(applied).chain(swapped).collect()
}

/// The dates one typing slip away from `applied` that [`birthdays_to_check`] does not cover: one
/// digit of day, month or year written wrong (`2020-08-17` for `2020-08-18`). At most 72, so the
/// register is asked by index for each, never scanned.
pub fn one_slip_birthdays(applied: Date) -> Vec<Date> {
    let digits: Vec<u8> = format!("{:04}{:02}{:02}", applied.year(), applied.month() as u8, applied.day()).into_bytes();
    let same = birthdays_to_check(applied);
    let mut slips = Vec::new();
    for position in 0..digits.len() {
        for digit in b'0'..=b'9' {
            if digit == digits[position] {
                continue;
            }
            let mut slipped = digits.clone();
            slipped[position] = digit;
            let text = String::from_utf8(slipped).expect("digits");
            let parsed = (|| {
                let month = time::Month::try_from(text[4..6].parse::<u8>().ok()?).ok()?;
                Date::from_calendar_date(text[..4].parse().ok()?, month, text[6..].parse().ok()?).ok()
            })();
            if let Some(date) = parsed.filter(|date| !same.contains(date) && !slips.contains(date)) {
                slips.push(date);
            }
        }
    }
    slips
}

/// Every birthday the register is asked for: [`birthdays_to_check`], then [`one_slip_birthdays`].
pub fn register_query_birthdays(applied: Date) -> Vec<Date> {
    let mut dates = birthdays_to_check(applied);
    dates.extend(one_slip_birthdays(applied));
    dates
}

/// The name parts of an application, as [`tokens`] (computed once per request, compared with
/// every entry on the asked dates).
struct ApplicationNames {
    child_family: BTreeSet<String>,
    child_given: BTreeSet<String>,
    mother_family: BTreeSet<String>,
    mother_given: BTreeSet<String>,
}

impl ApplicationNames {
    fn of(application: &Application) -> Self {
        let (child, mother) = (&application.child, &application.mother);
        let mother_family: Vec<&str> =
            [Some(mother.family_name.as_str()), mother.birth_name.as_ref().map(PersonName::as_str)]
                .into_iter()
                .flatten()
                .collect();
        ApplicationNames {
            child_family: tokens(&[child.family_name.as_str()]),
            child_given: tokens(&[child.given_names.as_str()]),
            mother_family: tokens(&mother_family),
            mother_given: tokens(&[mother.given_names.as_str()]),
        }
    }

    fn child_family(&self, entry: &RegisterEntry) -> bool {
        overlap(&self.child_family, &tokens(&[entry.child.family_name.as_str()]))
    }

    fn child_given(&self, entry: &RegisterEntry) -> bool {
        overlap(&self.child_given, &tokens(&[entry.child.given_names.as_str()]))
    }

    fn mother_family(&self, entry: &RegisterEntry) -> bool {
        overlap(&self.mother_family, &tokens(&[entry.mother.family_name.as_str()]))
    }

    fn mother_given(&self, entry: &RegisterEntry) -> bool {
        overlap(&self.mother_given, &tokens(&[entry.mother.given_names.as_str()]))
    }

    /// On its birthday: a twin shares the family name, a renamed child shares the mother's name;
    /// either is enough, as are the given names of both.
    fn on_the_day(&self, entry: &RegisterEntry) -> bool {
        self.child_family(entry) || self.mother_family(entry) || (self.child_given(entry) && self.mother_given(entry))
    }

    /// One slip away: the child's given name and a family name of the child or the mother. A
    /// slip in the date and a whole name changed at once is too far to tell from a stranger.
    fn despite_the_date(&self, entry: &RegisterEntry) -> bool {
        self.child_given(entry) && (self.child_family(entry) || self.mother_family(entry))
    }
}

/// Whether an entry could be the child of this application. Names are compared part by part
/// after normalisation, so one of several given names, one part of a double family name, ä/ae/a,
/// ß/ss, accents, case, hyphens, doubled letters and a single slip all count as the same.
pub fn could_be_this_child(application: &Application, entry: &RegisterEntry) -> bool {
    birthdays_to_check(application.child.birth_date).contains(&entry.child.birth_date)
        && ApplicationNames::of(application).on_the_day(entry)
}

/// Whether an entry born one typing slip away ([`one_slip_birthdays`]) carries this child's
/// names; one slip costs a review, never a certificate.
pub fn could_be_this_child_despite_the_date(application: &Application, entry: &RegisterEntry) -> bool {
    one_slip_birthdays(application.child.birth_date).contains(&entry.child.birth_date)
        && ApplicationNames::of(application).despite_the_date(entry)
}

/// The entries that could be this child: born on its birthday (or day and month swapped), and
/// born one slip away with its names.
fn candidates(application: &Application, entries: &[RegisterEntry]) -> (Vec<RegisterEntry>, Vec<RegisterEntry>) {
    let same_day = birthdays_to_check(application.child.birth_date);
    let slipped = one_slip_birthdays(application.child.birth_date);
    let names = ApplicationNames::of(application);
    let (mut on_the_day, mut one_slip_away) = (Vec::new(), Vec::new());
    for entry in entries {
        let born = entry.child.birth_date;
        if same_day.contains(&born) && names.on_the_day(entry) {
            on_the_day.push(entry.clone());
        } else if slipped.contains(&born) && names.despite_the_date(entry) {
            one_slip_away.push(entry.clone());
        }
    }
    (on_the_day, one_slip_away)
}

/// Why a case worker has to look at a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ReviewReason {
    /// Entries that could be this child.
    RegisterEntries { candidates: Vec<RegisterEntry> },
    /// Entries with this child's names born one typing slip away from the date she gave.
    BirthDateSlip { candidates: Vec<RegisterEntry> },
    /// The birth place maps to no office of the platform.
    BirthPlaceNotMapped,
    /// The register office does not take part in the platform.
    RegisterOfficeNotConnected,
    /// One of the offices issues only after a case worker's check.
    AutomationOff,
    /// The login is below trust level "substantiell" (STORK-QAA-Level-3).
    TrustLevelTooLow,
    /// The application was made by a representative; the power of attorney needs a look.
    Representative,
    /// The mother's name or birth date in the application differ from the login.
    IdentityMismatch,
}

/// What the register step decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The register holds nothing that could be this child and everything allows automation.
    IssueAutomatically,
    Review(Vec<ReviewReason>),
}

/// Whether the login is the mother named in the application.
pub fn login_matches_mother(login: &LoginIdentity, application: &Application) -> bool {
    let same = |a: &str, b: &str| comparison_key(a) == comparison_key(b);
    same(&login.given_names, application.mother.given_names.as_str())
        && same(&login.family_name, application.mother.family_name.as_str())
        && login.birth_date == Some(application.mother.birth_date)
}

/// Decides a prepared request: `entries` are the register entries of the birth-place office born
/// on any of [`register_query_birthdays`].
pub fn decide(request: &Request, directory: &Directory, entries: &[RegisterEntry]) -> Decision {
    let application = &request.application;
    let mut reasons = Vec::new();
    let register_office = request.register_office_id.as_deref().and_then(|id| directory.get(id));
    match register_office {
        None => reasons.push(ReviewReason::BirthPlaceNotMapped),
        Some(office) if !office.connected => reasons.push(ReviewReason::RegisterOfficeNotConnected),
        Some(_) => {}
    }
    let (on_the_day, one_slip_away) = candidates(application, entries);
    if !on_the_day.is_empty() {
        reasons.push(ReviewReason::RegisterEntries { candidates: on_the_day });
    }
    if !one_slip_away.is_empty() {
        reasons.push(ReviewReason::BirthDateSlip { candidates: one_slip_away });
    }
    let issuing_office = directory.get(&request.office_id);
    if !issuing_office.is_some_and(|o| o.auto_issue) || !register_office.is_some_and(|o| o.auto_issue) {
        reasons.push(ReviewReason::AutomationOff);
    }
    if request.login.trust_level < TrustLevel::Substantiell {
        reasons.push(ReviewReason::TrustLevelTooLow);
    }
    if matches!(application.applicant, Applicant::Representative { .. }) {
        reasons.push(ReviewReason::Representative);
    } else if !login_matches_mother(&request.login, application) {
        reasons.push(ReviewReason::IdentityMismatch);
    }
    if reasons.is_empty() { Decision::IssueAutomatically } else { Decision::Review(reasons) }
}

/// A register entry, as `POST`/`PUT /api/v1/registers/{office}/entries` carry it.
#[derive(utoipa::ToSchema)]
#[schema(example = json!({
    "child": {"given_names": "Mia", "family_name": "Beispiel", "birth_date": "2021-03-14", "birth_place": "Bremen"},
    "mother": {"given_names": "Sophia", "family_name": "Beispiel"},
    "kind": "01"
}))]
pub struct EntryBody {
    pub child: RegisteredChild,
    pub mother: RegisteredMother,
    /// XFamilie code list `alleinsorgeeintragung`: 01 Sorgeerklärung, 02 gerichtliche
    /// Entscheidung, 03 Sperrvermerk, 04 gerichtliche Entscheidung (Alleinsorge).
    pub kind: EntryKind,
    /// The parts of custody a court decision covers, if only parts.
    pub parts: Option<Vec<String>>,
}

/// Parses a register entry ([`EntryBody`]).
pub fn parse_entry(
    body: &serde_json::Value,
    id: String,
    office_id: &str,
    today: Date,
) -> Result<RegisterEntry, crate::input::FieldErrors> {
    use super::values::{Problem, parse_birth_date};
    use crate::input::{FieldErrors, Object};
    let root = Object::root(body);
    let mut errors = FieldErrors::default();
    let child = errors.take("child", root.object("child")).and_then(|child| {
        let given_names = errors.take("child.given_names", child.text("given_names").and_then(PersonName::parse));
        let family_name = errors.take("child.family_name", child.text("family_name").and_then(PersonName::parse));
        let birth_date =
            errors.take("child.birth_date", child.text("birth_date").and_then(|d| parse_birth_date(d, today)));
        let birth_place = errors.take("child.birth_place", child.text("birth_place").and_then(Text::parse));
        Some(RegisteredChild {
            given_names: given_names?,
            family_name: family_name?,
            birth_date: birth_date?,
            birth_place: birth_place?,
        })
    });
    let mother = errors.take("mother", root.object("mother")).and_then(|mother| {
        let given_names = errors.take("mother.given_names", mother.text("given_names").and_then(PersonName::parse));
        let family_name = errors.take("mother.family_name", mother.text("family_name").and_then(PersonName::parse));
        Some(RegisteredMother { given_names: given_names?, family_name: family_name? })
    });
    let kind =
        errors.take("kind", root.text("kind").and_then(|code| EntryKind::parse(code).ok_or(Problem::NotAChoice)));
    let parts = match root.value("parts") {
        None => Some(vec![]),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().ok_or(Problem::NotText).and_then(Text::parse).map(|t| t.as_str().to_owned()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|problem| errors.add("parts", problem))
            .ok(),
        Some(_) => {
            errors.add("parts", Problem::NotText);
            None
        }
    };
    let entry = (|| {
        Some(RegisterEntry {
            id,
            office_id: office_id.to_owned(),
            child: child?,
            mother: mother?,
            kind: kind?,
            parts: parts?,
        })
    })();
    errors.finish(entry)
}

#[cfg(test)]
mod corpus;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::application::parse_submission;
    use crate::domain::application::tests::{TODAY, valid_body};
    use crate::domain::office::tests::directory;
    use crate::domain::request::{LoginIdentity, Request};
    use serde_json::{Value, json};
    use time::macros::{date, datetime};

    /// Sophia Beispiel applies for Mia Beispiel, born 2021-03-14 in Bremen.
    fn application(changes: &[(&str, Value)]) -> Application {
        let mut body = valid_body();
        for (pointer, value) in changes {
            *body.pointer_mut(pointer).unwrap() = value.clone();
        }
        parse_submission(&body, TODAY).unwrap().application
    }

    fn entry(child: (&str, &str), birth_date: Date, mother: (&str, &str)) -> RegisterEntry {
        RegisterEntry {
            id: "e1".into(),
            office_id: "bremen".into(),
            child: RegisteredChild {
                given_names: PersonName::parse(child.0).unwrap(),
                family_name: PersonName::parse(child.1).unwrap(),
                birth_date,
                birth_place: Text::parse("Bremen").unwrap(),
            },
            mother: RegisteredMother {
                given_names: PersonName::parse(mother.0).unwrap(),
                family_name: PersonName::parse(mother.1).unwrap(),
            },
            kind: EntryKind::Sorgeerklaerung,
            parts: vec![],
        }
    }

    const MIA: Date = date!(2021 - 03 - 14);

    #[test]
    fn the_same_child_is_a_candidate() {
        assert!(could_be_this_child(&application(&[]), &entry(("Mia", "Beispiel"), MIA, ("Sophia", "Beispiel"))));
    }

    #[test]
    fn spelling_variants_still_match() {
        let a = application(&[
            ("/child/family_name", json!("Müller-Lüdenscheidt")),
            ("/child/given_names", json!("Zoë Marie")),
        ]);
        assert!(could_be_this_child(&a, &entry(("zoe", "MUELLER LUEDENSCHEIDT"), MIA, ("Anna", "Other"))));
        assert!(
            could_be_this_child(&a, &entry(("Marie", "Lüdenscheidt"), MIA, ("Anna", "Other"))),
            "one part of a double name"
        );
        let b = application(&[("/child/family_name", json!("Strauß"))]);
        assert!(could_be_this_child(&b, &entry(("Mia", "Strauss"), MIA, ("X", "Y"))));
    }

    #[test]
    fn one_slip_in_a_longer_name_part_still_matches() {
        for (a, b) in [("weber", "webber"), ("hartmann", "hartman"), ("schroeder", "schreoder"), ("lehmann", "lehmenn")]
        {
            assert!(same_name_part(&loose_key(a), &loose_key(b)), "{a} / {b}");
        }
        for (a, b) in [("koch", "kock"), ("weber", "werner"), ("lange", "langer s")] {
            assert!(!same_name_part(&loose_key(a), &loose_key(b)), "{a} / {b}");
        }
    }

    #[test]
    fn a_day_month_swap_is_a_candidate() {
        let a = application(&[("/child/birth_date", json!("2021-03-04"))]);
        assert!(could_be_this_child(&a, &entry(("Mia", "Beispiel"), date!(2021 - 04 - 03), ("Sophia", "Beispiel"))));
        assert_eq!(birthdays_to_check(date!(2021 - 03 - 14)), [date!(2021 - 03 - 14)], "no 14th month");
    }

    #[test]
    fn one_digit_wrong_in_day_month_or_year_is_one_slip() {
        let slips = one_slip_birthdays(date!(2020 - 08 - 18));
        for slipped in [
            date!(2020 - 08 - 17),
            date!(2020 - 08 - 28),
            date!(2020 - 09 - 18),
            date!(2021 - 08 - 18),
            date!(2010 - 08 - 18),
        ] {
            assert!(slips.contains(&slipped), "{slipped}");
        }
        assert!(!slips.contains(&date!(2020 - 08 - 18)) && !slips.contains(&date!(2020 - 08 - 26)));
        assert!(!slips.contains(&date!(2020 - 07 - 17)), "two digits are two slips");
        assert!(slips.len() <= 72 && slips.len() > 30, "{}", slips.len());
        assert!(
            !one_slip_birthdays(date!(2021 - 03 - 04)).contains(&date!(2021 - 04 - 03)),
            "the swap is checked already"
        );
    }

    #[test]
    fn the_same_names_one_day_off_go_to_review_with_the_reason() {
        let a = application(&[("/child/birth_date", json!("2020-08-18"))]);
        let registered = entry(("Mia", "Beispiel"), date!(2020 - 08 - 17), ("Sophia", "Beispiel"));
        assert!(!could_be_this_child(&a, &registered), "not the same birthday");
        assert!(could_be_this_child_despite_the_date(&a, &registered));
        let Decision::Review(reasons) =
            decide(&request(TrustLevel::Hoch, a.clone()), &directory(), &[registered.clone()])
        else {
            panic!("an entry one slip away is no certificate")
        };
        assert_eq!(reasons, [ReviewReason::BirthDateSlip { candidates: vec![registered] }]);
        // A stranger on that day, or the child's family without its given name, is no reason.
        let stranger = entry(("Ben", "Yilmaz"), date!(2020 - 08 - 17), ("Ayse", "Yilmaz"));
        let sibling = entry(("Lea", "Beispiel"), date!(2020 - 08 - 17), ("Sophia", "Beispiel"));
        assert!(!could_be_this_child_despite_the_date(&a, &stranger));
        assert!(!could_be_this_child_despite_the_date(&a, &sibling));
    }

    #[test]
    fn a_twin_shares_mother_and_birthday() {
        assert!(could_be_this_child(&application(&[]), &entry(("Lea", "Beispiel"), MIA, ("Sophia", "Beispiel"))));
    }

    #[test]
    fn a_renamed_child_shares_the_mother() {
        assert!(could_be_this_child(&application(&[]), &entry(("Mia", "Schulz"), MIA, ("Sophia", "Beispiel"))));
    }

    #[test]
    fn a_mother_now_under_another_name_is_found_by_her_birth_name() {
        let a = application(&[("/child/family_name", json!("Neumann")), ("/mother/family_name", json!("Neumann"))]);
        let mut body_birth = a.clone();
        body_birth.mother.birth_name = Some(PersonName::parse("Beispiel").unwrap());
        assert!(could_be_this_child(&body_birth, &entry(("Lina", "Schulz"), MIA, ("Sophia", "Beispiel"))));
        assert!(
            could_be_this_child(&a, &entry(("Mia", "Schulz"), MIA, ("Sophia", "Beispiel"))),
            "same given names of child and mother"
        );
    }

    #[test]
    fn other_children_born_the_same_day_are_no_candidates() {
        assert!(!could_be_this_child(&application(&[]), &entry(("Ben", "Yilmaz"), MIA, ("Ayse", "Yilmaz"))));
        assert!(!could_be_this_child(
            &application(&[]),
            &entry(("Mia", "Beispiel"), date!(2021 - 03 - 15), ("Sophia", "Beispiel"))
        ));
    }

    fn request(login_level: TrustLevel, application: Application) -> Request {
        let login = LoginIdentity {
            subject: "s".into(),
            given_names: "Sophia".into(),
            family_name: "Beispiel".into(),
            birth_date: Some(date!(1994 - 05 - 02)),
            trust_level: login_level,
        };
        Request::submitted(
            "r".into(),
            login,
            "bremen".into(),
            Some("bremen".into()),
            application,
            datetime!(2026-11-23 10:00 UTC),
        )
    }

    #[test]
    fn a_clean_register_with_a_strong_login_is_issued_automatically() {
        assert_eq!(
            decide(&request(TrustLevel::Hoch, application(&[])), &directory(), &[]),
            Decision::IssueAutomatically
        );
        assert_eq!(
            decide(&request(TrustLevel::Substantiell, application(&[])), &directory(), &[]),
            Decision::IssueAutomatically
        );
    }

    #[test]
    fn a_basic_login_goes_to_review() {
        assert_eq!(
            decide(&request(TrustLevel::Basis, application(&[])), &directory(), &[]),
            Decision::Review(vec![ReviewReason::TrustLevelTooLow])
        );
    }

    #[test]
    fn a_candidate_entry_goes_to_review_with_the_candidate() {
        let candidate = entry(("Mia", "Beispiel"), MIA, ("Sophia", "Beispiel"));
        let Decision::Review(reasons) =
            decide(&request(TrustLevel::Hoch, application(&[])), &directory(), &[candidate.clone()])
        else {
            panic!("review")
        };
        assert_eq!(reasons, [ReviewReason::RegisterEntries { candidates: vec![candidate] }]);
    }

    #[test]
    fn login_and_application_must_name_the_same_mother() {
        let a = application(&[("/mother/birth_date", json!("1994-05-03"))]);
        assert_eq!(
            decide(&request(TrustLevel::Hoch, a), &directory(), &[]),
            Decision::Review(vec![ReviewReason::IdentityMismatch])
        );
    }

    #[test]
    fn a_representative_goes_to_review() {
        let a = application(&[(
            "/applicant",
            json!({"role": "representative", "representative": {"given_names": "Petra", "family_name": "Hilfreich"}}),
        )]);
        assert_eq!(
            decide(&request(TrustLevel::Hoch, a), &directory(), &[]),
            Decision::Review(vec![ReviewReason::Representative])
        );
    }

    #[test]
    fn an_unmapped_birth_place_or_automation_off_goes_to_review() {
        let mut r = request(TrustLevel::Hoch, application(&[]));
        r.register_office_id = None;
        assert!(
            matches!(decide(&r, &directory(), &[]), Decision::Review(reasons) if reasons.contains(&ReviewReason::BirthPlaceNotMapped))
        );
        use crate::domain::office::tests::{BREMEN, PLACES, office};
        let mut offices = vec![office("bremen", &[BREMEN])];
        offices[0].auto_issue = false;
        let r = request(TrustLevel::Hoch, application(&[]));
        let directory = Directory::new(offices, PLACES.clone());
        assert_eq!(decide(&r, &directory, &[]), Decision::Review(vec![ReviewReason::AutomationOff]));
    }

    #[test]
    fn entries_are_parsed_with_field_errors() {
        let body = json!({"child": {"given_names": "Mia", "family_name": "Beispiel", "birth_date": "2021-03-14", "birth_place": "Bremen"},
                          "mother": {"given_names": "Sophia", "family_name": "Beispiel"}, "kind": "02", "parts": ["Aufenthaltsbestimmungsrecht"]});
        let entry = parse_entry(&body, "e".into(), "bremen", TODAY).unwrap();
        assert_eq!((entry.kind, entry.parts.len()), (EntryKind::GerichtlicheEntscheidung, 1));
        let errors = parse_entry(&json!({"kind": "05", "child": {}}), "e".into(), "bremen", TODAY).unwrap_err();
        assert_eq!(errors.get("kind"), Some(crate::domain::values::Problem::NotAChoice));
        assert_eq!(errors.get("child.birth_date"), Some(crate::domain::values::Problem::Required));
        assert_eq!(errors.get("mother"), Some(crate::domain::values::Problem::Required));
    }
}
