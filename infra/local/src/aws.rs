//! `BACKEND=aws`: the runtime on DynamoDB, S3 and SQS through the AWS SDK. The SDK reads the
//! standard `AWS_*` variables (`AWS_ENDPOINT_URL` for an emulator), the resource names come from
//! the variables `template.yaml` gives the functions; `infra/emulator start` prints both. The
//! queue consumers poll SQS in place of Lambda's event source mapping, and download links are
//! presigned S3 URLs, so the runtime serves no `/documents`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use shared::aws::{AccessKey, Adapters, Resources};
use shared::ports::Clock;
use shared::services::Services;

use crate::{Backing, StartError};

pub async fn backing(clock: Arc<dyn Clock>) -> Result<Backing, StartError> {
    let resources = Resources::from_env().map_err(|e| StartError::Config(format!("BACKEND=aws: {e}")))?;
    let adapters = Adapters::connect(&resources, clock).await;
    tracing::info!(table = %resources.table, bucket = %resources.bucket, "using DynamoDB, S3 and SQS");
    Ok(Backing {
        store: adapters.store,
        documents: adapters.documents,
        queue: adapters.queue,
        audit_keys: adapters.audit_keys,
        max_receives: resources.max_receives,
        routes: Router::new(),
    })
}

/// The functions of template.yaml that the runtime runs, by logical id.
pub const FUNCTIONS: [&str; 18] = [
    "PrecheckFunction",
    "DraftsFunction",
    "SubmitFunction",
    "StatusFunction",
    "LoginFunction",
    "StaffLoginFunction",
    "VerifyFunction",
    "InboxFunction",
    "RegisterApiFunction",
    "TenantsFunction",
    "XFamilieFunction",
    "RegisterCheckFunction",
    "CertificateFunction",
    "NotifyFunction",
    "DraftRemindersFunction",
    "RetentionFunction",
    "RecoveryFunction",
    "SweepFunction",
];

/// `FUNCTION_IDENTITIES`: an access key per function (JSON by logical id, as `infra/emulator
/// identities` prints it). Each function then signs with its own identity, so an emulator that
/// enforces IAM holds every function to the policy template.yaml gives it.
#[derive(Debug, Clone)]
pub struct FunctionIdentities(BTreeMap<String, AccessKey>);

impl FunctionIdentities {
    pub fn parse(json: &str) -> Result<Self, StartError> {
        let keys: BTreeMap<String, AccessKey> = serde_json::from_str(json)
            .map_err(|e| StartError::Config(format!("FUNCTION_IDENTITIES is not a map of access keys: {e}")))?;
        if let Some(missing) = FUNCTIONS.iter().find(|function| !keys.contains_key(**function)) {
            return Err(StartError::Config(format!("FUNCTION_IDENTITIES has no key for {missing}")));
        }
        Ok(Self(keys))
    }

    /// The access key of `function` (a logical id of template.yaml).
    pub fn key(&self, function: &str) -> &AccessKey {
        &self.0[function]
    }

    /// The services of each function, on its own identity; clock, ids and verifier are `shared`'s.
    pub async fn services(&self, shared: &Services) -> Result<HashMap<&'static str, Services>, StartError> {
        let resources = Resources::from_env().map_err(|e| StartError::Config(format!("BACKEND=aws: {e}")))?;
        let mut services = HashMap::new();
        for function in FUNCTIONS {
            let adapters = Adapters::connect_as(&resources, shared.clock.clone(), &self.0[function]).await;
            let own = Services::new(
                adapters.store,
                adapters.documents,
                adapters.queue,
                shared.clock.clone(),
                shared.ids.clone(),
                shared.verifier.clone(),
            )
            .with_audit_keys(adapters.audit_keys);
            services.insert(function, own);
        }
        tracing::info!("each function signs with its own identity (FUNCTION_IDENTITIES)");
        Ok(services)
    }
}
