//! The XFamilie 1.3.0 messages of the custody register (module Geburt):
//! `sorge.alleinsorge.antrag.0801`, the mother's request, and `sorge.alleinsorge.auskunft.0803`,
//! the register's answer.
//!
//! Element order, namespaces, cardinalities and code lists follow `../shared/XFAMILIE.md`; the tests
//! validate every message against the project's schema `shared/schema/sorge-alleinsorge.xsd` with
//! xmllint. Every text goes through quick-xml's escaping.
//!
//! What the messages do not carry:
//! - the representative: `AngabenZumElternteil2Type` has no element for one (the request PDF names her);
//! - the state of birth (`geburtsortStaat`, mother and child): the form does not ask for it, so it is
//!   left out. The standard reads a missing state as Germany; for a child born abroad the birth place
//!   text still names the place, and the register office (Berlin) follows from `born_abroad`;
//! - the answer on joint custody under foreign law, for which XFamilie has no element.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::domain::application::{Address, Child, Declarations, Mother};
use crate::domain::office::Office;
use crate::domain::precheck::Answer;
use crate::domain::register::EntryKind;
use crate::domain::request::Request;
use crate::domain::values::{PersonName, format_date};

/// Identifies one message: a fresh UUID per message, and when it was written.
pub struct MessageMeta {
    /// A UUID without `urn:uuid:` (XFamilie `UUIDType`).
    pub message_id: String,
    pub created_at: OffsetDateTime,
    /// The Gebietsstand of the directory the municipality keys come from (the version of
    /// Destatis' AGS list), e.g. `2025-08-31`.
    pub ags_list_version: String,
}

/// The author of every message: the operator of the service.
///
/// A placeholder (reserved `.example` domain, sample address) until an operator is appointed; its
/// Behördenkennung uses the same DVDV prefix as the offices, on whose behalf the service writes.
pub struct ServiceIdentity {
    pub name: &'static str,
    /// Behördenkennung within the DVDV prefix.
    pub kennung: &'static str,
    pub street: &'static str,
    pub house_number: &'static str,
    pub postcode: &'static str,
    pub city: &'static str,
    pub email: &'static str,
}

pub const SERVICE: ServiceIdentity = ServiceIdentity {
    name: "Betrieb Sorgeregister online",
    kennung: "sorgeregister-online",
    street: "Musterstraße",
    house_number: "1",
    postcode: "10115",
    city: "Berlin",
    email: "postfach@sorgeregister-betrieb.example",
};

/// A code list as XÖV code types name it in their attributes.
struct CodeList<'a> {
    uri: &'a str,
    version: &'a str,
}

/// Destatis' Amtlicher Gemeindeschlüssel, in the version of the directory in use.
const AGS_LIST: &str = "urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:ags";

const NACHRICHTENTYP: CodeList = CodeList { uri: "urn:xoev-de:xfamilie:codeliste:nachrichtentyp", version: "4.0" };
const ALLEINSORGE_EINTRAGUNG: CodeList =
    CodeList { uri: "urn:xoev-de:xfamilie:codeliste:alleinsorgeeintragung", version: "2.0" };
/// XÖV Erreichbarkeit, version 3: 01 E-Mail, 02 Telefon (Festnetz).
const ERREICHBARKEIT: CodeList = CodeList { uri: "urn:de:xoev:codeliste:erreichbarkeit", version: "3" };
/// DVDV prefixes (Bundesverwaltungsamt). Assumption, to be checked against the published list and
/// the offices' DVDV entries before production: Jugendämter are addressed with the prefix `jug`
/// (DVDV prefixes are three lower-case letters, one per kind of organisation), the list is in
/// version 37, and the office id of the platform serves as the kennung.
const DVDV_PRAEFIX: CodeList = CodeList { uri: "urn:xoev-de:bund:bmi:bit:codeliste:dvdv.praefix", version: "37" };
const JUGENDAMT_PRAEFIX: &str = "jug";

const XFG: &str = "http://www.xoev.de/xfamilie/geburt/1.3.0";
const XFB: &str = "http://www.xoev.de/xfamilie/baukasten/1.3.0";

/// 0801: the mother's request, reader = the issuing (residence) office, author = the service.
///
/// `request.id` is the transaktionsid and must be a UUID, as the platform's ids are.
pub fn antrag_0801(request: &Request, issuing_office: &Office, meta: &MessageMeta) -> String {
    message("xfg:sorge.alleinsorge.antrag.0801", "0801", request, issuing_office, meta, |_| {})
}

