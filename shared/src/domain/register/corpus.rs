//! The register check on a corpus: a birth-place office's register with many unrelated entries,
//! and applications of which some concern a child that has an entry, written down differently
//! than in the application (the ways names and dates really go astray: spellings, one slip in a
//! digit of the date, a birth place whose name repeats across Germany). Every application is
//! routed as submissions are, then decided. Measures how many requests are certified
//! automatically, and proves that none of those with an entry is.
//!
//! `cargo test -p shared automation_rate -- --nocapture` prints the figures (BENCHMARKS.md).

use std::collections::HashMap;

use serde_json::{Value, json};
use time::{Date, Duration};

use super::*;
use crate::domain::application::parse_submission;
use crate::domain::application::tests::{TODAY, valid_body};
use crate::domain::office::tests::{BREMEN, PLACES, office};
use crate::domain::request::{LoginIdentity, Request};
use crate::domain::routing::route;

/// Neustadt in Holstein: its office keeps its register on the platform.
const NEUSTADT_IN_HOLSTEIN: &str = "01055032";
/// Places whose names repeat across the country, whose offices are not on the platform: their
/// registers are not visible here, so a child born there must never be certified automatically.
const ELSEWHERE: &[(&str, &str)] = &[
    ("Neustadt am Rübenberge", "Neustadt"),
    ("Neustadt an der Weinstraße", "Neustadt"),
    ("Neuenkirchen", "Neuenkirchen"),
    ("Halle (Saale)", "Halle"),
    ("Frankfurt (Oder)", "Frankfurt"),
];

const FAMILIES: usize = 4_000;
const UNRELATED_ENTRIES: usize = 20_000;
/// Every n-th family's child has an entry.
const WITH_ENTRY_EVERY: usize = 4;

const CHILD_NAMES: &[&str] = &[
    "Mia",
    "Emma",
    "Sophia",
    "Hannah",
    "Emilia",
    "Lina",
    "Marie",
    "Mila",
    "Ella",
    "Lea",
    "Noah",
    "Leon",
    "Paul",
    "Ben",
    "Finn",
    "Elias",
    "Felix",
    "Luca",
    "Jonas",
    "Henry",
    "Ali",
    "Mohammed",
    "Zeynep",
    "Elif",
    "Amir",
    "Yusuf",
    "Lena",
    "Jana",
    "Anna",
    "Lara",
    "Jan",
    "Luis",
    "Jörg",
    "Käthe",
    "Maximilian",
    "Charlotte",
];
const MOTHER_NAMES: &[&str] = &[
    "Sophia",
    "Julia",
    "Anna",
    "Laura",
    "Sarah",
    "Lisa",
    "Katharina",
    "Christina",
    "Jennifer",
    "Stefanie",
    "Ayşe",
    "Fatma",
    "Olga",
    "Natalia",
    "Maria",
    "Sandra",
    "Nicole",
    "Jessica",
    "Melanie",
    "Sabrina",
    "Jülide",
    "Renée",
];
const FAMILY_NAMES: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Schmitz",
    "Krause",
    "Meier",
    "Lehmann",
    "Yılmaz",
    "Kaya",
    "Nowak",
    "Kowalski",
    "Popescu",
    "Öztürk",
    "Groß",
    "Weiß",
    "Jäger",
    "Müller-Lüdenscheidt",
    "Le Blanc",
];

/// Stems and endings of the many rarer family names: the common ones above are borne by about
/// one person in eight, and a corpus of only those would find look-alikes far more often than a
/// real register does.
const NAME_STEMS: &[&str] = &[
    "Acker", "Bach", "Berg", "Blum", "Brand", "Busch", "Eich", "Feld", "Fried", "Gold", "Grün", "Hahn", "Hein",
    "Hirsch", "Holz", "Kling", "Kraus", "Lind", "Mohr", "Ost", "Reh", "Rosen", "Sand", "Schön", "Stein", "Sturm",
    "Wald", "Wein", "Wiese", "Linde", "Pohl", "Kuhl", "Nord", "Süd", "West", "Tann", "Hag", "Horn", "Loh", "Möller",
];
const NAME_ENDINGS: &[&str] = &[
    "mann", "er", "feld", "berg", "bach", "hoff", "ing", "meier", "stein", "kamp", "ke", "rich", "wald", "hausen",
    "dorf", "beck", "brink", "huber", "lein", "bauer", "reiter", "holt", "hagen", "stedt", "ow",
];

