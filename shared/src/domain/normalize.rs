//! One way of comparing names and places: case, accents, umlaut spellings (ä/ae), ß/ss and
//! hyphens versus spaces do not make two spellings different.

use unicode_normalization::UnicodeNormalization;

/// The comparison key of a name or place.
pub fn comparison_key(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.nfc().flat_map(char::to_lowercase) {
        match c {
            'ä' => folded.push_str("ae"),
            'ö' => folded.push_str("oe"),
            'ü' => folded.push_str("ue"),
            'ß' => folded.push_str("ss"),
            '-' | '\u{2010}' | '\u{2011}' | '\u{2013}' | '_' | '.' | ',' | '\'' | '\u{2019}' => folded.push(' '),
            _ => folded.push(c),
        }
    }
    let without_marks: String = folded.nfd().filter(|c| !matches!(c, '\u{300}'..='\u{36F}')).collect();
    without_marks.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A looser key for names that may have been written down differently: umlauts with or without
/// the "e" (Müller, Mueller, Muller), ß/ss/s and doubled letters (Schmitt, Schmit) all collapse.
/// Only for finding candidates, where a false match costs a review and a missed one a wrong
/// certificate.
pub fn loose_key(text: &str) -> String {
    let key = comparison_key(text).replace("ae", "a").replace("oe", "o").replace("ue", "u");
    let mut loose: Vec<char> = key.chars().collect();
    loose.dedup();
    loose.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::{comparison_key, loose_key};

    #[test]
    fn spellings_of_the_same_name_share_a_key() {
        assert_eq!(comparison_key("Müller-Lüdenscheidt"), "mueller luedenscheidt");
        assert_eq!(comparison_key("Strauß"), comparison_key("STRAUSS"));
        assert_eq!(comparison_key("José"), comparison_key("Jose"));
        assert_eq!(comparison_key(" Anna -  Lena "), "anna lena");
    }

    #[test]
    fn different_names_keep_different_keys() {
        assert_ne!(comparison_key("Anna"), comparison_key("Anne"));
    }

    #[test]
    fn loose_keys_join_spellings_without_umlauts_and_doubled_letters() {
        assert_eq!(loose_key("Müller"), loose_key("Muller"));
        assert_eq!(loose_key("Strauß"), loose_key("Straus"));
        assert_eq!(loose_key("Schmitt"), loose_key("Schmit"));
        assert_ne!(loose_key("Anna"), loose_key("Anne"));
    }
}
