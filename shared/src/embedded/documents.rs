use std::io::Write as _;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use async_trait::async_trait;
use aws_lc_rs::hmac;
use time::Duration;

use crate::ports::{Clock, DocumentError, DocumentStore, UploadForm, UploadTerms, check_document_key};
use crate::upload_policy::{self, Refusal, Signer};

/// The bucket, access key and region the local store signs upload policies as.
const BUCKET: &str = "documents";
const ACCESS_KEY: &str = "local";
const REGION: &str = "local";

/// Documents as files under a root folder. Writes go to a temporary file that is synced and
/// renamed, so a crash never leaves half a document behind. Download links are URLs of the
/// local runtime (`/documents/<key>`), signed with a per-process key and valid for a short time;
/// browser uploads go to the runtime's `POST /documents`, which checks their policy as S3 does
/// ([`FsDocumentStore::receive_upload`]), signed with another per-process secret.
pub struct FsDocumentStore {
    root: PathBuf,
    link_key: hmac::Key,
    upload_secret: String,
    clock: Arc<dyn Clock>,
}

/// The query of a signed download link.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SignedLink {
    pub name: String,
    pub expires: i64,
    pub signature: String,
}

fn link_message(key: &str, name: &str, expires: i64) -> Vec<u8> {
    format!("{key}\n{name}\n{expires}").into_bytes()
}

impl FsDocumentStore {
    pub fn new(root: impl Into<PathBuf>, clock: Arc<dyn Clock>) -> Self {
        let link_key = hmac::Key::generate(hmac::HMAC_SHA256, &aws_lc_rs::rand::SystemRandom::new())
            .expect("the system's random source works");
        let mut secret = [0u8; 32];
        aws_lc_rs::rand::fill(&mut secret).expect("the system's random source works");
        Self { root: root.into(), link_key, upload_secret: hex::encode(secret), clock }
    }

    /// Stores the file of an upload form's post if its policy allows it, as S3 would; answers
    /// where the browser goes next (`None`: the policy names no page).
    pub async fn receive_upload(
        &self,
        fields: &[(String, String)],
        file: Vec<u8>,
    ) -> Result<Result<Option<String>, Refusal>, DocumentError> {
        let secret_of = |access_key: &str| (access_key == ACCESS_KEY).then(|| self.upload_secret.clone());
        let accepted = match upload_policy::check(BUCKET, fields, file.len() as u64, secret_of, self.clock.now()) {
            Ok(accepted) => accepted,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let etag = format!(
            "\"{}\"",
            hex::encode(&aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &file).as_ref()[..16])
        );
        self.put(&accepted.key, file, accepted.content_type.as_deref().unwrap_or_default()).await?;
        Ok(Ok(accepted.redirect.map(|to| upload_policy::redirect_after_upload(&to, BUCKET, &accepted.key, &etag))))
    }

    /// Whether a link was signed by this store and has not expired.
    pub fn link_is_valid(&self, key: &str, link: &SignedLink) -> bool {
        let Ok(signature) = hex::decode(&link.signature) else { return false };
        link.expires > self.clock.now().unix_timestamp()
            && hmac::verify(&self.link_key, &link_message(key, &link.name, link.expires), &signature).is_ok()
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, DocumentError> {
        check_document_key(key).map(|()| self.root.join(key))
    }
}

fn io(error: std::io::Error) -> DocumentError {
    DocumentError::Backend(error.to_string())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = path.parent().expect("document paths have a folder");
    std::fs::create_dir_all(folder)?;
    let temporary = folder.join(format!(".{}.partial", uuid::Uuid::new_v4()));
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    std::fs::File::open(folder)?.sync_all()
}

#[async_trait]
impl DocumentStore for FsDocumentStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<(), DocumentError> {
        let path = self.path_of(key)?;
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .expect("document write task")
            .map_err(io)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, DocumentError> {
        let path = self.path_of(key)?;
        match tokio::task::spawn_blocking(move || std::fs::read(path)).await.expect("document read task") {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn download_link(&self, key: &str, file_name: &str, valid_for: Duration) -> Result<String, DocumentError> {
        self.path_of(key)?;
        let expires = (self.clock.now() + valid_for).unix_timestamp();
        let signature = hex::encode(hmac::sign(&self.link_key, &link_message(key, file_name, expires)));
        let query = serde_urlencoded::to_string([
            ("name", file_name),
            ("expires", &expires.to_string()),
            ("signature", &signature),
        ])
        .expect("plain strings encode");
        Ok(format!("/documents/{key}?{query}"))
    }

    async fn delete(&self, key: &str) -> Result<(), DocumentError> {
        let path = self.path_of(key)?;
        match tokio::task::spawn_blocking(move || std::fs::remove_file(path)).await.expect("document delete task") {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
            _ => Ok(()),
        }
    }

    async fn upload_form(&self, terms: &UploadTerms, valid_for: Duration) -> Result<UploadForm, DocumentError> {
        check_document_key(&terms.key)?;
        let signer =
            Signer { access_key: ACCESS_KEY, secret: &self.upload_secret, session_token: None, region: REGION };
        let now = self.clock.now();
        let fields = upload_policy::sign(BUCKET, terms, &signer, now, now + valid_for);
        Ok(UploadForm { action: "/documents".into(), fields })
    }
}
