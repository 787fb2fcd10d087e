//! Generated hostile input for the parsers a client reaches: the submission, the DIN 91379 text
//! values and the register entry. None may panic, and what they accept is already in its final
//! form (parsing it again changes nothing). `PROPTEST_CASES` sets the number of cases (256 unless
//! told; README shows a longer run); failures are kept in `proptest-regressions/` and replayed first.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use shared::domain::application::parse_submission;
use shared::domain::register::parse_entry;
use shared::domain::values::{LongText, PersonName, Text};
use time::macros::date;
use unicode_normalization::is_nfc;

/// Characters parsers trip over: controls, line and paragraph separators, zero-width and
/// bidirectional marks, lone combining marks, full-width and look-alike letters, emoji parts,
/// quotes and markup of the languages the values end up in (typst, XML, HTML, CSV).
const HOSTILE: &[char] = &[
    '\0',
    '\t',
    '\n',
    '\r',
    '\u{b}',
    '\u{c}',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '\u{a0}',
    '\u{2028}',
    '\u{2029}',
    '\u{200b}',
    '\u{200d}',
    '\u{202e}',
    '\u{2066}',
    '\u{feff}',
    '\u{fffd}',
    '\u{301}',
    '\u{308}',
    '\u{327}',
    '\u{ff21}',
    'ſ',
    'ß',
    'ẞ',
    'İ',
    'ı',
    'Ǆ',
    'ǅ',
    'ﬀ',
    'Å',
    'Å',
    '😀',
    '\u{fe0f}',
    '\u{1f3fb}',
    '"',
    '\'',
    '<',
    '>',
    '&',
    '#',
    '$',
    '\\',
    '[',
    ']',
    '{',
    '}',
    ';',
    ',',
    '=',
    '@',
    '-',
    ' ',
    'a',
    'Z',
    'ä',
    'é',
    'Ł',
    'ő',
];

fn hostile_text() -> impl Strategy<Value = String> {
    let char = prop_oneof![3 => prop::sample::select(HOSTILE), 1 => any::<char>()];
    prop_oneof![
        prop::collection::vec(char, 0..140).prop_map(String::from_iter),
        any::<String>(),
        // Long runs: the length limits must hold after normalisation, not before.
        (prop::sample::select(HOSTILE), 95usize..2100).prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        hostile_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(hostile_text(), inner, 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// The documented example of `POST /api/v1/requests`, which is accepted as it is.
fn submission_example() -> Value {
    let document: Value = serde_json::from_str(shared::openapi::PUBLISHED).expect("the published document");
    document["components"]["schemas"]["SubmissionBody"]["example"].clone()
}

/// Dotted paths of every field of an object tree, with the leaves' values.
fn leaves(value: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                leaves(field, &path, out);
            }
        }
        leaf => out.push((prefix.to_owned(), leaf.clone())),
    }
}

fn replace(value: &mut Value, path: &str, with: Value) {
    let mut at = value;
    for name in path.split('.') {
        at = &mut at[name];
    }
    *at = with;
}

fn assert_final_form(text: &str, max_chars: usize) {
    assert!(is_nfc(text), "{text:?} is NFC");
    assert!(text.chars().count() <= max_chars, "{text:?} within {max_chars} characters");
    assert_eq!(text.trim(), text, "{text:?} has no surrounding blank space");
}

proptest! {
    #[test]
    fn names_and_texts_are_final_once_accepted(raw in hostile_text()) {
        if let Ok(name) = PersonName::parse(&raw) {
            assert_final_form(name.as_str(), 100);
            assert!(!name.as_str().contains("  ") && !name.as_str().chars().any(char::is_control), "{name:?}");
            prop_assert_eq!(PersonName::parse(name.as_str()), Ok(name.clone()));
        }
        if let Ok(text) = Text::parse(&raw) {
            assert_final_form(text.as_str(), 100);
            assert!(!text.as_str().chars().any(char::is_control), "{text:?}");
            prop_assert_eq!(Text::parse(text.as_str()), Ok(text.clone()));
        }
        if let Ok(text) = LongText::parse(&raw) {
            assert_final_form(text.as_str(), LongText::MAX_CHARS);
            assert!(!text.as_str().chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
            prop_assert_eq!(LongText::parse(text.as_str()), Ok(text.clone()));
        }
    }

    #[test]
    fn any_body_is_answered_without_panicking(body in any_json()) {
        let today = date!(2026 - 12 - 01);
        if let Err(errors) = parse_submission(&body, today) {
            prop_assert!(!errors.is_empty(), "a refusal names what is wrong");
        }
        if let Err(errors) = parse_entry(&body, "e-1".into(), "jugendamt-bremen", today) {
            prop_assert!(!errors.is_empty(), "a refused entry names what is wrong");
        }
    }

    #[test]
    fn a_hostile_field_in_a_valid_submission_is_named(pick in any::<prop::sample::Index>(), with in any_json()) {
        let today = date!(2026 - 12 - 01);
        let mut body = submission_example();
        prop_assume!(parse_submission(&body, today).is_ok());
        let mut fields = Vec::new();
        leaves(&body, "", &mut fields);
        let (path, original) = pick.get(&fields).clone();
        replace(&mut body, &path, with.clone());
        match parse_submission(&body, today) {
            Ok(submission) => {
                // Accepted only where the replacement is text a person could have written.
                let names = [&submission.application.mother.given_names, &submission.application.child.given_names];
                for name in names {
                    prop_assert_eq!(PersonName::parse(name.as_str()), Ok(name.clone()));
                }
                let wrong_kind = original.is_string() && !(with.is_string() || with.is_null());
                prop_assert!(!wrong_kind, "{} = {} was accepted", path, with);
            }
            Err(errors) => {
                let named = errors.iter().any(|(field, _)| path.starts_with(field) || field.starts_with(&path));
                prop_assert!(named, "{} = {} refused as {:?}", path, with, errors.iter().collect::<Vec<_>>());
            }
        }
    }
}

#[test]
fn the_example_itself_is_accepted() {
    parse_submission(&submission_example(), date!(2026 - 12 - 01)).expect("the documented example");
    let not_an_object = json!(["mother"]);
    assert!(parse_submission(&not_an_object, date!(2026 - 12 - 01)).is_err());
}

/// Hand-picked hostile submissions (`corpus/submissions.jsonl`): each line a body and the fields
/// it must be refused on (none: accepted). Cases found in review or by the generators go here.
#[test]
fn the_corpus_of_hostile_submissions_is_answered_as_recorded() {
    let today = date!(2026 - 12 - 01);
    for line in include_str!("corpus/submissions.jsonl").lines() {
        let case: Value = serde_json::from_str(line).expect("a corpus line");
        let mut expected: Vec<&str> =
            case["refused"].as_array().expect("refused").iter().filter_map(Value::as_str).collect();
        expected.sort();
        // Field errors come sorted by field.
        let refused: Vec<String> = match parse_submission(&case["body"], today) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(|(field, _)| field.to_owned()).collect(),
        };
        assert_eq!(refused, expected, "{}", case["note"]);
    }
}
