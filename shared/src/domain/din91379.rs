//! Character repertoire of DIN 91379 ("Zeichen in Unicode für die elektronische Verarbeitung von
//! Namen und den Datenaustausch in Europa"), which XFamilie requires for names and text.
//!
//! Two data types are used here:
//! - type A (names of natural persons): Latin letters of the standard, combining marks on them,
//!   and the non-letters N1 (space, apostrophes, hyphen, full stop, comma and a few diacritic-like
//!   marks);
//! - type C (other text such as places and streets): type A plus digits and the printable
//!   punctuation and symbols N2–N4 of the standard.
//!
//! Input is normalised to NFC first; anything outside the repertoire is refused, never mangled.

use unicode_normalization::UnicodeNormalization;

/// DIN 91379 data type of a text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    /// Names of natural persons.
    A,
    /// Other text (places, streets, free text).
    C,
}

/// Why a text is outside DIN 91379.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A character that the data type does not contain.
    Character(char),
    /// A combining mark without a letter before it.
    LoneCombiningMark,
}

/// Normalises to NFC and checks every character against the data type.
pub fn conform(raw: &str, data_type: DataType) -> Result<String, Violation> {
    let text: String = raw.nfc().collect();
    let mut previous_is_letter = false;
    for c in text.chars() {
        if is_combining_mark(c) {
            if !previous_is_letter {
                return Err(Violation::LoneCombiningMark);
            }
            continue;
        }
        previous_is_letter = is_latin_letter(c);
        let allowed = previous_is_letter || is_name_punctuation(c) || (data_type == DataType::C && is_text_symbol(c));
        if !allowed {
            return Err(Violation::Character(c));
        }
    }
    Ok(text)
}

/// Latin letters of DIN 91379 (normative part: Basic Latin, Latin-1, Latin Extended-A, the listed
/// letters of Latin Extended-B and IPA, Latin Extended Additional, which holds ẞ).
fn is_latin_letter(c: char) -> bool {
    matches!(c,
        'A'..='Z' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{17F}'
        | '\u{187}' | '\u{188}' | '\u{18F}' | '\u{197}' | '\u{1A0}' | '\u{1A1}' | '\u{1AF}' | '\u{1B0}'
        | '\u{1B7}' | '\u{1CD}'..='\u{1DC}' | '\u{1DE}'..='\u{1DF}' | '\u{1E2}'..='\u{1F0}'
        | '\u{1F4}'..='\u{1F5}' | '\u{1F8}'..='\u{1FF}' | '\u{210}'..='\u{21B}' | '\u{21E}'..='\u{21F}'
        | '\u{226}'..='\u{233}' | '\u{259}' | '\u{268}' | '\u{292}'
        | '\u{1E02}'..='\u{1EF9}')
}

/// Combining diacritical marks, allowed only on a letter.
fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36F}')
}

/// Non-letters N1, allowed in names of natural persons.
fn is_name_punctuation(c: char) -> bool {
    matches!(
        c,
        ' ' | '\''
            | ','
            | '-'
            | '.'
            | '`'
            | '~'
            | '\u{A8}'
            | '\u{B4}'
            | '\u{B7}'
            | '\u{2B9}'
            | '\u{2BA}'
            | '\u{2BE}'
            | '\u{2BF}'
            | '\u{2C8}'
            | '\u{2CC}'
            | '\u{2019}'
            | '\u{2021}'
    )
}

/// Digits and the printable symbols N2–N4, allowed in other text (type C).
fn is_text_symbol(c: char) -> bool {
    matches!(c,
        '!'..='@' | '['..='`' | '{'..='~'
        | '\u{A0}'..='\u{BF}' | '\u{D7}' | '\u{F7}'
        | '\u{2018}'..='\u{201E}' | '\u{2020}' | '\u{2026}' | '\u{2030}' | '\u{20AC}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_and_european_names_conform_to_type_a() {
        for name in ["Müller-Lüdenscheidt", "Søren", "Łukasz", "Ørsted", "D'Angelo", "Nguyễn", "Straße", "ẞ"]
        {
            assert!(conform(name, DataType::A).is_ok(), "{name} should be a valid name");
        }
    }

    #[test]
    fn decomposed_input_is_normalised_to_nfc() {
        let decomposed = "Mu\u{308}ller";
        assert_eq!(conform(decomposed, DataType::A).unwrap(), "Müller");
    }

    #[test]
    fn digits_symbols_and_other_scripts_are_outside_type_a() {
        for (name, bad) in [("Anna2", '2'), ("#panic()", '#'), ("Анна", 'А'), ("Mia😀", '😀'), ("<b>", '<')] {
            assert_eq!(conform(name, DataType::A), Err(Violation::Character(bad)), "{name}");
        }
    }

    #[test]
    fn control_characters_are_refused_in_every_type() {
        assert_eq!(conform("Bre\u{0}men", DataType::C), Err(Violation::Character('\u{0}')));
        assert_eq!(conform("Bre\nmen", DataType::C), Err(Violation::Character('\n')));
    }

    #[test]
    fn a_combining_mark_needs_a_letter_before_it() {
        assert_eq!(conform("\u{301}a", DataType::A), Err(Violation::LoneCombiningMark));
        assert_eq!(conform("a \u{301}", DataType::A), Err(Violation::LoneCombiningMark));
    }

    #[test]
    fn type_c_allows_digits_and_punctuation_of_addresses_and_places() {
        assert!(conform("Frankfurt (Oder)", DataType::C).is_ok());
        assert!(conform("Am Markt 1a/2", DataType::C).is_ok());
        assert!(conform("]] #set page(width: 1cm)", DataType::C).is_ok());
    }
}
