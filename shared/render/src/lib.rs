//! The PDFs of the service, typeset with typst as a library: the certificate
//! (Negativbescheinigung, § 58 SGB VIII), the letter that carries it by post, and the request for
//! the office.
//!
//! Data reaches the templates (`templates/*.typ`) only as a virtual JSON file (`/data.json`), never
//! as markup, so no user string can become typst code. Nothing is read from disk or the network.
//! Output is PDF/A-2b with the fonts embedded.
//!
//! Fonts: Noto Sans 1.04 regular and bold from the `ttf-noto-sans` crate (Apache License 2.0),
//! compiled in. They cover Latin, Greek and Cyrillic, which DIN 91379 names need.
//!
//! This crate pulls in typst (a binary with it is about 40 MB stripped): depend on it only from
//! crates that render.

mod world;

use serde::Serialize;
use typst::diag::{SourceDiagnostic, Warned};
use typst::ecow::EcoVec;
use typst::foundations::{Datetime, Smart};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

use crate::world::{DocWorld, Shared, Template};

/// Typesets the service's documents. Create it once (fonts are parsed and the standard library is
/// built here) and share it; rendering takes `&self` and may run on several threads at once.
pub struct Renderer {
    shared: Shared,
}

/// Contact data of a youth welfare office, as printed in letterheads.
#[derive(Debug, Clone, Serialize)]
pub struct OfficeData {
    pub name: String,
    pub street: String,
    pub house_number: String,
    pub postcode: String,
    pub city: String,
    pub phone: String,
    pub email: String,
    /// From the office's letterhead settings, printed under its name.
    pub department: Option<String>,
    pub website: Option<String>,
}

impl From<&shared::domain::office::Office> for OfficeData {
    fn from(office: &shared::domain::office::Office) -> Self {
        OfficeData {
            name: office.name.clone(),
            street: office.address.street.clone(),
            house_number: office.address.house_number.clone(),
            postcode: office.address.postcode.clone(),
            city: office.address.city.clone(),
            phone: office.phone.clone(),
            email: office.email.clone(),
            department: office.letterhead.as_ref().and_then(|l| l.department.clone()),
            website: office.letterhead.as_ref().and_then(|l| l.website.clone()),
        }
    }
}

/// What the certificate says. Dates are already formatted the German way ("14.03.2021").
#[derive(Debug, Clone, Serialize)]
pub struct CertificateData {
    /// The child's name as it was when the birth was registered (§ 58 SGB VIII).
    pub child_given_names: String,
    pub child_family_name: String,
    pub child_birth_date: String,
    pub child_birth_place: String,
    pub mother_given_names: String,
    pub mother_family_name: String,
    /// The issuing office: the youth welfare office of the mother's residence.
    pub office: OfficeData,
    /// "23.11.2026"; also the PDF's creation date, so it must have that format.
    pub issued_on: String,
    /// The request id, printed as "Vorgangsnummer".
    pub reference: String,
    /// Printed in groups of four characters unless it already contains spaces or hyphens.
    pub verification_code: String,
    /// `https://…/pruefen/{code}`, printed and encoded as QR code.
    pub verification_url: String,
    /// Empty: full certificate. Otherwise the register holds entries only for these parts of
    /// custody, and the certificate names them (partial certificate).
    pub partial_parts: Vec<String>,
}

/// The letter for delivery by post: a cover letter to the mother, then the certificate.
#[derive(Debug, Clone, Serialize)]
pub struct LetterData {
    /// The certificate exactly as issued; its date is also the letter's date.
    pub certificate: CertificateData,
    /// The mother's address (her name is the certificate's).
    pub recipient: RecipientAddress,
    /// "21.11.2026": when she applied.
    pub submitted_on: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecipientAddress {
    pub street: String,
    pub house_number: String,
    pub postcode: String,
    pub city: String,
}

/// The request as the office receives it. Rows are (label, value) pairs, printed in this order.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationData {
    pub reference: String,
    /// "23.11.2026, 14:05 Uhr": it must start with the date, which is also the PDF's creation date.
    pub submitted_at: String,
    /// The office the request is addressed to (the mother's residence).
    pub office: OfficeData,
    /// The office keeping the register (birth place), when it is another one.
    pub register_office: Option<String>,
    /// "Mutter" or "Bevollmächtigte Person: <name>".
    pub applicant: String,
    pub mother: Vec<(String, String)>,
    pub child: Vec<(String, String)>,
    pub declarations: Vec<(String, String)>,
    pub delivery: String,
    /// How the applicant logged in (identity provider, trust level, …).
    pub login: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The caller's data cannot be rendered (bad date format, URL too long for a QR code).
    #[error("cannot render this data: {0}")]
    Data(String),
    /// The template failed or warned; the messages come from the template, not from the data.
    #[error("typesetting failed: {0}")]
    Typeset(String),
    #[error("PDF export failed: {0}")]
    Export(String),
}