/// 0803: the register's answer. `kinds` empty means no entry (eintragungVorhanden=false).
///
/// The reader is the residence office; `register_office` is named when the platform knows it.
pub fn auskunft_0803(
    request: &Request,
    kinds: &[EntryKind],
    residence_office: &Office,
    register_office: Option<&Office>,
    meta: &MessageMeta,
) -> String {
    message("xfg:sorge.alleinsorge.auskunft.0803", "0803", request, residence_office, meta, |x| {
        x.element("xfg:eintragungNachweisregister", |x| {
            x.text("xfg:eintragungVorhanden", boolean(!kinds.is_empty()));
            // The element names kinds of entries; two entries of one kind name it once.
            for (index, kind) in kinds.iter().enumerate() {
                if !kinds[..index].contains(kind) {
                    x.code("xfg:eintragungSorgeregisterArt", &ALLEINSORGE_EINTRAGUNG, kind.code());
                }
            }
            x.text("xfg:wohnortJugendamtMutter", &residence_office.name);
            if let Some(office) = register_office {
                // Spelled as in the XFamilie schema.
                x.text("xfg:registerfuerhrendesJugendamt", &office.name);
            }
        });
    })
}

/// The frame both messages share (xfb:AntragsnachrichtType, then mother, child, Zusatzangaben);
/// `ending` writes what follows them.
fn message(
    root: &str,
    type_code: &str,
    request: &Request,
    reader: &Office,
    meta: &MessageMeta,
    ending: impl FnOnce(&mut Xml),
) -> String {
    let submitted_at = request.timeline.first().expect("a request's timeline starts with its submission").at;
    let application = &request.application;
    let mut x = Xml::new();
    let root_tag = BytesStart::new(root).with_attributes([
        ("xmlns:xfg", XFG),
        ("xmlns:xfb", XFB),
        ("produkt", "Sorgeregister online"),
        ("produkthersteller", SERVICE.name),
        ("produktversion", env!("CARGO_PKG_VERSION")),
        ("standard", "XFamilie"),
        ("version", "1.3.0"),
    ]);
    x.start(root_tag);
    x.element("xfb:nachrichtenkopf", |x| {
        x.element("xfb:identifikation.nachricht", |x| {
            x.text("xfb:nachrichtenUUID", &meta.message_id);
            x.code("xfb:nachrichtentyp", &NACHRICHTENTYP, type_code);
            x.text("xfb:erstellungszeitpunkt", &timestamp(meta.created_at));
        });
        x.element("xfb:leser", |x| office(x, reader));
        x.element("xfb:autor", service);
    });
    x.text("xfb:zeitstempelAntragsstellung", &timestamp(submitted_at));
    x.text("xfb:transaktionsid", &request.id);
    mother(&mut x, &application.mother, &meta.ags_list_version);
    child(&mut x, &application.child);
    zusatzangaben(&mut x, &application.declarations);
    ending(&mut x);
    x.end(root);
    x.finish()
}

/// A Jugendamt as reader (xfb:KommunikationspartnerType).
fn office(x: &mut Xml, office: &Office) {
    behoerdenkennung(x, &office.id);
    erreichbarkeit(x, "01", &office.email);
    erreichbarkeit(x, "02", &office.phone);
    x.element("xfb:anschrift", |x| {
        x.element("xfb:gebaeude", |x| {
            let address = &office.address;
            street_address(x, &address.house_number, &address.postcode, &address.street, &address.city);
        });
    });
    x.text("xfb:behoerdenname", &office.name);
}

/// The service as author (xfb:Kommunikationspartner.ErreichbarType: e-mail and address required).
fn service(x: &mut Xml) {
    behoerdenkennung(x, SERVICE.kennung);
    erreichbarkeit(x, "01", SERVICE.email);
    x.element("xfb:anschrift", |x| {
        x.element("xfb:gebaeude", |x| {
            street_address(x, SERVICE.house_number, SERVICE.postcode, SERVICE.street, SERVICE.city);
        });
    });
    x.text("xfb:behoerdenname", SERVICE.name);
}

fn behoerdenkennung(x: &mut Xml, kennung: &str) {
    x.element("xfb:behoerdenkennung", |x| {
        x.code("xfb:praefix", &DVDV_PRAEFIX, JUGENDAMT_PRAEFIX);
        // xoev-code:Code of no list: the code alone.
        x.element("xfb:kennung", |x| x.text("code", kennung));
    });
}

fn erreichbarkeit(x: &mut Xml, kanal: &str, kennung: &str) {
    x.element("xfb:erreichbarkeit", |x| {
        x.code("xfb:kanal", &ERREICHBARKEIT, kanal);
        x.text("xfb:kennung", kennung);
    });
}

/// The children Meldeanschrift and the postal Gebäudeanschrift share, in their common order.
/// DSMeld wants only the digits in `hausnummer` and a letter or further number in
/// `hausnummerBuchstabeZusatzziffer` ("12a" → "12" + "a"); a number that does not start with a
/// digit is passed whole.
fn street_address(x: &mut Xml, house_number: &str, postcode: &str, street: &str, city: &str) {
    let digits = house_number.find(|c: char| !c.is_ascii_digit()).unwrap_or(house_number.len());
    let (number, addition) = if digits == 0 { (house_number, "") } else { house_number.split_at(digits) };
    x.text("xfb:hausnummer", number);
    let addition = addition.trim();
    if !addition.is_empty() {
        x.text("xfb:hausnummerBuchstabeZusatzziffer", addition);
    }
    x.text("xfb:postleitzahl", postcode);
    x.text("xfb:strasse", street);
    x.text("xfb:wohnort", city);
}

