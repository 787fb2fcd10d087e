//! Files she uploads go from her browser straight into the document store, one form per file,
//! without JavaScript and without passing through the function (Lambda takes 6 MB a request):
//! the form is a presigned POST whose policy fixes where the file lands (an incoming key the
//! server derives from her account and the purpose), its content type and size, and the page
//! the store sends her back to. That page then takes the file out of the incoming area: checked
//! by content and size here, kept or refused with a message; the incoming copy is deleted once
//! nothing can be lost.

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::errors::{PageError, PageResult};
use super::form::FileInput;
use super::page::Page;
use crate::domain::upload::{self, FileType, MAX_RECEIVED_BYTES, UploadProblem};
use crate::ports::{DocumentStore, UploadTerms};

/// The content type every incoming file is stored with, whatever the browser claims: nothing
/// in the incoming area is ever served as what it says it is.
const INCOMING_CONTENT_TYPE: &str = "application/octet-stream";

/// Longest a form stays valid (also never beyond her session).
const FORM_LIFETIME: Duration = Duration::hours(1);

/// One file's upload form as the templates draw it: where it posts, its hidden fields, and the
/// file input (named `file`, the field S3 takes the file from).
#[derive(Debug, Serialize)]
pub struct UploadFormView {
    pub action: String,
    pub fields: Vec<(String, String)>,
    pub input: FileInput,
}

/// Where her upload for `purpose` (e.g. `antrag/geburtsurkunde`) lands until it is checked: a
/// key the server derives from her account, so that the page she returns to reads only her own
/// file, whatever the address says; the hash names nobody.
pub fn incoming_key(subject: &str, purpose: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, format!("{subject}\n{purpose}").as_bytes());
    format!("incoming/{}", hex::encode(&digest.as_ref()[..16]))
}

/// The form that uploads her file for `purpose`, and then sends her browser to `return_path`
/// on this site (which calls [`received`]). Valid until her session ends, at most an hour.
pub async fn upload_form(
    documents: &dyn DocumentStore,
    page: &Page,
    subject: &str,
    purpose: &str,
    return_path: &str,
    input: FileInput,
    (now, session_until): (OffsetDateTime, OffsetDateTime),
) -> Result<UploadFormView, PageError> {
    let terms = UploadTerms {
        key: incoming_key(subject, purpose),
        content_type: INCOMING_CONTENT_TYPE.into(),
        max_bytes: MAX_RECEIVED_BYTES,
        redirect: format!("{}{return_path}", page.origin()),
    };
    let valid_for = (session_until - now).clamp(Duration::ZERO, FORM_LIFETIME);
    let form = documents.upload_form(&terms, valid_for).await?;
    Ok(UploadFormView { action: form.action, fields: form.fields, input: FileInput { name: "file".into(), ..input } })
}

/// The file she uploaded for `purpose`: its type and bytes if it passes [`upload::check`], else
/// why not (`Missing`: nothing, or an empty file). A refused file is deleted at once; one that
/// passes stays until the caller has kept it and calls [`clear_received`], so that a crash in
/// between loses nothing (the bucket's lifecycle rule removes what is left after a day).
pub async fn received(
    documents: &dyn DocumentStore,
    subject: &str,
    purpose: &str,
) -> Result<Result<(FileType, Vec<u8>), UploadProblem>, PageError> {
    let key = incoming_key(subject, purpose);
    let Some(bytes) = documents.get(&key).await? else { return Ok(Err(UploadProblem::Missing)) };
    match upload::check(&bytes) {
        Ok(file_type) => Ok(Ok((file_type, bytes))),
        Err(problem) => {
            documents.delete(&key).await?;
            // A file input left empty posts an empty file: she chose none.
            Ok(Err(if problem == UploadProblem::Empty { UploadProblem::Missing } else { problem }))
        }
    }
}

/// Deletes her incoming file for `purpose` once it is kept elsewhere.
pub async fn clear_received(documents: &dyn DocumentStore, subject: &str, purpose: &str) -> Result<(), PageError> {
    Ok(documents.delete(&incoming_key(subject, purpose)).await?)
}

/// The origins other than this site that a page's forms post to: the document store's, for
/// the page's `Content-Security-Policy` (`form-action`).
#[derive(Debug, Clone, Default)]
pub struct FormTargets(pub Vec<String>);

impl FormTargets {
    /// The origins of `forms` that are not this site.
    pub fn of<'a>(forms: impl IntoIterator<Item = &'a UploadFormView>) -> FormTargets {
        let mut origins: Vec<String> = forms.into_iter().filter_map(|form| origin_of(&form.action)).collect();
        origins.dedup();
        FormTargets(origins)
    }
}

/// A rendered page whose `forms` post to the document store: its CSP is to allow that.
pub fn posting_to(page: PageResult, forms: &[UploadFormView]) -> PageResult {
    let mut response = page?;
    response.extensions_mut().insert(FormTargets::of(forms));
    Ok(response)
}

fn origin_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    Some(url.origin().ascii_serialization()).filter(|origin| origin != "null")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_incoming_key_is_hers_and_names_nobody() {
        let key = incoming_key("bundid-sub-123", "antrag/geburtsurkunde");
        assert_eq!(key, incoming_key("bundid-sub-123", "antrag/geburtsurkunde"), "the same for her");
        assert_ne!(key, incoming_key("bundid-sub-456", "antrag/geburtsurkunde"), "another's differs");
        assert_ne!(key, incoming_key("bundid-sub-123", "antrag/vollmacht"), "another purpose differs");
        assert!(!key.contains("bundid") && !key.contains("antrag"), "{key}");
        crate::ports::check_document_key(&key).expect("a plain key");
    }

    #[test]
    fn forms_to_the_store_name_its_origin() {
        let form = |action: &str| UploadFormView {
            action: action.into(),
            fields: vec![],
            input: FileInput {
                name: "file".into(),
                label: String::new(),
                hint: String::new(),
                id: String::new(),
                error: None,
            },
        };
        let forms =
            [form("https://b.s3.eu-central-1.amazonaws.com"), form("/documents"), form("http://127.0.0.1:5000/b")];
        assert_eq!(FormTargets::of(&forms).0, ["https://b.s3.eu-central-1.amazonaws.com", "http://127.0.0.1:5000"]);
    }
}