/// The template's view of a certificate: the data plus what is easier to prepare in Rust.
#[derive(Serialize)]
struct CertificateInput<'a> {
    #[serde(flatten)]
    data: &'a CertificateData,
    code_grouped: String,
    qr: QrMatrix,
}

impl<'a> CertificateInput<'a> {
    fn new(data: &'a CertificateData) -> Result<Self, RenderError> {
        Ok(CertificateInput {
            data,
            code_grouped: group_code(&data.verification_code),
            qr: qr_matrix(&data.verification_url)?,
        })
    }
}

/// The template's view of a letter.
#[derive(Serialize)]
struct LetterInput<'a> {
    certificate: CertificateInput<'a>,
    recipient: &'a RecipientAddress,
    submitted_on: &'a str,
}

/// Dark modules of a QR code as horizontal runs `[x, y, length]`, so that typst draws one path
/// of a few hundred rectangles instead of a grid of cells.
#[derive(Serialize)]
struct QrMatrix {
    size: usize,
    runs: Vec<[usize; 3]>,
}

/// Caches older than this many renders are dropped: typst memoizes globally and would otherwise
/// keep every document it ever laid out.
const CACHE_MAX_AGE: usize = 10;

impl Renderer {
    pub fn new() -> Renderer {
        Renderer { shared: Shared::new() }
    }

    /// The certificate (Bescheinigung über das Nichtvorliegen von Eintragungen im Sorgeregister).
    pub fn certificate(&self, data: &CertificateData) -> Result<Vec<u8>, RenderError> {
        let date = parse_date(&data.issued_on, "issued_on")?;
        let input = CertificateInput::new(data)?;
        self.render(Template::Certificate, &input, date, &format!("bescheinigung/{}", data.reference))
    }

    /// The letter for delivery by post (DIN 5008, form B): the cover letter with the mother's
    /// address in the envelope window, then the certificate as [`Renderer::certificate`] sets it.
    pub fn letter(&self, data: &LetterData) -> Result<Vec<u8>, RenderError> {
        let certificate = &data.certificate;
        let date = parse_date(&certificate.issued_on, "certificate.issued_on")?;
        parse_date(&data.submitted_on, "submitted_on")?;
        let input = LetterInput {
            certificate: CertificateInput::new(certificate)?,
            recipient: &data.recipient,
            submitted_on: &data.submitted_on,
        };
        self.render(Template::Letter, &input, date, &format!("anschreiben/{}", certificate.reference))
    }

    /// The files typst reads for a certificate (templates and `data.json`), to typeset the very
    /// same document with the `typst` command line as a benchmark peer.
    pub fn certificate_project(&self, data: &CertificateData) -> Result<Vec<(&'static str, Vec<u8>)>, RenderError> {
        let input = CertificateInput::new(data)?;
        let json = serde_json::to_vec(&input).map_err(|e| RenderError::Data(e.to_string()))?;
        Ok(vec![
            ("certificate.typ", include_str!("../templates/certificate.typ").as_bytes().to_vec()),
            ("certificate-page.typ", include_str!("../templates/certificate-page.typ").as_bytes().to_vec()),
            ("common.typ", include_str!("../templates/common.typ").as_bytes().to_vec()),
            ("data.json", json),
        ])
    }

    /// The request PDF for the office's file.
    pub fn application(&self, data: &ApplicationData) -> Result<Vec<u8>, RenderError> {
        let date = parse_date(&data.submitted_at, "submitted_at")?;
        self.render(Template::Application, data, date, &format!("antrag/{}", data.reference))
    }

