//! The pre-check (Vorab-Check): may this person get the certificate through this service?
//!
//! Every "no" comes with a reason; the caller adds what to do instead and the contact data of
//! the responsible office. "I don't know" never blocks: the register check will answer it.

use serde::{Deserialize, Serialize};

use serde_json::Value;

use super::office::{Directory, Office, ResidenceProblem, Unresolved};
use super::places::Ags;
use super::values::Postcode;
use crate::input::{FieldErrors, Object};

#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = PrecheckApplicant, rename_all = "snake_case")]
pub enum Applicant {
    Mother,
    Representative,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Yes,
    No,
    Unknown,
}

/// The answers of the pre-check, as `POST /api/v1/precheck` carries them.
#[derive(Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = PrecheckBody, example = json!({"applicant": "mother", "child_under_18": true, "mother_adult": true,
    "married_to_father": "no", "sorgeerklaerung": "no", "court_decision": "no",
    "foreign_joint_custody": "unknown", "residence_postcode": "28195", "child_born_abroad": false}))]
pub struct PrecheckAnswers {
    /// Who asks: the mother, a holder of her written power of attorney, or someone else.
    pub applicant: Applicant,
    pub child_under_18: bool,
    pub mother_adult: bool,
    pub married_to_father: Answer,
    pub sorgeerklaerung: Answer,
    pub court_decision: Answer,
    pub foreign_joint_custody: Answer,
    pub residence_postcode: Postcode,
    /// Her municipality, where her postcode spans the areas of several offices (the 422 lists
    /// the choices).
    pub residence_municipality: Option<Ags>,
    pub child_born_abroad: bool,
}

/// Why the service cannot issue the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BlockReason {
    /// Only the mother or a holder of her written power of attorney may ask.
    NotEntitled,
    /// Custody ends when the child turns 18.
    ChildNotMinor,
    /// A minor mother's custody rests (§ 1673 Abs. 2 BGB).
    MotherMinor,
    /// Marriage to the father gives joint custody by law; it is not in the register.
    Married,
    /// Sorgeerklärungen give joint custody; the register has an entry.
    Sorgeerklaerung,
    /// The court decision itself is the proof.
    CourtDecision,
    /// Joint custody under foreign law is not recorded here.
    ForeignJointCustody,
    /// The responsible office does not take requests through this service.
    OfficeNotConnected,
    /// No office of the platform covers the postcode.
    NoOfficeForPostcode,
}

impl BlockReason {
    pub fn code(self) -> &'static str {
        match self {
            BlockReason::NotEntitled => "not_entitled",
            BlockReason::ChildNotMinor => "child_not_minor",
            BlockReason::MotherMinor => "mother_minor",
            BlockReason::Married => "married",
            BlockReason::Sorgeerklaerung => "sorgeerklaerung",
            BlockReason::CourtDecision => "court_decision",
            BlockReason::ForeignJointCustody => "foreign_joint_custody",
            BlockReason::OfficeNotConnected => "office_not_connected",
            BlockReason::NoOfficeForPostcode => "no_office_for_postcode",
        }
    }
}

/// One row of the decision table of DESIGN.md § 2: the answer that blocks, and why.
struct Rule {
    blocks: fn(&PrecheckAnswers) -> bool,
    reason: BlockReason,
}

