use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use time::Duration;

use super::describe;
use crate::ports::{DocumentError, DocumentStore, UploadForm, UploadTerms, check_document_key};
use crate::upload_policy::{self, Signer};

/// Documents in one S3 bucket under their keys, which begin with the office id (a per-office
/// prefix: lifecycle rules and access can be scoped per office). Every object is written with
/// server-side encryption; downloads are presigned GET URLs, browser uploads presigned POSTs
/// signed with the function's own credentials.
pub struct S3DocumentStore {
    client: Client,
    bucket: String,
    credentials: Option<SharedCredentialsProvider>,
    region: String,
    /// Where browsers post uploads: the bucket's endpoint.
    upload_url: String,
}

fn backend(error: impl std::error::Error + 'static) -> DocumentError {
    DocumentError::Backend(describe(&error))
}

impl S3DocumentStore {
    pub fn new(client: Client, config: &aws_config::SdkConfig, bucket: &str) -> Self {
        let region = config.region().map(ToString::to_string).unwrap_or_default();
        // An emulator serves every bucket under its one host (path style), S3 under the bucket's.
        let upload_url = match config.endpoint_url() {
            Some(endpoint) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
            None => format!("https://{bucket}.s3.{region}.amazonaws.com"),
        };
        Self { client, bucket: bucket.into(), credentials: config.credentials_provider(), region, upload_url }
    }
}

#[async_trait]
impl DocumentStore for S3DocumentStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), DocumentError> {
        check_document_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, DocumentError> {
        check_document_key(key)?;
        let object = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(object) => object,
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => return Ok(None),
            Err(e) => return Err(backend(e)),
        };
        let bytes = object.body.collect().await.map_err(backend)?;
        Ok(Some(bytes.to_vec()))
    }

    async fn delete(&self, key: &str) -> Result<(), DocumentError> {
        check_document_key(key)?;
        self.client.delete_object().bucket(&self.bucket).key(key).send().await.map_err(backend)?;
        Ok(())
    }

    /// A presigned GET that makes the browser save the file under `file_name`.
    async fn download_link(&self, key: &str, file_name: &str, valid_for: Duration) -> Result<String, DocumentError> {
        check_document_key(key)?;
        let valid_for =
            std::time::Duration::try_from(valid_for).map_err(|_| DocumentError::Backend("negative lifetime".into()))?;
        let presigning = PresigningConfig::expires_in(valid_for).map_err(backend)?;
        // Only harmless characters go into the header S3 will send back.
        let file_name: String =
            file_name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(format!("attachment; filename=\"{file_name}\""))
            .response_cache_control("private, no-store")
            .presigned(presigning)
            .await
            .map_err(backend)?;
        Ok(request.uri().to_owned())
    }

    /// A presigned POST, signed now with the function's current credentials (for a Lambda
    /// function temporary ones, whose session token becomes a field of the form).
    async fn upload_form(&self, terms: &UploadTerms, valid_for: Duration) -> Result<UploadForm, DocumentError> {
        check_document_key(&terms.key)?;
        let provider = self.credentials.as_ref().ok_or_else(|| DocumentError::Backend("no credentials".into()))?;
        let credentials = provider.provide_credentials().await.map_err(backend)?;
        let signer = Signer {
            access_key: credentials.access_key_id(),
            secret: credentials.secret_access_key(),
            session_token: credentials.session_token(),
            region: &self.region,
        };
        // S3 judges the policy by its own clock, so it is signed by the real one.
        let now = time::OffsetDateTime::now_utc();
        let fields = upload_policy::sign(&self.bucket, terms, &signer, now, now + valid_for);
        Ok(UploadForm { action: self.upload_url.clone(), fields })
    }
}
