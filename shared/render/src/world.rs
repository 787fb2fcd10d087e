//! The smallest `World` typst needs: the templates, one data file and compiled-in fonts.

use std::sync::LazyLock;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// File ids are interned for the whole process (at most 2^16), so each path is interned once.
fn file_id(path: &str) -> FileId {
    let vpath = VirtualPath::new(path).expect("a valid virtual path");
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

static CERTIFICATE_ID: LazyLock<FileId> = LazyLock::new(|| file_id("/certificate.typ"));
static APPLICATION_ID: LazyLock<FileId> = LazyLock::new(|| file_id("/antrag.typ"));
static LETTER_ID: LazyLock<FileId> = LazyLock::new(|| file_id("/letter.typ"));
/// The certificate's page, imported by the certificate and the letter.
static CERTIFICATE_PAGE_ID: LazyLock<FileId> = LazyLock::new(|| file_id("/certificate-page.typ"));
static COMMON_ID: LazyLock<FileId> = LazyLock::new(|| file_id("/common.typ"));
static DATA_ID: LazyLock<FileId> = LazyLock::new(|| file_id("/data.json"));

#[derive(Clone, Copy)]
pub(crate) enum Template {
    Certificate,
    Application,
    Letter,
}

/// What every render shares: built once per `Renderer`.
pub(crate) struct Shared {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    certificate: Source,
    application: Source,
    letter: Source,
    certificate_page: Source,
    common: Source,
}

impl Shared {
    pub(crate) fn new() -> Shared {
        let fonts: Vec<Font> = [ttf_noto_sans::REGULAR, ttf_noto_sans::BOLD]
            .into_iter()
            .flat_map(|data| Font::iter(Bytes::new(data)))
            .collect();
        assert_eq!(fonts.len(), 2, "the compiled-in fonts parse");
        Shared {
            library: LazyHash::new(Library::default()),
            book: LazyHash::new(FontBook::from_fonts(&fonts)),
            fonts,
            certificate: Source::new(*CERTIFICATE_ID, include_str!("../templates/certificate.typ").into()),
            application: Source::new(*APPLICATION_ID, include_str!("../templates/antrag.typ").into()),
            letter: Source::new(*LETTER_ID, include_str!("../templates/letter.typ").into()),
            certificate_page: Source::new(
                *CERTIFICATE_PAGE_ID,
                include_str!("../templates/certificate-page.typ").into(),
            ),
            common: Source::new(*COMMON_ID, include_str!("../templates/common.typ").into()),
        }
    }
}

/// One render: the shared parts plus this document's data and date.
pub(crate) struct DocWorld<'a> {
    shared: &'a Shared,
    main: &'a Source,
    data: Bytes,
    today: Datetime,
}

impl<'a> DocWorld<'a> {
    pub(crate) fn new(shared: &'a Shared, template: Template, json: Vec<u8>, today: Datetime) -> Self {
        let main = match template {
            Template::Certificate => &shared.certificate,
            Template::Application => &shared.application,
            Template::Letter => &shared.letter,
        };
        DocWorld { shared, main, data: Bytes::new(json), today }
    }
}

impl World for DocWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.shared.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.shared.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else if id == self.shared.common.id() {
            Ok(self.shared.common.clone())
        } else if id == self.shared.certificate_page.id() {
            Ok(self.shared.certificate_page.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }

    /// Only the data file and the templates exist; any other path is refused, so nothing can be
    /// read from the disk.
    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == *DATA_ID { Ok(self.data.clone()) } else { self.source(id).map(Bytes::from_string) }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.shared.fonts.get(index).cloned()
    }

    /// The document's own date, so output never depends on the clock.
    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_templates_and_the_data_can_be_read() {
        let shared = Shared::new();
        let today = Datetime::from_ymd(2026, 11, 23).unwrap();
        let world = DocWorld::new(&shared, Template::Certificate, b"{}".to_vec(), today);
        assert_eq!(world.file(*DATA_ID).unwrap().as_slice(), b"{}");
        assert!(world.source(*CERTIFICATE_ID).is_ok());
        assert!(world.source(*COMMON_ID).is_ok());
        assert!(world.source(*CERTIFICATE_PAGE_ID).is_ok());
        // The other templates are not this world's main file.
        assert!(world.source(*APPLICATION_ID).is_err());
        assert!(world.source(*LETTER_ID).is_err());
        for path in ["/etc/passwd", "/data.json/../etc/passwd", "/antrag.typ", "/fonts/x.ttf"] {
            let id = file_id(path);
            if id != *DATA_ID {
                assert!(matches!(world.file(id), Err(FileError::AccessDenied)), "{path} was served");
            }
        }
    }
}
