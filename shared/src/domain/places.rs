//! The official directory of German municipalities (Destatis Gemeindeverzeichnis GV100AD) and
//! which municipalities a postcode covers (OpenStreetMap). The 8-digit Amtlicher
//! Gemeindeschlüssel (AGS) decides routing; names are for people, and many repeat across the
//! country (17 "Neustadt …", 11 "Neuenkirchen"), so a name alone is resolved only where it fits
//! exactly one municipality.
//!
//! The project ships a copy (`shared/places/`, stand 31.08.2025); operators replace it with a
//! newer GV100AD file (`sorgeregister places import`, see [`gv100ad`]).

pub mod gv100ad;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::normalize::comparison_key;
use super::values::Problem;

/// An Amtlicher Gemeindeschlüssel: eight digits (Land, Regierungsbezirk, Kreis, Gemeinde).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(example = "04011000")]
pub struct Ags(String);

impl Ags {
    pub fn parse(raw: &str) -> Result<Ags, Problem> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(Problem::Required);
        }
        if raw.len() == 8 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Ags(raw.to_owned()))
        } else {
            Err(Problem::AgsFormat)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Kreis (first five digits), as GV100AD keys it.
    pub fn kreis(&self) -> &str {
        &self.0[..5]
    }

    /// The Land (first two digits).
    pub fn land(&self) -> &str {
        &self.0[..2]
    }
}

impl TryFrom<String> for Ags {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Ags::parse(&raw).map_err(|_| format!("{raw:?} is not an AGS"))
    }
}

impl From<Ags> for String {
    fn from(ags: Ags) -> String {
        ags.0
    }
}

/// A municipality as the directory names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Municipality {
    pub ags: Ags,
    /// The official name with its suffix: `Neustadt in Holstein, Stadt`.
    pub name: String,
    /// The Kreis (or kreisfreie Stadt) it belongs to.
    pub kreis: String,
    pub land: String,
}

impl Municipality {
    /// How people tell it apart from others of the same name: `Neustadt in Holstein, Stadt —
    /// Ostholstein, Schleswig-Holstein`.
    pub fn label(&self) -> String {
        if self.kreis == self.name {
            format!("{} — {}", self.name, self.land)
        } else {
            format!("{} — {}, {}", self.name, self.kreis, self.land)
        }
    }