/// How the register entry of a child differs from what the mother writes in the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Variant {
    Exact,
    Uppercase,
    UmlautsAsDigraphs,
    UmlautsDropped,
    OnlyFirstGivenName,
    HyphenAsSpace,
    DayAndMonthSwapped,
    ChildRenamedSince,
    MotherRenamedSince,
    OneLetterWrong,
    TwinSibling,
    /// One digit of the birthday written wrong, in the day, the month or the year.
    DaySlip,
    MonthSlip,
    YearSlip,
    /// Born in Neustadt in Holstein, whose register is on the platform; she writes "Neustadt".
    BareRepeatedName,
    /// Born in a place of the same name in another Land, not on the platform; she writes its
    /// full name, or only the repeated part.
    SameNameElsewhere,
    BareNameElsewhere,
}

const VARIANTS: [Variant; 17] = [
    Variant::Exact,
    Variant::Uppercase,
    Variant::UmlautsAsDigraphs,
    Variant::UmlautsDropped,
    Variant::OnlyFirstGivenName,
    Variant::HyphenAsSpace,
    Variant::DayAndMonthSwapped,
    Variant::ChildRenamedSince,
    Variant::MotherRenamedSince,
    Variant::OneLetterWrong,
    Variant::TwinSibling,
    Variant::DaySlip,
    Variant::MonthSlip,
    Variant::YearSlip,
    Variant::BareRepeatedName,
    Variant::SameNameElsewhere,
    Variant::BareNameElsewhere,
];

/// xorshift64*: a fixed seed makes the corpus the same on every run.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len())]
    }

    fn family_name(&mut self) -> String {
        if self.below(8) == 0 {
            self.pick(FAMILY_NAMES).to_owned()
        } else {
            format!("{}{}", self.pick(NAME_STEMS), self.pick(NAME_ENDINGS))
        }
    }

    /// A birthday of a child under 18 on `TODAY`.
    fn birthday(&mut self) -> Date {
        let first = date_of("2009-01-01");
        first + Duration::days(self.below((TODAY - first).whole_days() as usize) as i64)
    }
}

fn date_of(iso: &str) -> Date {
    Date::parse(iso, &time::format_description::well_known::Iso8601::DATE).expect("ISO date")
}

#[derive(Clone)]
struct Family {
    mother_given: String,
    mother_family: String,
    child_given: String,
    child_family: String,
    birthday: Date,
    /// As the register writes it, and as she writes it in the application.
    birth_place: String,
    written_birth_place: String,
    /// The office whose register holds the child's entry.
    register: &'static str,
}

impl Family {
    fn draw(dice: &mut Dice) -> Family {
        let mother_family = dice.family_name();
        // Most children of unmarried mothers carry her name; some their father's.
        let child_family = if dice.below(5) == 0 { dice.family_name() } else { mother_family.clone() };
        let child_given = match dice.below(3) {
            0 => format!("{} {}", dice.pick(CHILD_NAMES), dice.pick(CHILD_NAMES)),
            _ => dice.pick(CHILD_NAMES).to_owned(),
        };
        Family {
            mother_given: dice.pick(MOTHER_NAMES).to_owned(),
            mother_family,
            child_given,
            child_family,
            birthday: dice.birthday(),
            birth_place: "Bremen".into(),
            written_birth_place: "Bremen".into(),
            register: "bremen",
        }
    }

    fn entry(&self, id: usize) -> RegisterEntry {
        RegisterEntry {
            id: format!("e{id}"),
            office_id: self.register.into(),
            child: RegisteredChild {
                given_names: PersonName::parse(&self.child_given).expect("corpus name"),
                family_name: PersonName::parse(&self.child_family).expect("corpus name"),
                birth_date: self.birthday,
                birth_place: Text::parse(&self.birth_place).expect("place"),
            },
            mother: RegisteredMother {
                given_names: PersonName::parse(&self.mother_given).expect("corpus name"),
                family_name: PersonName::parse(&self.mother_family).expect("corpus name"),
            },
            kind: EntryKind::Sorgeerklaerung,
            parts: vec![],
        }
    }

