use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use time::Duration;

use super::describe;
use crate::ports::{DocumentError, DocumentStore, check_document_key};

/// Documents in one S3 bucket under their keys, which begin with the office id (a per-office
/// prefix: lifecycle rules and access can be scoped per office). Every object is written with
/// server-side encryption; downloads are presigned GET URLs.
pub struct S3DocumentStore {
    client: Client,
    bucket: String,
}

fn backend(error: impl std::error::Error + 'static) -> DocumentError {
    DocumentError::Backend(describe(&error))
}

impl S3DocumentStore {
    pub fn new(client: Client, bucket: &str) -> Self {
        Self { client, bucket: bucket.into() }
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
}