    /// The keys a typed name is compared with: the name without its status suffix (`, Stadt`),
    /// each part of a bilingual name (`Weißwasser/O.L. / Běła Woda`), and the Bavarian
    /// abbreviations written out (`Neustadt a.d.Donau` → `Neustadt an der Donau`).
    fn name_keys(&self) -> Vec<String> {
        let short = self.name.split(", ").next().unwrap_or(&self.name);
        let short = match self.name.rsplit_once(" / ") {
            // `Weißwasser/O.L., Stadt / Běła Woda`: the suffix belongs to the first part.
            Some((first, second)) if first.contains(", ") => format!("{short} / {second}"),
            _ => short.to_owned(),
        };
        let mut names = vec![short.clone()];
        names.extend(short.split(" / ").map(str::to_owned).filter(|part| *part != short));
        let written_out: Vec<String> = names
            .iter()
            .map(|name| {
                [(" a.d.", " an der "), (" i.d.", " in der "), (" a.", " am "), (" b.", " bei "), (" i.", " im ")]
                    .iter()
                    .fold(name.clone(), |name, (short, long)| name.replace(short, long))
            })
            .collect();
        names.extend(written_out);
        let mut keys: Vec<String> = names.iter().map(|name| comparison_key(name)).collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

/// The directory: every municipality by its key, found by name and by postcode.
#[derive(Debug, Clone, Default)]
pub struct Places {
    /// Gebietsstand of the directory, e.g. `2025-08-31`.
    stand: String,
    municipalities: BTreeMap<Ags, Municipality>,
    /// Name key → municipalities with that key, sorted by key for prefix search.
    by_name: BTreeMap<String, Vec<Ags>>,
    by_postcode: HashMap<String, Vec<Ags>>,
}

/// Why a directory could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}, line {line}: {problem}")]
pub struct PlacesError {
    pub file: &'static str,
    pub line: usize,
    pub problem: String,
}

impl Places {
    pub fn new(stand: String, municipalities: Vec<Municipality>, postcodes: Vec<(String, Ags)>) -> Places {
        let mut by_name: BTreeMap<String, Vec<Ags>> = BTreeMap::new();
        for municipality in &municipalities {
            for key in municipality.name_keys() {
                by_name.entry(key).or_default().push(municipality.ags.clone());
            }
        }
        let municipalities: BTreeMap<Ags, Municipality> =
            municipalities.into_iter().map(|m| (m.ags.clone(), m)).collect();
        let mut by_postcode: HashMap<String, Vec<Ags>> = HashMap::new();
        for (postcode, ags) in postcodes {
            if municipalities.contains_key(&ags) {
                let list = by_postcode.entry(postcode).or_default();
                if !list.contains(&ags) {
                    list.push(ags);
                }
            }
        }
        Places { stand, municipalities, by_name, by_postcode }
    }

    /// The copy shipped with the project (Gebietsstand 31.08.2025).
    pub fn shipped() -> Places {
        Places::from_csv(SHIPPED_STAND, SHIPPED_MUNICIPALITIES, SHIPPED_POSTCODES)
            .expect("the shipped directory of municipalities reads")
    }

    /// Reads the directory in the shipped CSV form: `ags,name,kreis,land` and `plz,ags`.
    pub fn from_csv(stand: &str, municipalities: &str, postcodes: &str) -> Result<Places, PlacesError> {
        let rows = |file: &'static str, text: &str, columns: usize| -> Result<Vec<Vec<String>>, PlacesError> {
            let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
            reader
                .records()
                .enumerate()
                .map(|(index, record)| {
                    let line = index + 2;
                    let record =
                        record.map_err(|e| PlacesError { file, line, problem: format!("unreadable row: {e}") })?;
                    if record.len() != columns {
                        return Err(PlacesError {
                            file,
                            line,
                            problem: format!("{} columns, not {columns}", record.len()),
                        });
                    }
                    Ok(record.iter().map(str::to_owned).collect())
                })
                .collect()
        };
        let ags = |file, line, raw: &str| {
            Ags::parse(raw).map_err(|_| PlacesError { file, line, problem: format!("{raw:?} is not an AGS") })
        };
        let mut list = Vec::new();
        for (index, row) in rows("gemeinden.csv", municipalities, 4)?.into_iter().enumerate() {
            let [code, name, kreis, land] = <[String; 4]>::try_from(row).expect("four columns checked");
            list.push(Municipality { ags: ags("gemeinden.csv", index + 2, &code)?, name, kreis, land });
        }
        let mut pairs = Vec::new();
        for (index, row) in rows("plz.csv", postcodes, 2)?.into_iter().enumerate() {
            let [postcode, code] = <[String; 2]>::try_from(row).expect("two columns checked");
            pairs.push((postcode, ags("plz.csv", index + 2, &code)?));
        }
        Ok(Places::new(stand.to_owned(), list, pairs))
    }

    /// The directory in the shipped CSV form (for storing an imported one).
    pub fn to_csv(&self) -> (String, String) {
        let mut municipalities = csv::Writer::from_writer(Vec::new());
        municipalities.write_record(["ags", "name", "kreis", "land"]).expect("in memory");
        for m in self.municipalities.values() {
            municipalities.write_record([m.ags.as_str(), &m.name, &m.kreis, &m.land]).expect("in memory");
        }
        let mut postcodes = csv::Writer::from_writer(Vec::new());
        postcodes.write_record(["plz", "ags"]).expect("in memory");
        let mut pairs: Vec<(&String, &Ags)> =
            self.by_postcode.iter().flat_map(|(plz, list)| list.iter().map(move |ags| (plz, ags))).collect();
        pairs.sort();
        for (plz, ags) in pairs {
            postcodes.write_record([plz.as_str(), ags.as_str()]).expect("in memory");
        }
        let text = |writer: csv::Writer<Vec<u8>>| {
            String::from_utf8(writer.into_inner().expect("in memory")).expect("written from text")
        };
        (text(municipalities), text(postcodes))
    }

    pub fn stand(&self) -> &str {
        &self.stand
    }

    pub fn len(&self) -> usize {
        self.municipalities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.municipalities.is_empty()
    }

    pub fn get(&self, ags: &Ags) -> Option<&Municipality> {
        self.municipalities.get(ags)
    }

    pub fn municipalities(&self) -> impl Iterator<Item = &Municipality> {
        self.municipalities.values()
    }

    /// The municipalities a postcode covers (several for 1 384 postcodes).
    pub fn of_postcode(&self, postcode: &str) -> Vec<&Municipality> {
        self.by_postcode.get(postcode).into_iter().flatten().filter_map(|ags| self.get(ags)).collect()
    }

    /// Every municipality whose name `typed` could mean: the name itself, or a longer name that
    /// begins with it as a whole word (`Halle` → `Halle`, `Halle (Saale)`, `Halle (Westf.)`).
    /// Ordered by Land, Kreis and name.
    pub fn named(&self, typed: &str) -> Vec<&Municipality> {
        let key = comparison_key(typed);
        if key.is_empty() {
            return Vec::new();
        }
        let mut found: Vec<&Ags> = self
            .by_name
            .range(key.clone()..)
            .take_while(|(name, _)| name.starts_with(&key))
            .filter(|(name, _)| name[key.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric()))
            .flat_map(|(_, list)| list)
            .collect();
        found.sort();
        found.dedup();
        found.into_iter().filter_map(|ags| self.get(ags)).collect()
    }

    /// The one municipality `typed` names, if it names exactly one; never a guess between several.
    pub fn resolve(&self, typed: &str) -> Resolution<'_> {
        match self.named(typed).as_slice() {
            [] => Resolution::NotFound,
            [only] => Resolution::One(only),
            several => Resolution::Several(several.to_vec()),
        }
    }
}

