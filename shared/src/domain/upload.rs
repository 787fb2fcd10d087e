//! Documents a mother uploads because her office requires them (the child's birth certificate,
//! a power of attorney). Files are recognised by their content, never by their name.

use serde::{Deserialize, Serialize};

use super::office::Office;

/// Largest file we take: a phone photo of a certificate (4–8 MB) fits.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;

/// Largest file the document store takes in from a browser: twice what we keep, so that a file
/// somewhat too large still comes back to the form with a message (beyond it the store refuses
/// the post itself).
pub const MAX_RECEIVED_BYTES: u64 = 2 * MAX_UPLOAD_BYTES as u64;

/// What an office may require, as `required_documents` names it. (The English names were taken
/// by the tenants API for a while; records that carry them still read.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// The child's birth certificate (`geburtsurkunde`).
    #[serde(rename = "geburtsurkunde", alias = "birth_certificate")]
    BirthCertificate,
    /// The mother's written power of attorney (`vollmacht`), asked of a representative only.
    #[serde(rename = "vollmacht", alias = "power_of_attorney")]
    PowerOfAttorney,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 2] = [DocumentKind::BirthCertificate, DocumentKind::PowerOfAttorney];

    pub fn code(self) -> &'static str {
        match self {
            DocumentKind::BirthCertificate => "geburtsurkunde",
            DocumentKind::PowerOfAttorney => "vollmacht",
        }
    }

    pub fn parse(code: &str) -> Option<DocumentKind> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }
}

/// The documents `office` requires of this applicant, in the office's order.
pub fn required_documents(office: &Office, representative: bool) -> Vec<DocumentKind> {
    office
        .required_documents
        .iter()
        .copied()
        .filter(|kind| representative || *kind != DocumentKind::PowerOfAttorney)
        .collect()
}

/// The file types we accept, told apart by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    Pdf,
    Jpeg,
    Png,
}

impl FileType {
    pub fn sniff(bytes: &[u8]) -> Option<FileType> {
        if bytes.starts_with(b"%PDF-") {
            Some(FileType::Pdf)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(FileType::Jpeg)
        } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(FileType::Png)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileType::Pdf => "pdf",
            FileType::Jpeg => "jpg",
            FileType::Png => "png",
        }
    }
}

/// Why a file is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadProblem {
    Missing,
    Empty,
    TooLarge,
    WrongType,
}

impl UploadProblem {
    pub fn code(self) -> &'static str {
        match self {
            UploadProblem::Missing => "missing",
            UploadProblem::Empty => "empty",
            UploadProblem::TooLarge => "too_large",
            UploadProblem::WrongType => "wrong_type",
        }
    }
}

/// Checks a received file: not empty, not too large, and a PDF, JPEG or PNG by its content.
pub fn check(bytes: &[u8]) -> Result<FileType, UploadProblem> {
    if bytes.is_empty() {
        return Err(UploadProblem::Empty);
    }
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(UploadProblem::TooLarge);
    }
    FileType::sniff(bytes).ok_or(UploadProblem::WrongType)
}

/// A stored upload, as the draft and then the request keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Upload {
    pub kind: DocumentKind,
    /// Key in the document store.
    pub key: String,
    pub file_type: FileType,
    /// The name the file had on her device, for her to recognise it (shown escaped, never used
    /// as a path).
    pub file_name: String,
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::office::tests::office;

    #[test]
    fn files_are_recognised_by_content_not_name() {
        assert_eq!(check(b"%PDF-1.7\n..."), Ok(FileType::Pdf));
        assert_eq!(check(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), Ok(FileType::Jpeg));
        assert_eq!(check(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0]), Ok(FileType::Png));
        assert_eq!(check(b"MZ\x90\x00 an .exe renamed to .pdf"), Err(UploadProblem::WrongType));
        assert_eq!(check(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), Err(UploadProblem::WrongType));
        assert_eq!(check(b""), Err(UploadProblem::Empty));
    }

    #[test]
    fn files_are_size_limited() {
        let mut big = b"%PDF-".to_vec();
        big.resize(MAX_UPLOAD_BYTES, b' ');
        assert_eq!(check(&big), Ok(FileType::Pdf));
        big.push(b' ');
        assert_eq!(check(&big), Err(UploadProblem::TooLarge));
    }

    #[test]
    fn a_power_of_attorney_is_asked_of_a_representative_only() {
        let mut cuxhaven = office("cuxhaven", &[crate::domain::office::tests::CUXHAVEN]);
        cuxhaven.required_documents = vec![DocumentKind::BirthCertificate, DocumentKind::PowerOfAttorney];
        assert_eq!(required_documents(&cuxhaven, false), [DocumentKind::BirthCertificate]);
        assert_eq!(
            required_documents(&cuxhaven, true),
            [DocumentKind::BirthCertificate, DocumentKind::PowerOfAttorney]
        );
    }
}
