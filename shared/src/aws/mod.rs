//! The AWS adapters: DynamoDB for state, S3 for documents, SQS for queues, with the semantics of
//! the embedded adapters (the conformance suite runs against both, the AWS side on moto server).
//!
//! Resource names come from environment variables: on Lambda `template.yaml` sets them, locally
//! `infra/emulator start` prints them. The SDK itself reads the standard `AWS_*` variables, so
//! `AWS_ENDPOINT_URL` points everything at an emulator.

mod documents;
mod queue;
mod secrets;
mod store;

use std::collections::HashMap;
use std::sync::Arc;

pub use documents::S3DocumentStore;
pub use queue::SqsQueue;
pub use secrets::SecretsManagerStore;
pub use store::{DynamoStateStore, INDEX_NAME};

use crate::audit_keys::AuditKeys;
use crate::ports::{Clock, QueueName};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(String),
    #[error("environment variable {0} is invalid: {1}")]
    Invalid(String, String),
}

/// A required environment variable.
pub fn required_env(name: &str) -> Result<String, ConfigError> {
    required(&|name| std::env::var(name).ok(), name)
}

fn required(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<String, ConfigError> {
    lookup(name).filter(|value| !value.is_empty()).ok_or_else(|| ConfigError::Missing(name.into()))
}

/// The variable that holds the URL of `queue`, e.g. `SUBMITTED_QUEUE_URL`.
pub fn queue_url_variable(queue: QueueName) -> String {
    format!("{}_QUEUE_URL", queue.as_str().to_ascii_uppercase())
}

/// What the adapters work on.
#[derive(Debug, Clone)]
pub struct Resources {
    /// `STATE_TABLE`: the single table (`pk`/`sk`, index `by-index`, TTL on `expires_at`).
    pub table: String,
    /// `DOCUMENT_BUCKET`
    pub bucket: String,
    /// `<QUEUE>_QUEUE_URL` for each queue of the chain.
    pub queue_urls: HashMap<QueueName, String>,
    /// `MAX_RECEIVES`: the queues' `maxReceiveCount`, after which a message goes to the
    /// dead-letter queue (a step marks its request failed on the last delivery).
    pub max_receives: u32,
    /// `SECRETS_PREFIX`: the stage's part of the Secrets Manager names, e.g. `sorgeregister/prod/`.
    pub secrets_prefix: String,
}

impl Resources {
    pub fn from_env() -> Result<Resources, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// From variables looked up elsewhere than in the environment (tests).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Resources, ConfigError> {
        let queue_urls = QueueName::ALL
            .into_iter()
            .map(|queue| Ok((queue, required(lookup, &queue_url_variable(queue))?)))
            .collect::<Result<_, ConfigError>>()?;
        let max_receives = required(lookup, "MAX_RECEIVES")?;
        Ok(Resources {
            table: required(lookup, "STATE_TABLE")?,
            bucket: required(lookup, "DOCUMENT_BUCKET")?,
            secrets_prefix: required(lookup, "SECRETS_PREFIX")?,
            queue_urls,
            max_receives: max_receives
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ConfigError::Invalid("MAX_RECEIVES".into(), max_receives))?,
        })
    }
}

/// The access key of one IAM identity.
#[derive(Clone, serde::Deserialize)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

/// The SDK configuration of the environment (region, credentials, endpoint).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_from_env().await
}

/// The SDK configuration signing as the identity of `key` (region and endpoint still from the
/// environment).
pub async fn sdk_config_as(key: &AccessKey) -> aws_config::SdkConfig {
    let credentials =
        aws_sdk_dynamodb::config::Credentials::new(&key.access_key_id, &key.secret_access_key, None, None, "key");
    aws_config::defaults(aws_config::BehaviorVersion::latest()).credentials_provider(credentials).load().await
}

/// The three AWS adapters, on one SDK configuration.
pub struct Adapters {
    pub store: Arc<DynamoStateStore>,
    pub documents: Arc<S3DocumentStore>,
    pub queue: Arc<SqsQueue>,
    /// The audit key, from Secrets Manager.
    pub audit_keys: Arc<AuditKeys>,
}

impl Adapters {
    /// Loads the SDK configuration from the environment (region, credentials, endpoint).
    pub async fn connect(resources: &Resources, clock: Arc<dyn Clock>) -> Adapters {
        Self::with_config(&sdk_config().await, resources, clock)
    }

    /// As [`Self::connect`], signing as the identity of `key` (region and endpoint still from
    /// the environment).
    pub async fn connect_as(resources: &Resources, clock: Arc<dyn Clock>, key: &AccessKey) -> Adapters {
        Self::with_config(&sdk_config_as(key).await, resources, clock)
    }

    pub fn with_config(config: &aws_config::SdkConfig, resources: &Resources, clock: Arc<dyn Clock>) -> Adapters {
        // Emulators serve every bucket under one host; real S3 prefers virtual-hosted URLs.
        let path_style = config.endpoint_url().is_some();
        let s3 = aws_sdk_s3::config::Builder::from(config).force_path_style(path_style).build();
        Adapters {
            store: Arc::new(DynamoStateStore::new(aws_sdk_dynamodb::Client::new(config), &resources.table, clock)),
            documents: Arc::new(S3DocumentStore::new(aws_sdk_s3::Client::from_conf(s3), config, &resources.bucket)),
            queue: Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(config), resources.queue_urls.clone())),
            audit_keys: Arc::new(AuditKeys::from_secrets(Arc::new(SecretsManagerStore::new(
                config,
                &resources.secrets_prefix,
            )))),
        }
    }
}

/// An SDK error with its causes, for logs and error values (never contains item data).
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string()
}