    /// What the mother writes in her application, while the register holds `self`.
    fn applied_as(&self, variant: Variant, dice: &mut Dice) -> (Family, Option<String>) {
        let mut applied = self.clone();
        let mut birth_name = None;
        let umlauts = |name: &str, digraphs: bool| {
            let pairs = [('ä', "ae", "a"), ('ö', "oe", "o"), ('ü', "ue", "u"), ('Ä', "Ae", "A"), ('Ö', "Oe", "O")];
            pairs.iter().fold(name.replace('ß', "ss"), |name, (umlaut, digraph, plain)| {
                name.replace(*umlaut, if digraphs { digraph } else { plain })
            })
        };
        match variant {
            Variant::Exact => {}
            Variant::Uppercase => {
                applied.child_family = self.child_family.to_uppercase();
                applied.mother_family = self.mother_family.to_uppercase();
            }
            Variant::UmlautsAsDigraphs | Variant::UmlautsDropped => {
                let digraphs = variant == Variant::UmlautsAsDigraphs;
                applied.child_family = umlauts(&self.child_family, digraphs);
                applied.child_given = umlauts(&self.child_given, digraphs);
                applied.mother_family = umlauts(&self.mother_family, digraphs);
            }
            Variant::OnlyFirstGivenName => {
                applied.child_given = format!("{} {}", self.child_given, dice.pick(CHILD_NAMES));
            }
            Variant::HyphenAsSpace => {
                applied.child_family = self.child_family.replace('-', " ");
                applied.mother_family = self.mother_family.replace('-', " ");
            }
            Variant::DayAndMonthSwapped => {
                applied.birthday = birthdays_to_check(self.birthday).last().copied().expect("a birthday");
            }
            Variant::ChildRenamedSince => applied.child_family = dice.family_name(),
            Variant::MotherRenamedSince => {
                applied.mother_family = dice.family_name();
                birth_name = Some(self.mother_family.clone());
            }
            Variant::OneLetterWrong => {
                applied.child_family = one_letter_wrong(&self.child_family);
                applied.mother_family = one_letter_wrong(&self.mother_family);
            }
            Variant::TwinSibling => {
                while applied.child_given == self.child_given {
                    applied.child_given = dice.pick(CHILD_NAMES).to_owned();
                }
            }
            Variant::DaySlip | Variant::MonthSlip | Variant::YearSlip => {
                let field = match variant {
                    Variant::DaySlip => 8..10,
                    Variant::MonthSlip => 5..7,
                    _ => 0..4,
                };
                let text = self.birthday.to_string();
                let slips: Vec<Date> = one_slip_birthdays(self.birthday)
                    .into_iter()
                    .filter(|date| {
                        let other = date.to_string();
                        // What she could have written: a date the form takes for a minor child.
                        other[field.clone()] != text[field.clone()]
                            && *date <= TODAY
                            && crate::domain::values::age_on(*date, TODAY) < 18
                    })
                    .collect();
                applied.birthday = slips[dice.below(slips.len())];
            }
            Variant::BareRepeatedName => applied.written_birth_place = "Neustadt".into(),
            Variant::SameNameElsewhere | Variant::BareNameElsewhere => {}
        }
        (applied, birth_name)
    }

    /// The family with its child born at `variant`'s place (before it applies).
    fn born_for(mut self, variant: Variant, dice: &mut Dice) -> Family {
        match variant {
            Variant::BareRepeatedName => {
                self.birth_place = "Neustadt in Holstein".into();
                self.written_birth_place = "Neustadt in Holstein".into();
                self.register = "ostholstein";
            }
            Variant::SameNameElsewhere | Variant::BareNameElsewhere => {
                let (full, bare) = ELSEWHERE[dice.below(ELSEWHERE.len())];
                self.birth_place = full.into();
                self.written_birth_place = if variant == Variant::BareNameElsewhere { bare } else { full }.into();
                self.register = "not-on-the-platform";
            }
            _ => {}
        }
        self
    }

    /// The request as submission routes it, or `None` where submission asks her to choose the
    /// municipality (a name that repeats): no request, so no certificate.
    fn request(&self, birth_name: Option<&str>, directory: &Directory) -> Option<Request> {
        let mut body: Value = valid_body();
        body["mother"]["given_names"] = json!(self.mother_given);
        body["mother"]["family_name"] = json!(self.mother_family);
        if let Some(birth_name) = birth_name {
            body["mother"]["birth_name"] = json!(birth_name);
        }
        body["child"]["given_names"] = json!(self.child_given);
        body["child"]["family_name"] = json!(self.child_family);
        body["child"]["birth_date"] = json!(self.birthday.to_string());
        body["child"]["birth_place"] = json!(self.written_birth_place);
        let submission = parse_submission(&body, TODAY).expect("corpus application parses");
        let routed = route(&submission, directory).ok()?;
        let register_office = routed.register_office.map(|office| office.id.clone());
        let application = submission.application;
        let login = LoginIdentity {
            subject: "bundid".into(),
            given_names: self.mother_given.clone(),
            family_name: self.mother_family.clone(),
            birth_date: Some(application.mother.birth_date),
            trust_level: TrustLevel::Hoch,
        };
        let at = time::macros::datetime!(2026-11-23 10:00 UTC);
        Some(Request::submitted("r".into(), login, "bremen".into(), register_office, application, at))
    }
}

/// The last letter of a longer name replaced, as a typing slip does.
fn one_letter_wrong(name: &str) -> String {
    let mut letters: Vec<char> = name.chars().collect();
    let last = letters.len() - 1;
    letters[last] = if letters[last] == 'x' { 'y' } else { 'x' };
    letters.into_iter().collect()
}

