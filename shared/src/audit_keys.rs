//! The key of the audit trails' HMACs ([`crate::domain::audit`]), made once for the platform
//! and kept in the secret store; a function loads it when it first appends to a trail.

use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::domain::audit::AuditKey;
use crate::ports::{SecretStore, StoreError};

/// The secret's name (under the stage's prefix on AWS).
pub const AUDIT_KEY_SECRET: &str = "audit-chain-key";

/// Where a function gets the audit key from: the secret store, read once per instance.
pub struct AuditKeys {
    secrets: Option<Arc<dyn SecretStore>>,
    key: OnceCell<AuditKey>,
}

impl AuditKeys {
    /// The key kept in `secrets`, made there by the first function that needs it.
    pub fn from_secrets(secrets: Arc<dyn SecretStore>) -> AuditKeys {
        AuditKeys { secrets: Some(secrets), key: OnceCell::new() }
    }

    /// A function that never audits: appending fails rather than writing an unkeyed chain.
    pub fn none() -> AuditKeys {
        AuditKeys { secrets: None, key: OnceCell::new() }
    }

    /// A key given outright (tests).
    pub fn fixed(key: AuditKey) -> AuditKeys {
        AuditKeys { secrets: None, key: OnceCell::new_with(Some(key)) }
    }

    pub async fn key(&self) -> Result<&AuditKey, StoreError> {
        self.key
            .get_or_try_init(|| async {
                let secrets = self.secrets.as_ref().ok_or_else(|| {
                    StoreError::Backend("this function has no secret store for the audit key (SECRETS_PREFIX)".into())
                })?;
                let make = || {
                    let mut secret = vec![0u8; 32];
                    aws_lc_rs::rand::fill(&mut secret).map_err(|_| "no random source".to_owned())?;
                    Ok(secret)
                };
                let secret = secrets
                    .get_or_create(AUDIT_KEY_SECRET, &make)
                    .await
                    .map_err(|e| StoreError::Backend(format!("audit key: {e}")))?;
                Ok(AuditKey::new(&secret))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::AuditEntry;
    use crate::embedded::FsSecretStore;
    use time::macros::datetime;

    fn entry(key: &AuditKey) -> AuditEntry {
        AuditEntry::after(key, None, datetime!(2026-12-03 10:00 UTC), "system", "submitted")
    }

    #[tokio::test]
    async fn every_instance_signs_with_the_key_the_first_one_made() {
        let folder = tempfile::tempdir().unwrap();
        let first = AuditKeys::from_secrets(Arc::new(FsSecretStore::new(folder.path().into())));
        let second = AuditKeys::from_secrets(Arc::new(FsSecretStore::new(folder.path().into())));
        let made = entry(first.key().await.unwrap());
        assert_eq!(entry(second.key().await.unwrap()), made);
        let elsewhere = tempfile::tempdir().unwrap();
        let other = AuditKeys::from_secrets(Arc::new(FsSecretStore::new(elsewhere.path().into())));
        assert_ne!(entry(other.key().await.unwrap()).hash, made.hash, "a random key, not a fixed one");
    }

    #[tokio::test]
    async fn a_function_without_a_secret_store_cannot_append() {
        assert!(matches!(AuditKeys::none().key().await, Err(StoreError::Backend(_))));
    }
}