/// What a typed place name comes to in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution<'a> {
    One(&'a Municipality),
    Several(Vec<&'a Municipality>),
    NotFound,
}

const SHIPPED_STAND: &str = "2025-08-31";
const SHIPPED_MUNICIPALITIES: &str = include_str!("../../places/gemeinden.csv");
const SHIPPED_POSTCODES: &str = include_str!("../../places/plz.csv");

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use super::*;

    static SHIPPED: LazyLock<Places> = LazyLock::new(Places::shipped);

    fn ags(code: &str) -> Ags {
        Ags::parse(code).unwrap()
    }

    #[test]
    fn an_ags_has_eight_digits() {
        assert_eq!(ags("03352011").kreis(), "03352");
        for bad in ["0335201", "033520111", "0335201x", "03 52011"] {
            assert_eq!(Ags::parse(bad), Err(Problem::AgsFormat), "{bad}");
        }
        assert_eq!(Ags::parse(" "), Err(Problem::Required));
    }

    #[test]
    fn the_shipped_directory_has_every_municipality() {
        assert_eq!(SHIPPED.len(), 10_751);
        assert_eq!(SHIPPED.get(&ags("04011000")).unwrap().name, "Bremen, Stadt");
        let cuxhaven = SHIPPED.get(&ags("03352011")).unwrap();
        assert_eq!((cuxhaven.kreis.as_str(), cuxhaven.land.as_str()), ("Cuxhaven", "Niedersachsen"));
    }

    #[test]
    fn a_unique_name_resolves_and_a_repeated_one_does_not() {
        assert_eq!(SHIPPED.resolve("Bremen"), Resolution::One(SHIPPED.get(&ags("04011000")).unwrap()));
        assert_eq!(SHIPPED.resolve("cuxhaven").clone(), Resolution::One(SHIPPED.get(&ags("03352011")).unwrap()));
        let Resolution::Several(neustadt) = SHIPPED.resolve("Neustadt") else { panic!("Neustadt is ambiguous") };
        assert!(neustadt.len() >= 17, "{}", neustadt.len());
        let Resolution::Several(neuenkirchen) = SHIPPED.resolve("Neuenkirchen") else { panic!() };
        let exact = neuenkirchen.iter().filter(|m| m.name.split(", ").next() == Some("Neuenkirchen")).count();
        assert_eq!(exact, 11, "and longer names beginning with it, such as Neuenkirchen-Vörden");
        assert_eq!(SHIPPED.resolve("Atlantis"), Resolution::NotFound);
    }

    #[test]
    fn an_exact_name_that_begins_longer_names_is_no_guess() {
        // A village called Halle (Niedersachsen) and the cities Halle (Saale) and Halle (Westf.).
        let Resolution::Several(halle) = SHIPPED.resolve("Halle") else { panic!("Halle is ambiguous") };
        let names: Vec<&str> = halle.iter().map(|m| m.name.as_str()).collect();
        assert!(names.contains(&"Halle (Saale), Stadt") && names.contains(&"Halle"), "{names:?}");
        assert!(matches!(SHIPPED.resolve("Halle (Saale)"), Resolution::One(m) if m.ags.as_str() == "15002000"));
    }

    #[test]
    fn names_are_found_as_people_write_them() {
        let one = |typed: &str| match SHIPPED.resolve(typed) {
            Resolution::One(m) => m.name.clone(),
            other => panic!("{typed}: {other:?}"),
        };
        assert_eq!(one("Neustadt an der Donau"), "Neustadt a.d.Donau, St");
        assert_eq!(one("neustadt in holstein"), "Neustadt in Holstein, Stadt");
        assert_eq!(one("Weißwasser"), "Weißwasser/O.L., Stadt / Běła Woda");
        assert_eq!(one("Běła Woda"), "Weißwasser/O.L., Stadt / Běła Woda");
        assert_eq!(one("Frankfurt (Oder)"), "Frankfurt (Oder), Stadt");
        assert!(matches!(SHIPPED.resolve("Frankfurt"), Resolution::Several(f) if f.len() == 2));
    }

    #[test]
    fn a_postcode_may_span_several_municipalities() {
        assert_eq!(SHIPPED.of_postcode("28195").iter().map(|m| m.ags.as_str()).collect::<Vec<_>>(), ["04011000"]);
        let spanning = SHIPPED.by_postcode.values().filter(|list| list.len() > 1).count();
        assert_eq!(spanning, 1_384);
        assert!(SHIPPED.of_postcode("00000").is_empty());
    }

    #[test]
    fn a_label_tells_equal_names_apart() {
        let neustadt = SHIPPED.named("Neustadt in Holstein");
        assert_eq!(neustadt[0].label(), "Neustadt in Holstein, Stadt — Ostholstein, Schleswig-Holstein");
        assert_eq!(SHIPPED.get(&ags("04011000")).unwrap().label(), "Bremen, Stadt — Bremen");
    }

    #[test]
    fn the_directory_survives_a_round_trip_through_its_files() {
        let (municipalities, postcodes) = SHIPPED.to_csv();
        let again = Places::from_csv("2025-08-31", &municipalities, &postcodes).unwrap();
        assert_eq!(again.len(), SHIPPED.len());
        assert_eq!(again.of_postcode("27472").len(), SHIPPED.of_postcode("27472").len());
    }

    #[test]
    fn a_broken_file_names_its_line() {
        let error =
            Places::from_csv("x", "ags,name,kreis,land\n0401100,Bremen,Bremen,Bremen\n", "plz,ags\n").unwrap_err();
        assert_eq!((error.file, error.line), ("gemeinden.csv", 2));
    }
}
