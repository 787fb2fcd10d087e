//! Reading untrusted JSON field by field, collecting every problem with its path, so that a caller
//! learns about all invalid fields at once (`mother.address.postcode`, `child.birth_date`, …).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::domain::values::Problem;

/// Problems keyed by the dotted path of the field.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Problem>);

impl FieldErrors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Records the problem of `result` under `path` (the first problem of a field wins).
    pub fn take<T>(&mut self, path: &str, result: Result<T, Problem>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(problem) => {
                self.add(path, problem);
                None
            }
        }
    }

    pub fn add(&mut self, path: &str, problem: Problem) {
        self.0.entry(path.to_owned()).or_insert(problem);
    }

    pub fn get(&self, path: &str) -> Option<Problem> {
        self.0.get(path).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, Problem)> {
        self.0.iter().map(|(path, problem)| (path.as_str(), *problem))
    }

    /// `Ok(value)` when no problem was recorded and every part was present.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, FieldErrors> {
        match value {
            Some(value) if self.is_empty() => Ok(value),
            _ => Err(self),
        }
    }
}

/// A JSON object whose fields are read by name.
#[derive(Clone, Copy)]
pub struct Object<'a>(Option<&'a Map<String, Value>>);

impl<'a> Object<'a> {
    /// The root of a request body; anything but an object reads as empty.
    pub fn root(value: &'a Value) -> Self {
        Object(value.as_object())
    }

    /// A nested object; a missing one is `Required`, a non-object `NotAnObject`.
    pub fn object(&self, name: &str) -> Result<Object<'a>, Problem> {
        match self.value(name) {
            None => Err(Problem::Required),
            Some(Value::Object(map)) => Ok(Object(Some(map))),
            Some(_) => Err(Problem::NotAnObject),
        }
    }

    /// A field's value; `null` counts as missing.
    pub fn value(&self, name: &str) -> Option<&'a Value> {
        self.0.and_then(|map| map.get(name)).filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.value(name).is_some()
    }

    /// A string field, required.
    pub fn text(&self, name: &str) -> Result<&'a str, Problem> {
        match self.value(name) {
            None => Err(Problem::Required),
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(Problem::NotText),
        }
    }

    /// A string field that may be left out or empty.
    pub fn optional_text(&self, name: &str) -> Result<Option<&'a str>, Problem> {
        match self.value(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Problem::NotText),
        }
    }

    /// A yes/no field given as JSON `true`/`false`.
    pub fn yes_no(&self, name: &str) -> Result<bool, Problem> {
        match self.value(name) {
            None => Err(Problem::Required),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(Problem::NotYesNo),
        }
    }

    /// A string field that must be one of `choices`; returns the index of the choice.
    pub fn choice<T: Copy>(&self, name: &str, choices: &[(&str, T)]) -> Result<T, Problem> {
        let given = self.text(name)?;
        choices.iter().find(|(word, _)| *word == given).map(|(_, value)| *value).ok_or(Problem::NotAChoice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_null_and_wrong_types_are_told_apart() {
        let body = json!({"a": null, "b": 3, "c": "x", "d": true});
        let root = Object::root(&body);
        assert_eq!(root.text("a"), Err(Problem::Required));
        assert_eq!(root.text("b"), Err(Problem::NotText));
        assert_eq!(root.text("c"), Ok("x"));
        assert_eq!(root.yes_no("c"), Err(Problem::NotYesNo));
        assert_eq!(root.yes_no("d"), Ok(true));
        assert_eq!(root.object("c").err(), Some(Problem::NotAnObject));
    }

    #[test]
    fn errors_collect_every_field_and_keep_the_first_problem() {
        let mut errors = FieldErrors::default();
        errors.add("x", Problem::Required);
        errors.add("x", Problem::TooLong);
        errors.add("y", Problem::DateFormat);
        assert_eq!(errors.get("x"), Some(Problem::Required));
        assert_eq!(errors.iter().count(), 2);
        assert!(errors.finish(Some(1)).is_err());
    }
}
