use std::io::ErrorKind;
use std::path::PathBuf;
use std::process::Command;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;
use serde_json::{Value, json};
use time::macros::datetime;

use super::*;
use crate::domain::application::parse_submission;
use crate::domain::application::tests::{TODAY, valid_body};
use crate::domain::office::tests::{BREMEN, CUXHAVEN, office};
use crate::domain::request::{LoginIdentity, TrustLevel};

const REQUEST_ID: &str = "6f1c2a4e-8b3d-4c5e-9f70-1a2b3c4d5e6f";

fn request(body: Value) -> Request {
    let login = LoginIdentity {
        subject: "s".into(),
        given_names: "Sophia".into(),
        family_name: "Beispiel".into(),
        birth_date: None,
        trust_level: TrustLevel::Hoch,
    };
    let application = parse_submission(&body, TODAY).expect("a valid application").application;
    Request::submitted(
        REQUEST_ID.into(),
        login,
        "bremen".into(),
        Some("bremen".into()),
        application,
        datetime!(2026-11-23 09:58:30.5 +01:00),
    )
}

fn meta() -> MessageMeta {
    MessageMeta {
        message_id: "0b8e4f3a-2c1d-4e5f-8a9b-0c1d2e3f4a5b".into(),
        created_at: datetime!(2026-11-23 10:00:01.234 +01:00),
        ags_list_version: "2025-08-31".into(),
    }
}

fn bremen() -> Office {
    office("bremen", &[BREMEN])
}

/// Validates with xmllint against the project's schema: Ok(its report) or Err(its complaints).
fn xmllint(xml: &str) -> Result<String, String> {
    let schema = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema/sorge-alleinsorge.xsd");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("message.xml");
    std::fs::write(&file, xml).expect("the message is written");
    let output = match Command::new("xmllint").arg("--noout").arg("--schema").arg(&schema).arg(&file).output() {
        Ok(output) => output,
        Err(error) if error.kind() == ErrorKind::NotFound => {
            panic!("xmllint is missing: install libxml2-utils (apt-get install libxml2-utils; scripts/test does it)")
        }
        Err(error) => panic!("xmllint could not run: {error}"),
    };
    let report = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!report.contains("failed to compile"), "the schema itself is broken:\n{report}");
    if output.status.success() { Ok(report) } else { Err(report) }
}

fn assert_valid(xml: &str) {
    let report = xmllint(xml).unwrap_or_else(|report| panic!("xmllint refused the message:\n{report}\n{xml}"));
    assert!(report.trim_end().ends_with("validates"), "{report}");
}

fn assert_refused(xml: &str, complaint: &str) {
    let report = xmllint(xml).expect_err("xmllint should refuse the message");
    assert!(report.contains(complaint), "expected a complaint about {complaint}, got:\n{report}");
}

/// The texts of every element `{namespace}local`, read back with quick-xml's namespace-aware reader.
fn texts(xml: &str, namespace: &str, local: &str) -> Vec<String> {
    let mut reader = NsReader::from_str(xml);
    let mut found = Vec::new();
    let mut current: Option<String> = None;
    loop {
        match reader.read_resolved_event().expect("well-formed XML") {
            (ResolveResult::Bound(Namespace(ns)), Event::Start(start))
                if ns == namespace && start.local_name().as_ref() == local =>
            {
                current = Some(String::new());
            }
            (_, Event::Text(text)) => {
                if let Some(current) = current.as_mut() {
                    current.push_str(&text.xml10_content());
                }
            }
            (_, Event::GeneralRef(reference)) => {
                if let Some(current) = current.as_mut() {
                    match reference.resolve_char_ref().expect("a valid character reference") {
                        Some(c) => current.push(c),
                        None => current.push_str(resolve_predefined_entity(&reference).expect("a predefined entity")),
                    }
                }
            }
            (ResolveResult::Bound(Namespace(ns)), Event::End(end))
                if ns == namespace && end.local_name().as_ref() == local =>
            {
                found.extend(current.take());
            }
            (_, Event::Eof) => return found,
            _ => {}
        }
    }
}