#[derive(Default)]
struct Tally {
    automatic: usize,
    review: usize,
    /// Submission asked her to choose the municipality of a repeated name.
    asked: usize,
}

/// Bremen and the office of Neustadt in Holstein keep their registers on the platform.
fn corpus_directory() -> Directory {
    Directory::new(vec![office("bremen", &[BREMEN]), office("ostholstein", &[NEUSTADT_IN_HOLSTEIN])], PLACES.clone())
}

#[test]
fn automation_rate_on_the_corpus_and_no_wrongful_certificate() {
    let mut dice = Dice(0x5EED_2026_1123);
    // Registers by office, then by birthday.
    let mut registers: HashMap<&str, HashMap<Date, Vec<RegisterEntry>>> = HashMap::new();
    let mut register = |entry: RegisterEntry| {
        let office: &'static str = if entry.office_id == "bremen" { "bremen" } else { "other" };
        let office = if entry.office_id == "ostholstein" { "ostholstein" } else { office };
        registers.entry(office).or_default().entry(entry.child.birth_date).or_default().push(entry);
    };
    for id in 0..UNRELATED_ENTRIES {
        register(Family::draw(&mut dice).entry(id));
    }
    let directory = corpus_directory();
    let mut cases = Vec::new();
    for n in 0..FAMILIES {
        let family = Family::draw(&mut dice);
        if n % WITH_ENTRY_EVERY == 0 {
            let variant = VARIANTS[(n / WITH_ENTRY_EVERY) % VARIANTS.len()];
            let family = family.born_for(variant, &mut dice);
            register(family.entry(UNRELATED_ENTRIES + n));
            let (applied, birth_name) = family.applied_as(variant, &mut dice);
            cases.push((Some(variant), applied.request(birth_name.as_deref(), &directory)));
        } else {
            cases.push((None, family.request(None, &directory)));
        }
    }

    let mut with_entry: HashMap<Variant, Tally> = HashMap::new();
    let mut without_entry = Tally::default();
    let mut queried_dates = 0;
    for (variant, request) in &cases {
        let tally = match variant {
            Some(variant) => with_entry.entry(*variant).or_default(),
            None => &mut without_entry,
        };
        let Some(request) = request else {
            tally.asked += 1;
            continue;
        };
        // What the register step reads: the birth-place office's entries on the queried dates.
        let dates = register_query_birthdays(request.application.child.birth_date);
        queried_dates += dates.len();
        let office_register = request.register_office_id.as_deref().and_then(|id| registers.get(id));
        let entries: Vec<RegisterEntry> = dates
            .iter()
            .flat_map(|day| office_register.and_then(|r| r.get(day)).into_iter().flatten().cloned())
            .collect();
        match decide(request, &directory, &entries) {
            Decision::IssueAutomatically => tally.automatic += 1,
            Decision::Review(_) => tally.review += 1,
        }
    }

    let total = cases.len();
    let automatic = without_entry.automatic + with_entry.values().map(|t| t.automatic).sum::<usize>();
    let clean = without_entry.automatic + without_entry.review + without_entry.asked;
    println!("corpus: {total} requests, {} register entries", UNRELATED_ENTRIES + FAMILIES / WITH_ENTRY_EVERY);
    println!(
        "no entry: {clean} requests, {} certified automatically ({:.1} %), {} reviewed (a same-day entry looked alike)",
        without_entry.automatic,
        100.0 * without_entry.automatic as f64 / clean as f64,
        without_entry.review
    );
    println!("overall automation rate: {:.1} %", 100.0 * automatic as f64 / total as f64);
    println!("register dates asked per request: {:.1}", queried_dates as f64 / total as f64);
    for variant in VARIANTS {
        let tally = &with_entry[&variant];
        println!(
            "entry, {variant:?}: {} reviewed, {} asked to choose the municipality, {} certified automatically",
            tally.review, tally.asked, tally.automatic
        );
    }

    for variant in VARIANTS {
        assert_eq!(with_entry[&variant].automatic, 0, "a wrongful automatic certificate: {variant:?}");
    }
    for variant in [Variant::BareRepeatedName, Variant::BareNameElsewhere] {
        assert_eq!(
            with_entry[&variant].asked,
            with_entry[&variant].review + with_entry[&variant].asked,
            "{variant:?}: asked"
        );
    }
    // Conservatism must not swallow the point of the service: a few look-alikes on the same day
    // (or one slip away) may cost a review, not more.
    assert!(without_entry.automatic * 100 >= clean * 95, "automation rate of clean requests below 95 %");
}
