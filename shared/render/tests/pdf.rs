//! Renders every document and checks the PDFs with poppler-utils, as a reader or an archive would:
//! text extractable, fonts embedded, PDF/A-2b declared, A4, data shown literally, QR code readable.

use std::io::ErrorKind;
use std::process::Command;
use std::sync::LazyLock;

use render::{ApplicationData, CertificateData, LetterData, OfficeData, RecipientAddress, RenderError, Renderer};

static RENDERER: LazyLock<Renderer> = LazyLock::new(Renderer::new);

const URL: &str = "https://sorgeregister.example/pruefen/K7QM2XWA9TZP4HBN";

/// Strings that would be code if they were ever spliced into typst markup. (No backtick: pdftotext
/// merges a backtick into the next letter as a grave accent, whatever the PDF says.)
const HOSTILE: [&str; 10] = [
    "#panic()",
    "]] #set page(width: 1cm)",
    "$x^2$",
    "<b>",
    "\\\"",
    "C:\\Temp",
    "@ref",
    "// comment",
    "#read(\"/etc/passwd\")",
    "[*fett*] _kursiv_ {x} ~ 1 -- 2",
];

fn office() -> OfficeData {
    OfficeData {
        name: "Amt für Soziale Dienste Bremen".into(),
        street: "Am Markt".into(),
        house_number: "20".into(),
        postcode: "28195".into(),
        city: "Bremen".into(),
        phone: "0421 361-0".into(),
        email: "sorgeregister@afsd.bremen.example".into(),
        department: None,
        website: None,
    }
}

fn certificate() -> CertificateData {
    CertificateData {
        child_given_names: "Mia Luise".into(),
        child_family_name: "Beispiel".into(),
        child_birth_date: "14.03.2021".into(),
        child_birth_place: "Bremen".into(),
        mother_given_names: "Sophia".into(),
        mother_family_name: "Beispiel".into(),
        office: office(),
        issued_on: "23.11.2026".into(),
        reference: "REQ-2026-000123".into(),
        verification_code: "K7QM2XWA9TZP4HBN".into(),
        verification_url: URL.into(),
        partial_parts: vec![],
    }
}

fn letter() -> LetterData {
    LetterData {
        certificate: certificate(),
        recipient: RecipientAddress {
            street: "Am Wall".into(),
            house_number: "7a".into(),
            postcode: "28203".into(),
            city: "Bremen".into(),
        },
        submitted_on: "21.11.2026".into(),
    }
}

fn rows(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(l, v)| (l.to_string(), v.to_string())).collect()
}

fn application() -> ApplicationData {
    ApplicationData {
        reference: "REQ-2026-000123".into(),
        submitted_at: "23.11.2026, 14:05 Uhr".into(),
        office: office(),
        register_office: Some("Landkreis Cuxhaven, Jugendamt".into()),
        applicant: "Mutter".into(),
        mother: rows(&[
            ("Vorname(n)", "Sophia"),
            ("Familienname", "Beispiel"),
            ("Geburtsdatum", "02.05.1994"),
            ("Geburtsort", "Bremen"),
            ("Anschrift", "Am Markt 1, 28195 Bremen"),
        ]),
        child: rows(&[
            ("Vorname(n)", "Mia Luise"),
            ("Familienname", "Beispiel"),
            ("Geburtsdatum", "14.03.2021"),
            ("Geburtsort", "Cuxhaven"),
        ]),
        declarations: rows(&[
            ("Mit dem Vater verheiratet", "nein"),
            ("Sorgeerklärungen abgegeben", "nicht bekannt"),
            ("Gerichtliche Entscheidung zur elterlichen Sorge", "nein"),
        ]),
        delivery: "Herunterladen im Nutzerkonto".into(),
        login: rows(&[("Nutzerkonto", "BundID"), ("Vertrauensniveau", "hoch")]),
    }
}

