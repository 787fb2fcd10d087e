//! Destatis' Gemeindeverzeichnis in its fixed-width form (GV100AD): 220 characters a record,
//! UTF-8, positions counted from 1 as in the Datensatzbeschreibung. Record 10 names a Land, 40 a
//! Kreis, 60 a municipality (Textkennzeichen 65 and 66 are gemeindefreie Gebiete, not
//! municipalities). Postcodes are not in it beyond each municipality's seat, so an import keeps
//! the current postcode assignment and reports what no longer fits.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Ags, Municipality, Places, PlacesError};

/// The characters `from..=to` (1-based) of a record, without padding.
fn field(chars: &[char], from: usize, to: usize) -> String {
    chars[from - 1..to].iter().collect::<String>().trim().to_owned()
}

/// A GV100AD file read: its Gebietsstand, its municipalities and each one's seat postcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gv100ad {
    /// `2025-08-31`.
    pub stand: String,
    pub municipalities: Vec<Municipality>,
    pub seat_postcodes: Vec<(String, Ags)>,
}

const FILE: &str = "GV100AD";

/// Reads a GV100AD file; a record that does not fit the format is refused with its line.
pub fn parse(text: &str) -> Result<Gv100ad, PlacesError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let error = |line: usize, problem: &str| PlacesError { file: FILE, line, problem: problem.to_owned() };
    let mut lands = HashMap::new();
    let mut kreise = HashMap::new();
    let mut places = Vec::new();
    let mut stand = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let raw = raw.trim_end_matches('\r');
        if raw.trim().is_empty() {
            continue;
        }
        let chars: Vec<char> = raw.chars().collect();
        if chars.len() != 220 {
            return Err(error(line, &format!("{} characters, not 220", chars.len())));
        }
        let date = field(&chars, 3, 10);
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error(line, "no Gebietsstand in positions 3-10"));
        }
        let date = format!("{}-{}-{}", &date[..4], &date[4..6], &date[6..]);
        match stand.get_or_insert_with(|| date.clone()) {
            known if *known != date => return Err(error(line, "a second Gebietsstand")),
            _ => {}
        }
        let key = field(&chars, 11, 18);
        let name = field(&chars, 23, 72);
        match field(&chars, 1, 2).as_str() {
            "10" => {
                lands.insert(key, name);
            }
            "40" => {
                kreise.insert(key, name);
            }
            "60" => {
                let text_code = field(&chars, 123, 124);
                if matches!(text_code.as_str(), "65" | "66") {
                    continue;
                }
                let ags = Ags::parse(&key).map_err(|_| error(line, &format!("{key:?} is not an AGS")))?;
                if name.is_empty() {
                    return Err(error(line, "a municipality without a name"));
                }
                places.push((line, ags, name, field(&chars, 166, 170)));
            }
            "20" | "30" | "50" => {}
            other => return Err(error(line, &format!("unknown record type {other:?}"))),
        }
    }
    let Some(stand) = stand else { return Err(error(1, "no records")) };
    let mut municipalities = Vec::new();
    let mut seat_postcodes = Vec::new();
    let mut seen = BTreeSet::new();
    for (line, ags, name, postcode) in places {
        if !seen.insert(ags.clone()) {
            return Err(error(line, &format!("AGS {} twice", ags.as_str())));
        }
        let kreis = kreise.get(ags.kreis()).ok_or_else(|| error(line, "its Kreis has no record 40"))?;
        let land = lands.get(ags.land()).ok_or_else(|| error(line, "its Land has no record 10"))?;
        if postcode.len() == 5 && postcode.bytes().all(|b| b.is_ascii_digit()) {
            seat_postcodes.push((postcode, ags.clone()));
        }
        municipalities.push(Municipality { ags, name, kreis: kreis.clone(), land: land.clone() });
    }
    Ok(Gv100ad { stand, municipalities, seat_postcodes })
}

/// What an import changes, for the operator.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub stand: String,
    pub municipalities: usize,
    pub added: Vec<Ags>,
    pub removed: Vec<Ags>,
    /// (AGS, old name, new name).
    pub renamed: Vec<(Ags, String, String)>,
    /// Postcodes of the current assignment whose municipality no longer exists.
    pub postcodes_dropped: Vec<(String, Ags)>,
    /// Seat postcodes added for municipalities that had none.
    pub postcodes_added: Vec<(String, Ags)>,
}

