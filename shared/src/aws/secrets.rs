//! Secrets in AWS Secrets Manager, named `{prefix}{name}` (the stack's prefix keeps stages apart).

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::primitives::Blob;

use super::describe;
use crate::ports::{MakeSecret, SecretError, SecretStore};

pub struct SecretsManagerStore {
    client: Client,
    prefix: String,
}

impl SecretsManagerStore {
    pub fn new(config: &aws_config::SdkConfig, prefix: &str) -> Self {
        Self { client: Client::new(config), prefix: prefix.to_owned() }
    }

    async fn read(&self, id: &str) -> Result<Option<Vec<u8>>, SecretError> {
        match self.client.get_secret_value().secret_id(id).send().await {
            Ok(output) => Ok(Some(
                output
                    .secret_binary()
                    .map(|blob| blob.as_ref().to_vec())
                    .or_else(|| output.secret_string().map(|s| s.as_bytes().to_vec()))
                    .unwrap_or_default(),
            )),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => Ok(None),
            Err(e) => Err(SecretError::Backend(describe(&e))),
        }
    }
}

#[async_trait]
impl SecretStore for SecretsManagerStore {
    async fn get_or_create(&self, name: &str, make: MakeSecret<'_>) -> Result<Vec<u8>, SecretError> {
        let id = format!("{}{name}", self.prefix);
        if let Some(value) = self.read(&id).await? {
            return Ok(value);
        }
        let value = make().map_err(|reason| SecretError::Create(id.clone(), reason))?;
        match self.client.create_secret().name(&id).secret_binary(Blob::new(value.clone())).send().await {
            Ok(_) => Ok(value),
            // Another instance was first: use what it stored.
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_exists_exception()) => {
                self.read(&id).await?.ok_or_else(|| SecretError::Backend(format!("{id} vanished after creation")))
            }
            Err(e) => Err(SecretError::Create(id, describe(&e))),
        }
    }

    async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, SecretError> {
        self.read(&format!("{}{name}", self.prefix)).await
    }

    async fn put(&self, name: &str, value: &[u8]) -> Result<(), SecretError> {
        let id = format!("{}{name}", self.prefix);
        let put = self.client.put_secret_value().secret_id(&id).secret_binary(Blob::new(value)).send().await;
        match put {
            Ok(_) => return Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {}
            Err(e) => return Err(SecretError::Backend(describe(&e))),
        }
        match self.client.create_secret().name(&id).secret_binary(Blob::new(value)).send().await {
            Ok(_) => Ok(()),
            // Created meanwhile by another call: this value is the later one.
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_exists_exception()) => {
                let again = self.client.put_secret_value().secret_id(&id).secret_binary(Blob::new(value)).send();
                again.await.map(|_| ()).map_err(|e| SecretError::Backend(describe(&e)))
            }
            Err(e) => Err(SecretError::Create(id, describe(&e))),
        }
    }
}