/// Runs a poppler tool as `tool ARGS doc.pdf TAIL`; a missing tool fails the test with what to install.
fn poppler(tool: &str, args: &[&str], tail: &[&str], pdf: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.pdf");
    std::fs::write(&file, pdf).unwrap();
    let output = match Command::new(tool).args(args).arg(&file).args(tail).output() {
        Err(e) if e.kind() == ErrorKind::NotFound => panic!(
            "`{tool}` is missing: install poppler-utils (`apt-get install -y poppler-utils`; ./scripts/test does it)"
        ),
        other => other.unwrap(),
    };
    assert!(output.status.success(), "{tool} failed: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// The text inside a rectangle of page 1, in millimetres from the top left corner.
fn pdf_text_in(pdf: &[u8], (x, y, width, height): (f64, f64, f64, f64)) -> String {
    // At 72 dpi one point is one pixel.
    let pt = |mm: f64| ((mm * 72.0 / 25.4).round() as i64).to_string();
    let (x, y, width, height) = (pt(x), pt(y), pt(width), pt(height));
    let args = ["-f", "1", "-l", "1", "-x", &x, "-y", &y, "-W", &width, "-H", &height, "-enc", "UTF-8"];
    fold(&String::from_utf8(poppler("pdftotext", &args, &["-"], pdf)).unwrap())
}

/// The text of one page.
fn pdf_page_text(pdf: &[u8], page: usize) -> String {
    let page = page.to_string();
    fold(&String::from_utf8(poppler("pdftotext", &["-f", &page, "-l", &page, "-enc", "UTF-8"], &["-"], pdf)).unwrap())
}

fn poppler_text(tool: &str, args: &[&str], pdf: &[u8]) -> String {
    String::from_utf8(poppler(tool, args, &[], pdf)).unwrap()
}

/// The text as a reader would copy it, with line breaks and runs of spaces folded to one space.
fn pdf_text(pdf: &[u8]) -> String {
    fold(&String::from_utf8(poppler("pdftotext", &["-enc", "UTF-8"], &["-"], pdf)).unwrap())
}

fn fold(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn assert_contains(haystack: &str, needle: &str) {
    assert!(haystack.contains(&fold(needle)), "{needle:?} not found in:\n{haystack}");
}

/// PDF/A-2b, every page A4, every font embedded with a Unicode map; `pages` if the count is known.
fn assert_pdfa_a4_embedded(pdf: &[u8], pages: Option<usize>) {
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");

    let info = poppler_text("pdfinfo", &[], pdf);
    let count = pages_of(&info);
    if let Some(pages) = pages {
        assert_eq!(count, pages, "page count");
    }
    // Every page, not just the first: a stray `#set page` in the data would show on a later one.
    let sizes = poppler_text("pdfinfo", &["-f", "1", "-l", &count.to_string()], pdf);
    let sizes: Vec<&str> = sizes.lines().filter(|l| l.starts_with("Page") && l.contains("size:")).collect();
    assert_eq!(sizes.len(), count, "a size per page:\n{sizes:?}");
    for size in sizes {
        // "Page    2 size:  595.276 x 841.89 pts (A4)"; poppler versions round differently.
        let numbers: Vec<f64> = size.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        let (width, height) = (numbers[1], numbers[2]);
        assert!((width - 595.28).abs() < 0.01 && (height - 841.89).abs() < 0.01, "not A4: {size}");
    }

    let meta = poppler_text("pdfinfo", &["-meta"], pdf);
    let part = xmp_value(&meta, "pdfaid:part");
    let conformance = xmp_value(&meta, "pdfaid:conformance");
    assert_eq!((part.as_deref(), conformance.as_deref()), (Some("2"), Some("B")), "not PDF/A-2b:\n{meta}");

    let fonts = poppler_text("pdffonts", &[], pdf);
    let rows: Vec<&str> = fonts.lines().skip(2).filter(|l| !l.trim().is_empty()).collect();
    assert!(!rows.is_empty(), "no fonts:\n{fonts}");
    for row in rows {
        // name type encoding emb sub uni object-id generation: read from the right, names may have spaces.
        let cols: Vec<&str> = row.split_whitespace().collect();
        let (emb, uni) = (cols[cols.len() - 5], cols[cols.len() - 3]);
        assert_eq!(emb, "yes", "font not embedded: {row}");
        assert_eq!(uni, "yes", "font without a Unicode map (text not extractable): {row}");
        assert!(row.contains("NotoSans"), "unexpected font: {row}");
    }
}

fn pages_of(info: &str) -> usize {
    let line = info.lines().find(|l| l.starts_with("Pages:")).expect("page count in pdfinfo");
    line["Pages:".len()..].trim().parse().unwrap()
}

/// `<pdfaid:part>2</pdfaid:part>` or `pdfaid:part="2"`: both are valid XMP.
fn xmp_value(xmp: &str, name: &str) -> Option<String> {
    if let Some(start) = xmp.find(&format!("<{name}>")) {
        let rest = &xmp[start + name.len() + 2..];
        return Some(rest[..rest.find('<')?].trim().to_owned());
    }
    let start = xmp.find(&format!("{name}=\""))?;
    let rest = &xmp[start + name.len() + 2..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// Rasterises the first page with poppler and decodes every QR code on it.
fn qr_codes(pdf: &[u8]) -> Vec<String> {
    let pgm = poppler("pdftoppm", &["-r", "150", "-gray", "-f", "1", "-l", "1"], &[], pdf);
    let (width, height, pixels) = parse_pgm(&pgm);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| pixels[y * width + x]);
    image.detect_grids().iter().map(|grid| grid.decode().expect("QR code decodes").1).collect()
}

/// Binary PGM ("P5"): magic, width, height, maxval (8 bit here), one whitespace, then the pixels.
fn parse_pgm(data: &[u8]) -> (usize, usize, &[u8]) {
    let mut fields = Vec::new();
    let mut pos = 0;
    while fields.len() < 4 {
        while data[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let start = pos;
        while !data[pos].is_ascii_whitespace() {
            pos += 1;
        }
        fields.push(std::str::from_utf8(&data[start..pos]).unwrap());
    }
    assert_eq!((fields[0], fields[3]), ("P5", "255"), "unexpected PGM header");
    let (width, height) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = &data[pos + 1..];
    assert_eq!(pixels.len(), width * height);
    (width, height, pixels)
}

#[test]
fn certificate_is_pdfa_with_the_childs_data_the_office_and_the_code() {
    let pdf = RENDERER.certificate(&certificate()).unwrap();
    assert_pdfa_a4_embedded(&pdf, Some(1));

    let text = pdf_text(&pdf);
    for needle in [
        "Bescheinigung über das Nichtvorliegen von Eintragungen im Sorgeregister",
        "§ 58 SGB VIII",
        "Mia Luise Beispiel",
        "14.03.2021",
        "Bremen",
        "Sophia Beispiel",
        "keine Eintragungen",
        "Amt für Soziale Dienste Bremen",
        "Am Markt 20",
        "28195 Bremen",
        "0421 361-0",
        "sorgeregister@afsd.bremen.example",
        "Stand: Zeitpunkt der Ausstellung",
        "23.11.2026",
        "REQ-2026-000123",
        "K7QM 2XWA 9TZP 4HBN",
        URL,
        "ohne Unterschrift gültig",
    ] {
        assert_contains(&text, needle);
    }
    assert!(!text.contains("Teilbescheinigung"), "a full certificate is no partial one");
}

#[test]
fn certificate_qr_code_points_to_the_verification_url() {
    let pdf = RENDERER.certificate(&certificate()).unwrap();
    assert_eq!(qr_codes(&pdf), vec![URL.to_owned()]);
}

#[test]
fn partial_certificate_names_the_parts_with_entries() {
    let mut data = certificate();
    data.partial_parts = vec!["Aufenthaltsbestimmungsrecht".into(), "Gesundheitssorge".into()];
    let pdf = RENDERER.certificate(&data).unwrap();
    assert_pdfa_a4_embedded(&pdf, Some(1));

    let text = pdf_text(&pdf);
    assert_contains(&text, "Teilbescheinigung");
    assert_contains(&text, "Eintragungen nur für die folgenden Teile der elterlichen Sorge");
    assert_contains(&text, "Aufenthaltsbestimmungsrecht");
    assert_contains(&text, "Gesundheitssorge");
    assert_contains(
        &text,
        "Für alle übrigen Teile der elterlichen Sorge liegen im Sorgeregister keine Eintragungen vor",
    );
}

/// DIN 5008 form B: the address field of a window envelope, 85 × 45 mm, 20 mm from the left and
/// 45 mm from the top edge.
const ADDRESS_FIELD: (f64, f64, f64, f64) = (20.0, 45.0, 85.0, 45.0);

#[test]
fn letter_shows_the_address_in_the_window_and_the_certificate_on_page_two() {
    let mut data = letter();
    data.certificate.office.department = Some("Amt für Soziale Dienste – Sorgeregister".into());
    data.certificate.office.website = Some("https://www.afsd.bremen.example".into());
    let pdf = RENDERER.letter(&data).unwrap();
    assert_pdfa_a4_embedded(&pdf, Some(2));

    let window = pdf_text_in(&pdf, ADDRESS_FIELD);
    for needle in ["Sophia Beispiel", "Am Wall 7a", "28203 Bremen", "Amt für Soziale Dienste Bremen · Am Markt 20"] {
        assert_contains(&window, needle);
    }
    assert!(!window.contains("Sehr geehrte"), "only the address shows in the window: {window}");

    let cover = pdf_page_text(&pdf, 1);
    for needle in [
        "Amt für Soziale Dienste Bremen",
        "Amt für Soziale Dienste – Sorgeregister",
        "https://www.afsd.bremen.example",
        "0421 361-0",
        "sorgeregister@afsd.bremen.example",
        // The information block: labels and values, read column by column.
        "Ihr Antrag vom Vorgangsnummer Datum 21.11.2026 REQ-2026-000123 23.11.2026",
        "Sehr geehrte Frau Beispiel,",
        "Anlage: Bescheinigung über das Nichtvorliegen von Eintragungen im Sorgeregister",
    ] {
        assert_contains(&cover, needle);
    }

    let certificate = pdf_page_text(&pdf, 2);
    let alone = pdf_text(&RENDERER.certificate(&data.certificate).unwrap());
    assert_eq!(certificate, alone, "page 2 is the certificate as issued");
}

#[test]
fn a_letter_needs_german_dates() {
    let mut data = letter();
    data.submitted_on = "vorgestern".into();
    assert!(matches!(RENDERER.letter(&data), Err(RenderError::Data(_))));
}

#[test]
fn application_is_pdfa_with_every_row() {
    let data = application();
    let pdf = RENDERER.application(&data).unwrap();
    assert_pdfa_a4_embedded(&pdf, None);

    let text = pdf_text(&pdf);
    for needle in ["Antrag auf Erteilung", "REQ-2026-000123", "23.11.2026, 14:05 Uhr", "Landkreis Cuxhaven, Jugendamt"]
    {
        assert_contains(&text, needle);
    }
    assert_contains(&text, "Amt für Soziale Dienste Bremen");
    for (label, value) in data.mother.iter().chain(&data.child).chain(&data.declarations).chain(&data.login) {
        assert_contains(&text, label);
        assert_contains(&text, value);
    }
    assert_contains(&text, &data.delivery);
}

#[test]
fn hostile_strings_are_shown_literally_and_change_nothing() {
    let mut data = certificate();
    data.child_given_names = HOSTILE[0].into();
    data.child_family_name = HOSTILE[1].into();
    data.child_birth_place = HOSTILE[2].into();
    data.mother_given_names = HOSTILE[3].into();
    data.mother_family_name = HOSTILE[4].into();
    data.reference = HOSTILE[5].into();
    data.office.name = HOSTILE[6].into();
    data.office.city = HOSTILE[7].into();
    data.partial_parts = vec![HOSTILE[8].into(), HOSTILE[9].into()];
    let pdf = RENDERER.certificate(&data).unwrap();
    assert_pdfa_a4_embedded(&pdf, Some(1));
    let text = pdf_text(&pdf);
    for hostile in HOSTILE {
        assert_contains(&text, hostile);
    }

    let mut data = letter();
    data.certificate.mother_given_names = HOSTILE[0].into();
    data.certificate.mother_family_name = HOSTILE[1].into();
    data.recipient.street = HOSTILE[2].into();
    data.recipient.house_number = HOSTILE[3].into();
    data.recipient.city = HOSTILE[4].into();
    data.certificate.office.name = HOSTILE[5].into();
    data.certificate.office.department = Some(HOSTILE[6].into());
    data.certificate.office.website = Some(HOSTILE[7].into());
    data.certificate.office.phone = HOSTILE[8].into();
    data.certificate.office.email = HOSTILE[9].into();
    let pdf = RENDERER.letter(&data).unwrap();
    assert_pdfa_a4_embedded(&pdf, Some(2));
    let cover = pdf_page_text(&pdf, 1);
    for hostile in HOSTILE {
        assert_contains(&cover, hostile);
    }
    let window = pdf_text_in(&pdf, ADDRESS_FIELD);
    for hostile in &HOSTILE[..5] {
        assert_contains(&window, hostile);
    }

    let mut data = application();
    data.applicant = format!("Bevollmächtigte Person: {}", HOSTILE[1]);
    data.register_office = Some(HOSTILE[0].into());
    data.mother = HOSTILE.iter().map(|h| (h.to_string(), h.to_string())).collect();
    data.delivery = HOSTILE[2].into();
    let pdf = RENDERER.application(&data).unwrap();
    assert_pdfa_a4_embedded(&pdf, None);
    let text = pdf_text(&pdf);
    for hostile in HOSTILE {
        assert_contains(&text, hostile);
    }
}

#[test]
fn din_91379_names_render_in_the_embedded_font() {
    let mut data = certificate();
    data.child_given_names = "Łucja Ŏlga Ærøe".into();
    data.child_family_name = "Đặng-Müller ẞtraße".into();
    data.mother_given_names = "Αθηνά".into();
    data.mother_family_name = "Дмитриева".into();
    let pdf = RENDERER.certificate(&data).unwrap();
    assert_pdfa_a4_embedded(&pdf, Some(1));
    let text = pdf_text(&pdf);
    for name in ["Łucja Ŏlga Ærøe Đặng-Müller ẞtraße", "Αθηνά Дмитриева"] {
        assert_contains(&text, name);
    }
}

#[test]
fn one_renderer_renders_many_times_with_the_same_result() {
    let first = RENDERER.certificate(&certificate()).unwrap();
    let again = RENDERER.certificate(&certificate()).unwrap();
    assert_eq!(first, again, "output depends only on the data");
    let mut other = certificate();
    other.child_given_names = "Lena".into();
    let other = RENDERER.certificate(&other).unwrap();
    assert_ne!(first, other);
    assert!(pdf_text(&other).contains("Lena Beispiel"));
}

#[test]
fn bad_dates_are_refused_as_data_errors() {
    let mut data = certificate();
    data.issued_on = "2026-11-23".into();
    assert!(matches!(RENDERER.certificate(&data), Err(RenderError::Data(_))));
    let mut data = application();
    data.submitted_at = "gestern".into();
    assert!(matches!(RENDERER.application(&data), Err(RenderError::Data(_))));
}