/// The directory a GV100AD file makes, on the postcode assignment of `current`.
pub fn import(file: Gv100ad, current: &Places) -> (Places, ImportReport) {
    let new: BTreeMap<&Ags, &Municipality> = file.municipalities.iter().map(|m| (&m.ags, m)).collect();
    let mut report = ImportReport { stand: file.stand.clone(), municipalities: new.len(), ..ImportReport::default() };
    for municipality in current.municipalities() {
        match new.get(&municipality.ags) {
            None => report.removed.push(municipality.ags.clone()),
            Some(now) if now.name != municipality.name => {
                report.renamed.push((municipality.ags.clone(), municipality.name.clone(), now.name.clone()))
            }
            Some(_) => {}
        }
    }
    report.added = new.keys().filter(|ags| current.get(ags).is_none()).map(|ags| (*ags).clone()).collect();
    let mut postcodes = Vec::new();
    let mut covered = BTreeSet::new();
    let mut current_pairs: Vec<(&String, &Ags)> =
        current.by_postcode.iter().flat_map(|(plz, list)| list.iter().map(move |ags| (plz, ags))).collect();
    current_pairs.sort();
    for (postcode, ags) in current_pairs {
        if new.contains_key(ags) {
            postcodes.push((postcode.clone(), ags.clone()));
            covered.insert(ags.clone());
        } else {
            report.postcodes_dropped.push((postcode.clone(), ags.clone()));
        }
    }
    for (postcode, ags) in &file.seat_postcodes {
        if !covered.contains(ags) {
            postcodes.push((postcode.clone(), ags.clone()));
            report.postcodes_added.push((postcode.clone(), ags.clone()));
        }
    }
    (Places::new(file.stand, file.municipalities, postcodes), report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record of `kind` with `key` and `name` at their positions, `extra` from position 123.
    fn record(kind: &str, key: &str, name: &str, extra: &str) -> String {
        let mut line = format!("{kind}20250831{key:<8}    {name:<50}{:<50}", "");
        line.push_str(extra);
        format!("{line:<220}")
    }

    fn municipality(ags: &str, name: &str, text_code: &str, postcode: &str) -> String {
        // Textkennzeichen at 123-124, the seat's postcode at 166-170.
        let extra = format!("{text_code:<43}{postcode}");
        record("60", ags, name, &extra)
    }

    fn sample() -> String {
        [
            record("10", "03", "Niedersachsen", ""),
            record("40", "03352", "Cuxhaven", ""),
            municipality("03352011", "Cuxhaven, Stadt", "61", "27472"),
            municipality("03352501", "Cuxhavener Küstenheide", "66", ""),
            municipality("03352062", "Wurster Nordseeküste", "64", "27639"),
        ]
        .join("\n")
    }

    #[test]
    fn records_are_read_by_position() {
        let file = parse(&format!("\u{feff}{}\n", sample())).unwrap();
        assert_eq!(file.stand, "2025-08-31");
        let names: Vec<&str> = file.municipalities.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["Cuxhaven, Stadt", "Wurster Nordseeküste"], "gemeindefreie Gebiete are left out");
        assert_eq!(file.municipalities[0].kreis, "Cuxhaven");
        assert_eq!(file.municipalities[0].land, "Niedersachsen");
        assert_eq!(file.seat_postcodes[0], ("27472".to_owned(), Ags::parse("03352011").unwrap()));
    }

    #[test]
    fn a_malformed_record_is_refused_with_its_line() {
        let short = format!("{}\n60 too short", sample());
        assert_eq!(parse(&short).unwrap_err().line, 6);
        let orphan = [record("10", "03", "Niedersachsen", ""), municipality("03352011", "Cuxhaven, Stadt", "61", "")];
        assert_eq!(parse(&orphan.join("\n")).unwrap_err().problem, "its Kreis has no record 40");
        let twice = format!("{}\n{}", sample(), municipality("03352011", "Cuxhaven, Stadt", "61", ""));
        assert!(parse(&twice).unwrap_err().problem.contains("twice"));
    }

    #[test]
    fn an_import_reports_what_changes() {
        let current = Places::from_csv(
            "2024-12-31",
            "ags,name,kreis,land\n03352011,Cuxhaven,Cuxhaven,Niedersachsen\n03352099,Altgemeinde,Cuxhaven,Niedersachsen\n",
            "plz,ags\n27472,03352011\n27999,03352099\n",
        )
        .unwrap();
        let (places, report) = import(parse(&sample()).unwrap(), &current);
        assert_eq!(report.added, [Ags::parse("03352062").unwrap()]);
        assert_eq!(report.removed, [Ags::parse("03352099").unwrap()]);
        assert_eq!(report.renamed[0].2, "Cuxhaven, Stadt");
        assert_eq!(report.postcodes_dropped, [("27999".to_owned(), Ags::parse("03352099").unwrap())]);
        assert_eq!(report.postcodes_added, [("27639".to_owned(), Ags::parse("03352062").unwrap())]);
        assert_eq!(places.of_postcode("27639")[0].name, "Wurster Nordseeküste");
        assert_eq!(places.stand(), "2025-08-31");
    }
}