fn codes(xml: &str, element: &str) -> Vec<String> {
    let marker = format!("<{element} ");
    xml.split(&marker)
        .skip(1)
        .map(|rest| rest.split("<code>").nth(1).and_then(|c| c.split("</code>").next()).unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_plain_application_is_a_valid_0801() {
    let xml = antrag_0801(&request(valid_body()), &bremen(), &meta());
    assert_valid(&xml);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert!(xml.contains("<xfg:sorge.alleinsorge.antrag.0801 xmlns:xfg=\"http://www.xoev.de/xfamilie/geburt/1.3.0\""));
    assert!(xml.contains(&format!("produktversion=\"{}\"", env!("CARGO_PKG_VERSION"))));
    assert_eq!(codes(&xml, "xfb:nachrichtentyp"), ["0801"]);
    assert_eq!(texts(&xml, XFB, "nachrichtenUUID"), ["0b8e4f3a-2c1d-4e5f-8a9b-0c1d2e3f4a5b"]);
    assert_eq!(texts(&xml, XFB, "erstellungszeitpunkt"), ["2026-11-23T10:00:01.234+01:00"]);
    assert_eq!(texts(&xml, XFB, "zeitstempelAntragsstellung"), ["2026-11-23T09:58:30.500+01:00"]);
    assert_eq!(texts(&xml, XFB, "transaktionsid"), [REQUEST_ID]);
    // Reader and author, each with its Behördenkennung.
    assert_eq!(texts(&xml, XFB, "behoerdenname"), ["Jugendamt bremen", SERVICE.name]);
    assert_eq!(xml.matches("<code>bremen</code>").count(), 1);
    assert_eq!(xml.matches("<code>sorgeregister-online</code>").count(), 1);
    assert_eq!(codes(&xml, "xfb:praefix"), ["jug", "jug"]);
    assert_eq!(texts(&xml, XFB, "name"), ["Beispiel", "Sophia", "Beispiel", "Mia"]);
    assert_eq!(texts(&xml, XFB, "jahrMonatTag"), ["1994-05-02", "2021-03-14"]);
    assert_eq!(texts(&xml, XFG, "geburtsort"), ["Bremen"]);
    assert!(!xml.contains("geburtsname") && !xml.contains("geburtsortStaat"));
    assert!(!xml.contains("zusatzangaben"), "no declarations given: all unknown");
    assert!(!xml.contains("gemeindeschluessel"), "no municipality resolved yet");
}

#[test]
fn her_municipality_travels_by_its_key_beside_the_place_as_she_wrote_it() {
    let mut request = request(valid_body());
    request.application.mother.address.municipality = Some(crate::domain::places::Ags::parse(BREMEN).unwrap());
    let xml = antrag_0801(&request, &bremen(), &meta());
    assert_valid(&xml);
    assert_eq!(codes(&xml, "xfb:gemeindeschluessel"), [BREMEN]);
    assert!(xml.contains(
        "<xfb:gemeindeschluessel listURI=\"urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:ags\" listVersionID=\"2025-08-31\">"
    ));
    assert!(texts(&xml, XFB, "wohnort").contains(&"Bremen".to_owned()), "and the place as she wrote it");
}

#[test]
fn representative_child_born_abroad_and_birth_name_make_a_valid_0801() {
    let mut body = valid_body();
    body["applicant"] = json!({"role": "representative",
                               "representative": {"given_names": "Petra", "family_name": "Vollmacht"}});
    body["mother"]["birth_name"] = json!("Muster");
    body["mother"]["address"]["house_number"] = json!("12a");
    body["child"]["birth_place"] = json!("Wien");
    body["child"]["born_abroad"] = json!(true);
    body["declarations"] = json!({"married_to_father": "unknown", "sorgeerklaerung": "unknown",
                                  "court_decision": "unknown", "foreign_joint_custody": "unknown"});
    let xml = antrag_0801(&request(body), &bremen(), &meta());
    assert_valid(&xml);
    assert_eq!(texts(&xml, XFB, "name"), ["Beispiel", "Muster", "Sophia", "Beispiel", "Mia"]);
    assert_eq!(texts(&xml, XFG, "geburtsort"), ["Wien"]);
    assert!(!xml.contains("geburtsortStaat"), "the state of birth is not collected");
    assert!(!xml.contains("Vollmacht"), "XFamilie has no place for the representative");
    assert!(!xml.contains("zusatzangaben"));
    // The mother's address: the digits apart from the letter, then in schema order.
    assert_eq!(texts(&xml, XFB, "hausnummer"), ["1", "1", "12"]);
    assert_eq!(texts(&xml, XFB, "hausnummerBuchstabeZusatzziffer"), ["a"]);
}

#[test]
fn known_answers_become_zusatzangaben() {
    let mut body = valid_body();
    body["declarations"] = json!({"married_to_father": "no", "sorgeerklaerung": "no", "court_decision": "no"});
    let xml = antrag_0801(&request(body.clone()), &bremen(), &meta());
    assert_valid(&xml);
    assert_eq!(texts(&xml, XFG, "mutterIstWarMitVaterVerheiratet"), ["false"]);
    assert_eq!(texts(&xml, XFG, "gerichtlicheEntscheidungElterlicheSorgeAuchVorlaeufige"), ["false"]);
    assert_eq!(texts(&xml, XFG, "gemeinsameSorgeerklaerung"), ["false"]);

    body["declarations"]["sorgeerklaerung"] = json!("unknown");
    let xml = antrag_0801(&request(body.clone()), &bremen(), &meta());
    assert_valid(&xml);
    assert_eq!(texts(&xml, XFG, "mutterIstWarMitVaterVerheiratet"), ["false"]);
    assert!(!xml.contains("gemeinsameSorgeerklaerung"));

    body["declarations"]["court_decision"] = json!("unknown");
    let xml = antrag_0801(&request(body), &bremen(), &meta());
    assert!(!xml.contains("zusatzangaben"), "a required answer is unknown");
}

#[test]
fn an_answer_without_entry_is_a_valid_0803() {
    let cuxhaven = office("cuxhaven", &[CUXHAVEN]);
    let xml = auskunft_0803(&request(valid_body()), &[], &bremen(), Some(&cuxhaven), &meta());
    assert_valid(&xml);
    assert!(xml.contains("<xfg:sorge.alleinsorge.auskunft.0803 "));
    assert_eq!(codes(&xml, "xfb:nachrichtentyp"), ["0803"]);
    assert_eq!(texts(&xml, XFB, "behoerdenname"), ["Jugendamt bremen", SERVICE.name]);
    assert_eq!(texts(&xml, XFG, "eintragungVorhanden"), ["false"]);
    assert!(!xml.contains("eintragungSorgeregisterArt"));
    assert_eq!(texts(&xml, XFG, "wohnortJugendamtMutter"), ["Jugendamt bremen"]);
    assert_eq!(texts(&xml, XFG, "registerfuerhrendesJugendamt"), ["Jugendamt cuxhaven"]);
}

#[test]
fn an_answer_with_entries_names_each_kind() {
    let kinds =
        [EntryKind::Sorgeerklaerung, EntryKind::GerichtlicheEntscheidungAlleinsorge, EntryKind::Sorgeerklaerung];
    let xml = auskunft_0803(&request(valid_body()), &kinds, &bremen(), None, &meta());
    assert_valid(&xml);
    assert_eq!(texts(&xml, XFG, "eintragungVorhanden"), ["true"]);
    assert_eq!(codes(&xml, "xfg:eintragungSorgeregisterArt"), ["01", "04"]);
    assert!(xml.contains(
        "<xfg:eintragungSorgeregisterArt listURI=\"urn:xoev-de:xfamilie:codeliste:alleinsorgeeintragung\" \
         listVersionID=\"2.0\">"
    ));
    assert!(!xml.contains("registerfuerhrendesJugendamt"), "the register office is not known");
}

#[test]
fn hostile_text_is_escaped_and_reads_back_unchanged() {
    let hostile = ["</xfb:name><evil/>", "Bremen &amp; Umland", "Ende ]]> hier", "\"Am Markt\" 'Ost'"];
    let mut body = valid_body();
    body["mother"]["birth_place"] = json!(hostile[0]);
    body["mother"]["address"]["city"] = json!(hostile[1]);
    body["child"]["birth_place"] = json!(hostile[2]);
    body["mother"]["address"]["street"] = json!(hostile[3]);
    body["mother"]["family_name"] = json!("D'Angelo");
    let mut office = bremen();
    office.name = "Jugendamt <b>\"Nord\"</b> & 'Süd'".into();
    let request = request(body);

    for xml in [antrag_0801(&request, &office, &meta()), auskunft_0803(&request, &[], &office, None, &meta())] {
        assert_valid(&xml);
        assert!(!xml.contains("<evil/>") && !xml.contains("<b>") && !xml.contains("]]>"));
        assert_eq!(texts(&xml, XFB, "geburtsort"), [hostile[0]]);
        // Reader, author, then the mother.
        assert_eq!(texts(&xml, XFB, "wohnort")[2], hostile[1]);
        assert_eq!(texts(&xml, XFG, "geburtsort"), [hostile[2]]);
        assert_eq!(texts(&xml, XFB, "strasse")[2], hostile[3]);
        assert_eq!(texts(&xml, XFB, "name").first().map(String::as_str), Some("D'Angelo"));
        assert_eq!(texts(&xml, XFB, "behoerdenname").first(), Some(&office.name));
    }
}

#[test]
fn the_schema_refuses_what_xfamilie_forbids() {
    let valid_0801 = antrag_0801(&request(valid_body()), &bremen(), &meta());
    let kinds = [EntryKind::Sorgeerklaerung];
    let valid_0803 = auskunft_0803(&request(valid_body()), &kinds, &bremen(), None, &meta());
    let changed = |xml: &str, from: &str, to: &str| {
        assert!(xml.contains(from), "{from} is not in the message");
        xml.replacen(from, to, 1)
    };

    // Transaktionsid before the submission time.
    let timestamp =
        "  <xfb:zeitstempelAntragsstellung>2026-11-23T09:58:30.500+01:00</xfb:zeitstempelAntragsstellung>\n";
    let id = format!("  <xfb:transaktionsid>{REQUEST_ID}</xfb:transaktionsid>\n");
    let swapped = changed(&valid_0801, &format!("{timestamp}{id}"), &format!("{id}{timestamp}"));
    assert_refused(&swapped, "transaktionsid");
    // A code outside the list alleinsorgeeintragung, and a wrong list version.
    let (head, art) = valid_0803.split_once("<xfg:eintragungSorgeregisterArt").expect("a kind of entry");
    let art = changed(art, "<code>01</code>", "<code>05</code>");
    assert_refused(&format!("{head}<xfg:eintragungSorgeregisterArt{art}"), "05");
    assert_refused(&changed(&valid_0803, "listVersionID=\"2.0\"", "listVersionID=\"1.0\""), "listVersionID");
    // A message id that is no UUID, and one with the forbidden prefix.
    assert_refused(&changed(&valid_0801, "<xfb:nachrichtenUUID>", "<xfb:nachrichtenUUID>x"), "nachrichtenUUID");
    assert_refused(&changed(&valid_0801, "<xfb:transaktionsid>", "<xfb:transaktionsid>urn:uuid:"), "transaktionsid");
    // A required attribute missing, a required element missing, a name in the wrong namespace.
    assert_refused(&changed(&valid_0801, " version=\"1.3.0\"", ""), "version");
    assert_refused(
        &changed(&valid_0803, "<xfg:eintragungVorhanden>true</xfg:eintragungVorhanden>", ""),
        "eintragungVorhanden",
    );
    assert_refused(&valid_0801.replace("xfb:geburtsort>", "xfg:geburtsort>"), "geburtsort");
    // The author without a way to reach it.
    let autor = valid_0801.split("<xfb:autor>").nth(1).expect("an author");
    let reachable = autor.split("<xfb:anschrift>").next().expect("erreichbarkeit before anschrift");
    let behoerdenkennung_end = reachable.find("<xfb:erreichbarkeit>").expect("an erreichbarkeit");
    assert_refused(&changed(&valid_0801, &reachable[behoerdenkennung_end..], ""), "anschrift");
}