/// xfg:AngabenZumElternteil2Type.
fn mother(x: &mut Xml, mother: &Mother, ags_list_version: &str) {
    x.element("xfg:angabenZurMutter", |x| {
        name(x, "xfg:nameElternteil2", &mother.family_name, mother.birth_name.as_ref(), &mother.given_names);
        x.element("xfg:geburt", |x| {
            x.text("xfb:geburtsort", mother.birth_place.as_str());
            x.element("xfb:geburtsdatum", |x| x.text("xfb:jahrMonatTag", &format_date(mother.birth_date)));
        });
        let Address { street, house_number, postcode, city, municipality } = &mother.address;
        x.element("xfg:anschrift", |x| {
            if let Some(ags) = municipality {
                x.code("xfb:gemeindeschluessel", &CodeList { uri: AGS_LIST, version: ags_list_version }, ags.as_str());
            }
            street_address(x, house_number.as_str(), postcode.as_str(), street.as_str(), city.as_str());
        });
    });
}

/// xfg:AngabenZumKindType with the child born (nachgeburtlicheAngabenZumKind).
fn child(x: &mut Xml, child: &Child) {
    x.element("xfg:angabenZumKind", |x| {
        x.element("xfg:nachgeburtlicheAngabenZumKind", |x| {
            name(x, "xfg:nameDesKindes", &child.family_name, None, &child.given_names);
            x.text("xfg:geburtsort", child.birth_place.as_str());
            x.element("xfg:geburtsdatum", |x| x.text("xfb:jahrMonatTag", &format_date(child.birth_date)));
        });
    });
}

/// xfb:NameNatuerlichePersonType.
fn name(x: &mut Xml, element: &str, family: &PersonName, birth: Option<&PersonName>, given: &PersonName) {
    x.element(element, |x| {
        x.element("xfb:familienname.unstrukturiert", |x| x.text("xfb:name", family.as_str()));
        if let Some(birth) = birth {
            x.element("xfb:geburtsname.unstrukturiert", |x| x.text("xfb:name", birth.as_str()));
        }
        x.element("xfb:vornamen", |x| x.text("xfb:name", given.as_str()));
    });
}

/// The mother's answers, only as far as she knows them: the two required answers decide whether
/// the element is written at all, the Sorgeerklärung is optional within it.
fn zusatzangaben(x: &mut Xml, declarations: &Declarations) {
    let (Some(married), Some(court)) = (known(declarations.married_to_father), known(declarations.court_decision))
    else {
        return;
    };
    x.element("xfg:zusatzangaben", |x| {
        x.text("xfg:mutterIstWarMitVaterVerheiratet", boolean(married));
        x.text("xfg:gerichtlicheEntscheidungElterlicheSorgeAuchVorlaeufige", boolean(court));
        if let Some(sorgeerklaerung) = known(declarations.sorgeerklaerung) {
            x.text("xfg:gemeinsameSorgeerklaerung", boolean(sorgeerklaerung));
        }
    });
}

fn known(answer: Answer) -> Option<bool> {
    match answer {
        Answer::Yes => Some(true),
        Answer::No => Some(false),
        Answer::Unknown => None,
    }
}

fn boolean(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// xs:dateTime with milliseconds and zone, as XFamilie asks for the erstellungszeitpunkt.
fn timestamp(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory]:[offset_minute]"
    ))
    .expect("a four-digit year always formats")
}

/// A thin layer over quick-xml's writer: names are our constants, every text is escaped by
/// `BytesText::new` and every attribute value by the writer.
struct Xml(Writer<Vec<u8>>);

/// Writing into a `Vec` cannot fail.
const IN_MEMORY: &str = "writing XML into memory";

impl Xml {
    fn new() -> Self {
        let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None))).expect(IN_MEMORY);
        Self(writer)
    }

    fn start(&mut self, tag: BytesStart) {
        self.0.write_event(Event::Start(tag)).expect(IN_MEMORY);
    }

    fn end(&mut self, name: &str) {
        self.0.write_event(Event::End(BytesEnd::new(name))).expect(IN_MEMORY);
    }

    fn element(&mut self, name: &str, content: impl FnOnce(&mut Self)) {
        self.start(BytesStart::new(name));
        content(self);
        self.end(name);
    }

    fn text(&mut self, name: &str, text: &str) {
        self.0.create_element(name).write_text_content(BytesText::new(text)).expect(IN_MEMORY);
    }

    /// An XÖV code: the list in the attributes, the value in the unqualified child `code`.
    fn code(&mut self, name: &str, list: &CodeList, code: &str) {
        let tag = BytesStart::new(name).with_attributes([("listURI", list.uri), ("listVersionID", list.version)]);
        self.start(tag);
        self.text("code", code);
        self.end(name);
    }

    fn finish(self) -> String {
        String::from_utf8(self.0.into_inner()).expect("quick-xml writes the UTF-8 it is given")
    }
}

#[cfg(test)]
mod tests;
