//! Where a request goes: the office of the mother's residence issues the certificate (§ 87c
//! Abs. 6 S. 1 SGB VIII), the office of the child's birth place keeps the register (S. 2), the
//! Land Berlin for a child born abroad. Both are found by the official municipality key; a
//! name or postcode that fits several offices is asked, never guessed.

use super::application::Submission;
use super::office::{BirthPlace, Directory, Office, Unresolved};
use super::places::Ags;

/// The offices of a request, and the municipalities they were found by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<'a> {
    pub issuing_office: &'a Office,
    /// None: the birth place is not in the directory, or its office is not on the platform; a
    /// case worker of the issuing office reviews the request.
    pub register_office: Option<&'a Office>,
    pub residence_municipality: Option<Ags>,
    pub birth_municipality: Option<Ags>,
}

/// Routes a submission, reporting every field that does not lead to one office.
pub fn route<'a>(submission: &Submission, directory: &'a Directory) -> Result<Route<'a>, Vec<Unresolved<'a>>> {
    let application = &submission.application;
    let address = &application.mother.address;
    let child = &application.child;
    let mut unresolved = Vec::new();
    let issuing = directory
        .issuing_office(address.postcode.as_str(), address.municipality.as_ref())
        .map_err(|problem| Unresolved::residence("mother.address.postcode", "mother.address.municipality", problem));
    let birth_key = submission.birth_municipality.as_ref().map(Option::as_ref);
    let birth = directory
        .birth_place(child.birth_place.as_str(), birth_key, child.born_abroad)
        .map_err(|(problem, choices)| Unresolved { field: "child.birth_municipality", problem, choices });
    let issuing_office = issuing.map_err(|problem| unresolved.push(problem)).ok();
    let birth = birth.map_err(|problem| unresolved.push(problem)).ok();
    let (Some(issuing_office), Some(birth)) = (issuing_office, birth) else { return Err(unresolved) };
    // Her municipality where the postcode names exactly one, else the one she chose.
    let residence_municipality = match directory.places().of_postcode(address.postcode.as_str()).as_slice() {
        [only] => Some(only.ags.clone()),
        _ => address.municipality.clone(),
    };
    let birth_municipality = match &birth {
        BirthPlace::Municipality(municipality) => Some(municipality.ags.clone()),
        BirthPlace::Abroad | BirthPlace::Unknown => None,
    };
    Ok(Route {
        issuing_office,
        register_office: directory.register_office(&birth),
        residence_municipality,
        birth_municipality,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::application::parse_submission;
    use crate::domain::application::tests::{TODAY, valid_body};
    use crate::domain::office::tests::{BREMEN, PLACES, ags, directory, office};
    use crate::domain::values::Problem;

    fn submission(edit: impl FnOnce(&mut serde_json::Value)) -> Submission {
        let mut body = valid_body();
        edit(&mut body);
        parse_submission(&body, TODAY).unwrap()
    }

    #[test]
    fn a_request_goes_to_the_residence_office_and_the_birth_municipality_s_register() {
        let directory = directory();
        let submission = submission(|body| body["child"]["birth_place"] = json!("Otterndorf"));
        let routed = route(&submission, &directory).unwrap();
        assert_eq!(routed.issuing_office.id, "bremen");
        assert_eq!(routed.register_office.unwrap().id, "cuxhaven");
        assert_eq!(routed.birth_municipality, Some(ags("03352046")));
        assert_eq!(routed.residence_municipality, Some(ags(BREMEN)));
    }

    #[test]
    fn a_repeated_name_without_a_key_is_asked_with_the_choice() {
        let directory = directory();
        let submission = submission(|body| body["child"]["birth_place"] = json!("Neustadt"));
        let unresolved = route(&submission, &directory).unwrap_err();
        assert_eq!(unresolved.len(), 1);
        assert_eq!(
            (unresolved[0].field, unresolved[0].problem),
            ("child.birth_municipality", Problem::AmbiguousMunicipality)
        );
        assert!(unresolved[0].choices.iter().any(|m| m.name == "Neustadt in Holstein, Stadt"));
    }

    #[test]
    fn a_place_not_in_the_directory_has_no_register_office_and_no_guess() {
        let directory = directory();
        let vegesack = route(&submission(|body| body["child"]["birth_place"] = json!("Bremen-Vegesack")), &directory);
        let vegesack = vegesack.unwrap();
        assert_eq!((vegesack.register_office, vegesack.birth_municipality), (None, None));
        let listed_not = submission(|body| {
            body["child"]["birth_place"] = json!("Bremen");
            body["child"]["birth_municipality"] = serde_json::Value::Null;
        });
        assert_eq!(route(&listed_not, &directory).unwrap().register_office, None, "she said: not in the list");
    }

    #[test]
    fn the_key_decides_and_an_unknown_key_is_refused() {
        let directory = directory();
        let keyed = submission(|body| body["child"]["birth_municipality"] = json!("03352011"));
        assert_eq!(route(&keyed, &directory).unwrap().register_office.unwrap().id, "cuxhaven");
        let unknown = submission(|body| body["child"]["birth_municipality"] = json!("03352999"));
        assert_eq!(route(&unknown, &directory).unwrap_err()[0].problem, Problem::UnknownMunicipality);
    }

    #[test]
    fn a_postcode_across_two_offices_asks_for_her_municipality() {
        let offices = vec![office("harz", &["15085110"]), office("msh", &["15087220"]), office("bremen", &[BREMEN])];
        let directory = Directory::new(offices, PLACES.clone());
        let unresolved =
            route(&submission(|body| body["mother"]["address"]["postcode"] = json!("06333")), &directory).unwrap_err();
        assert_eq!(unresolved[0].field, "mother.address.municipality");
        let chosen = submission(|body| {
            body["mother"]["address"]["postcode"] = json!("06333");
            body["mother"]["address"]["municipality"] = json!("15085110");
        });
        let routed = route(&chosen, &directory).unwrap();
        assert_eq!(routed.issuing_office.id, "harz");
        assert_eq!(routed.residence_municipality, Some(ags("15085110")));
    }

    #[test]
    fn every_unresolved_field_is_reported_at_once() {
        let directory = directory();
        let both = submission(|body| {
            body["mother"]["address"]["postcode"] = json!("99999");
            body["child"]["birth_place"] = json!("Neustadt");
        });
        let fields: Vec<&str> = route(&both, &directory).unwrap_err().iter().map(|u| u.field).collect();
        assert_eq!(fields, ["mother.address.postcode", "child.birth_municipality"]);
    }
}