const RULES: &[Rule] = &[
    Rule { blocks: |a| a.applicant == Applicant::Other, reason: BlockReason::NotEntitled },
    Rule { blocks: |a| !a.child_under_18, reason: BlockReason::ChildNotMinor },
    Rule { blocks: |a| !a.mother_adult, reason: BlockReason::MotherMinor },
    Rule { blocks: |a| a.married_to_father == Answer::Yes, reason: BlockReason::Married },
    Rule { blocks: |a| a.sorgeerklaerung == Answer::Yes, reason: BlockReason::Sorgeerklaerung },
    Rule { blocks: |a| a.court_decision == Answer::Yes, reason: BlockReason::CourtDecision },
    Rule { blocks: |a| a.foreign_joint_custody == Answer::Yes, reason: BlockReason::ForeignJointCustody },
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrecheckOutcome {
    pub reasons: Vec<BlockReason>,
    /// The office of the residence, when the platform knows it (connected or not).
    pub office: Option<Office>,
}

impl PrecheckOutcome {
    pub fn eligible(&self) -> bool {
        self.reasons.is_empty()
    }
}

/// Parses the answers as `POST /api/v1/precheck` carries them.
pub fn parse_answers(body: &Value) -> Result<PrecheckAnswers, FieldErrors> {
    const ANSWERS: &[(&str, Answer)] = &[("yes", Answer::Yes), ("no", Answer::No), ("unknown", Answer::Unknown)];
    let root = Object::root(body);
    let mut errors = FieldErrors::default();
    let applicant = errors.take(
        "applicant",
        root.choice(
            "applicant",
            &[
                ("mother", Applicant::Mother),
                ("representative", Applicant::Representative),
                ("other", Applicant::Other),
            ],
        ),
    );
    let child_under_18 = errors.take("child_under_18", root.yes_no("child_under_18"));
    let mother_adult = errors.take("mother_adult", root.yes_no("mother_adult"));
    let mut answer = |name: &str| errors.take(name, root.choice(name, ANSWERS));
    let married_to_father = answer("married_to_father");
    let sorgeerklaerung = answer("sorgeerklaerung");
    let court_decision = answer("court_decision");
    let foreign_joint_custody = answer("foreign_joint_custody");
    let residence_postcode =
        errors.take("residence_postcode", root.text("residence_postcode").and_then(Postcode::parse));
    let residence_municipality = errors.take(
        "residence_municipality",
        root.optional_text("residence_municipality").and_then(|ags| ags.map(Ags::parse).transpose()),
    );
    let child_born_abroad = errors.take("child_born_abroad", root.yes_no("child_born_abroad"));
    let answers = (|| {
        Some(PrecheckAnswers {
            applicant: applicant?,
            child_under_18: child_under_18?,
            mother_adult: mother_adult?,
            married_to_father: married_to_father?,
            sorgeerklaerung: sorgeerklaerung?,
            court_decision: court_decision?,
            foreign_joint_custody: foreign_joint_custody?,
            residence_postcode: residence_postcode?,
            residence_municipality: residence_municipality?,
            child_born_abroad: child_born_abroad?,
        })
    })();
    errors.finish(answers)
}

/// Applies every row of the table and the residence question; all reasons are reported together.
/// A postcode the directory does not know, or one that spans the areas of several offices without
/// her municipality, is `Unresolved`: she has to put it right or choose.
pub fn assess<'a>(answers: &PrecheckAnswers, directory: &'a Directory) -> Result<PrecheckOutcome, Unresolved<'a>> {
    let mut reasons: Vec<BlockReason> =
        RULES.iter().filter(|rule| (rule.blocks)(answers)).map(|rule| rule.reason).collect();
    let postcode = answers.residence_postcode.as_str();
    let office = match directory.residence_office(postcode, answers.residence_municipality.as_ref()) {
        Ok(office) => Some(office.clone()),
        Err(ResidenceProblem::NoOffice) => None,
        Err(problem) => return Err(Unresolved::residence("residence_postcode", "residence_municipality", problem)),
    };
    match &office {
        None => reasons.push(BlockReason::NoOfficeForPostcode),
        Some(office) if !office.connected => reasons.push(BlockReason::OfficeNotConnected),
        Some(_) => {}
    }
    Ok(PrecheckOutcome { reasons, office })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::office::tests::{PLACES, directory, office};
    use crate::domain::values::Problem;

    fn eligible_mother() -> PrecheckAnswers {
        PrecheckAnswers {
            applicant: Applicant::Mother,
            child_under_18: true,
            mother_adult: true,
            married_to_father: Answer::No,
            sorgeerklaerung: Answer::No,
            court_decision: Answer::No,
            foreign_joint_custody: Answer::No,
            residence_postcode: Postcode::parse("28195").unwrap(),
            residence_municipality: None,
            child_born_abroad: false,
        }
    }

    fn reasons(answers: PrecheckAnswers) -> Vec<BlockReason> {
        assess(&answers, &directory()).unwrap().reasons
    }

    #[test]
    fn a_mother_with_all_no_answers_in_a_connected_area_is_eligible() {
        let outcome = assess(&eligible_mother(), &directory()).unwrap();
        assert!(outcome.eligible());
        assert_eq!(outcome.office.unwrap().id, "bremen");
    }

    #[test]
    fn wer_stellt_den_antrag_only_mother_or_representative() {
        assert_eq!(
            reasons(PrecheckAnswers { applicant: Applicant::Other, ..eligible_mother() }),
            [BlockReason::NotEntitled]
        );
        assert!(reasons(PrecheckAnswers { applicant: Applicant::Representative, ..eligible_mother() }).is_empty());
    }

    #[test]
    fn kind_volljaehrig_custody_has_ended() {
        assert_eq!(
            reasons(PrecheckAnswers { child_under_18: false, ..eligible_mother() }),
            [BlockReason::ChildNotMinor]
        );
    }

    #[test]
    fn minderjaehrige_mutter_custody_rests() {
        assert_eq!(reasons(PrecheckAnswers { mother_adult: false, ..eligible_mother() }), [BlockReason::MotherMinor]);
    }

    #[test]
    fn verheiratet_joint_custody_by_law() {
        assert_eq!(
            reasons(PrecheckAnswers { married_to_father: Answer::Yes, ..eligible_mother() }),
            [BlockReason::Married]
        );
    }

    #[test]
    fn sorgeerklaerung_abgegeben_register_has_an_entry() {
        assert_eq!(
            reasons(PrecheckAnswers { sorgeerklaerung: Answer::Yes, ..eligible_mother() }),
            [BlockReason::Sorgeerklaerung]
        );
    }

    #[test]
    fn gerichtliche_entscheidung_is_the_proof() {
        assert_eq!(
            reasons(PrecheckAnswers { court_decision: Answer::Yes, ..eligible_mother() }),
            [BlockReason::CourtDecision]
        );
    }

    #[test]
    fn gemeinsame_sorge_nach_auslaendischem_recht_not_recorded_here() {
        assert_eq!(
            reasons(PrecheckAnswers { foreign_joint_custody: Answer::Yes, ..eligible_mother() }),
            [BlockReason::ForeignJointCustody]
        );
    }

    #[test]
    fn wohnort_office_not_on_the_service_shows_its_contact_data() {
        let mut hamburg = office("hamburg", &["02000000"]);
        hamburg.connected = false;
        let directory = Directory::new(vec![hamburg], PLACES.clone());
        let answers = PrecheckAnswers { residence_postcode: Postcode::parse("20095").unwrap(), ..eligible_mother() };
        let outcome = assess(&answers, &directory).unwrap();
        assert_eq!(outcome.reasons, [BlockReason::OfficeNotConnected]);
        assert_eq!(outcome.office.unwrap().email, "hamburg@example.org");
    }

    #[test]
    fn wohnort_unknown_to_the_platform_blocks_without_an_office() {
        let answers = PrecheckAnswers { residence_postcode: Postcode::parse("80331").unwrap(), ..eligible_mother() };
        let outcome = assess(&answers, &directory()).unwrap();
        assert_eq!(outcome.reasons, [BlockReason::NoOfficeForPostcode]);
        assert!(outcome.office.is_none());
    }

    #[test]
    fn wohnort_a_postcode_nobody_knows_is_to_be_put_right() {
        let answers = PrecheckAnswers { residence_postcode: Postcode::parse("99999").unwrap(), ..eligible_mother() };
        let directory = directory();
        let unresolved = assess(&answers, &directory).unwrap_err();
        assert_eq!((unresolved.field, unresolved.problem), ("residence_postcode", Problem::PostcodeUnknown));
    }

    #[test]
    fn wohnort_a_postcode_across_two_offices_asks_for_her_municipality() {
        let directory =
            Directory::new(vec![office("harz", &["15085110"]), office("msh", &["15087220"])], PLACES.clone());
        let answers = PrecheckAnswers { residence_postcode: Postcode::parse("06333").unwrap(), ..eligible_mother() };
        let unresolved = assess(&answers, &directory).unwrap_err();
        assert_eq!((unresolved.field, unresolved.problem), ("residence_municipality", Problem::AmbiguousMunicipality));
        assert_eq!(unresolved.choices.len(), 2);
        let chosen = PrecheckAnswers { residence_municipality: Some(unresolved.choices[1].ags.clone()), ..answers };
        assert_eq!(assess(&chosen, &directory).unwrap().office.unwrap().id, "msh");
    }

    #[test]
    fn i_dont_know_never_blocks() {
        let answers = PrecheckAnswers {
            married_to_father: Answer::Unknown,
            sorgeerklaerung: Answer::Unknown,
            court_decision: Answer::Unknown,
            foreign_joint_custody: Answer::Unknown,
            ..eligible_mother()
        };
        assert!(reasons(answers).is_empty());
    }

    #[test]
    fn every_blocking_answer_is_reported_at_once_and_the_office_still_given() {
        let answers = PrecheckAnswers {
            applicant: Applicant::Other,
            child_under_18: false,
            married_to_father: Answer::Yes,
            sorgeerklaerung: Answer::Yes,
            ..eligible_mother()
        };
        let outcome = assess(&answers, &directory()).unwrap();
        assert_eq!(
            outcome.reasons,
            [BlockReason::NotEntitled, BlockReason::ChildNotMinor, BlockReason::Married, BlockReason::Sorgeerklaerung]
        );
        assert_eq!(outcome.office.unwrap().id, "bremen", "a blocked mother still learns whom to contact");
    }

    #[test]
    fn answers_are_parsed_from_the_contract_shape() {
        let body = serde_json::json!({
            "applicant": "representative", "child_under_18": true, "mother_adult": true,
            "married_to_father": "unknown", "sorgeerklaerung": "no", "court_decision": "no",
            "foreign_joint_custody": "no", "residence_postcode": "28195", "child_born_abroad": false
        });
        let answers = parse_answers(&body).unwrap();
        assert_eq!(answers.applicant, Applicant::Representative);
        assert_eq!(answers.married_to_father, Answer::Unknown);
    }

    #[test]
    fn invalid_answers_name_their_fields() {
        let body = serde_json::json!({"applicant": "father", "child_under_18": "yes", "married_to_father": "maybe", "residence_postcode": "2819"});
        let errors = parse_answers(&body).unwrap_err();
        assert_eq!(errors.get("applicant"), Some(Problem::NotAChoice));
        assert_eq!(errors.get("child_under_18"), Some(Problem::NotYesNo));
        assert_eq!(errors.get("married_to_father"), Some(Problem::NotAChoice));
        assert_eq!(errors.get("residence_postcode"), Some(Problem::PostcodeFormat));
        assert_eq!(errors.get("mother_adult"), Some(Problem::Required));
        assert_eq!(errors.get("child_born_abroad"), Some(Problem::Required));
    }

    #[test]
    fn a_child_born_abroad_does_not_block_the_precheck() {
        assert!(reasons(PrecheckAnswers { child_born_abroad: true, ..eligible_mother() }).is_empty());
    }
}