    fn render(
        &self,
        template: Template,
        input: &impl Serialize,
        date: Datetime,
        ident: &str,
    ) -> Result<Vec<u8>, RenderError> {
        let json = serde_json::to_vec(input).map_err(|e| RenderError::Data(e.to_string()))?;
        let world = DocWorld::new(&self.shared, template, json, date);
        let result = typeset(&world);
        let pdf = result.and_then(|document| {
            let options = PdfOptions {
                // A stable document id per request: rendering the same request twice gives the same PDF.
                ident: Smart::Custom(ident.to_owned()),
                creator: Smart::Custom(Some("Sorgeregister online".to_owned())),
                timestamp: Some(Timestamp::new_utc(date)),
                standards: PdfStandards::new(&[PdfStandard::A_2b]).expect("PDF/A-2b is a valid standard"),
                ..PdfOptions::default()
            };
            typst_pdf::pdf(&document, &options).map_err(|errors| RenderError::Export(messages(&errors)))
        });
        comemo::evict(CACHE_MAX_AGE);
        pdf
    }
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

/// Compiles the document; warnings count as errors because the templates are fixed and a warning
/// (an unknown font, say) means the output is not what was designed.
fn typeset(world: &DocWorld) -> Result<PagedDocument, RenderError> {
    let Warned { output, warnings } = typst::compile::<PagedDocument>(world);
    let document = output.map_err(|errors| RenderError::Typeset(messages(&errors)))?;
    if !warnings.is_empty() {
        return Err(RenderError::Typeset(messages(&warnings)));
    }
    Ok(document)
}

fn messages(diagnostics: &EcoVec<SourceDiagnostic>) -> String {
    diagnostics.iter().map(|d| d.message.as_str()).collect::<Vec<_>>().join("; ")
}

/// The leading "DD.MM.YYYY" of a German date or date-time string.
fn parse_date(text: &str, field: &str) -> Result<Datetime, RenderError> {
    let format = time::macros::format_description!("[day].[month].[year]");
    let invalid = || RenderError::Data(format!("{field} must start with a date DD.MM.YYYY"));
    let date = text.get(..10).and_then(|head| time::Date::parse(head, format).ok()).ok_or_else(invalid)?;
    Datetime::from_ymd(date.year(), date.month().into(), date.day()).ok_or_else(invalid)
}

/// "K7QM2XWA9TZP4HBN" → "K7QM 2XWA 9TZP 4HBN": easier to read out and type.
fn group_code(code: &str) -> String {
    if code.contains([' ', '-']) {
        return code.to_owned();
    }
    let chars: Vec<char> = code.chars().collect();
    chars.chunks(4).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

fn qr_matrix(url: &str) -> Result<QrMatrix, RenderError> {
    // Level M (15 % recovery) keeps the code small enough for a 3 cm print and robust to wear.
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| RenderError::Data(format!("verification_url cannot be encoded as QR code: {e}")))?;
    let size = code.width();
    let colors = code.to_colors();
    let mut runs = Vec::new();
    for (y, row) in colors.chunks(size).enumerate() {
        let mut x = 0;
        while x < size {
            if row[x] == qrcode::Color::Dark {
                let start = x;
                while x < size && row[x] == qrcode::Color::Dark {
                    x += 1;
                }
                runs.push([start, y, x - start]);
            } else {
                x += 1;
            }
        }
    }
    Ok(QrMatrix { size, runs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_in_fours() {
        assert_eq!(group_code("K7QM2XWA9TZP4HBN"), "K7QM 2XWA 9TZP 4HBN");
        assert_eq!(group_code("ABCDEF"), "ABCD EF");
        assert_eq!(group_code("K7QM-2XWA"), "K7QM-2XWA");
    }

    #[test]
    fn dates_must_lead_with_a_german_date() {
        assert_eq!(parse_date("23.11.2026", "x").unwrap(), Datetime::from_ymd(2026, 11, 23).unwrap());
        assert_eq!(parse_date("23.11.2026, 14:05 Uhr", "x").unwrap(), Datetime::from_ymd(2026, 11, 23).unwrap());
        assert!(matches!(parse_date("2026-11-23", "x"), Err(RenderError::Data(_))));
        assert!(matches!(parse_date("31.02.2026", "x"), Err(RenderError::Data(_))));
        assert!(matches!(parse_date("", "x"), Err(RenderError::Data(_))));
    }

    #[test]
    fn qr_runs_cover_exactly_the_dark_modules() {
        let url = "https://sorgeregister.example/pruefen/K7QM2XWA9TZP4HBN";
        let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M).unwrap();
        let expected: Vec<bool> = code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect();
        let matrix = qr_matrix(url).unwrap();
        let mut cells = vec![false; matrix.size * matrix.size];
        for [x, y, len] in matrix.runs {
            cells[y * matrix.size + x..y * matrix.size + x + len].fill(true);
        }
        assert_eq!(matrix.size, code.width());
        assert_eq!(cells, expected);
    }

    #[test]
    fn the_renderer_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Renderer>();
    }
}
