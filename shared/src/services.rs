//! The adapters a function is wired to: one value that API handlers, page handlers and queue
//! steps take, built once at start (by the Lambda entrypoint, the local runtime or a test).

use std::sync::Arc;

use crate::audit_keys::AuditKeys;
use crate::auth::Verifier;
use crate::directory::DirectoryCache;
use crate::ports::{Clock, DocumentStore, Ids, Queue, StateStore};

/// The adapters a function is wired to.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn StateStore>,
    pub documents: Arc<dyn DocumentStore>,
    pub queue: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn Ids>,
    pub verifier: Arc<Verifier>,
    /// The offices and municipalities, cached (see [`crate::directory`]).
    pub directory: Arc<DirectoryCache>,
    /// The key of the audit trails, loaded when first needed.
    pub audit_keys: Arc<AuditKeys>,
}

impl Services {
    pub fn new(
        store: Arc<dyn StateStore>,
        documents: Arc<dyn DocumentStore>,
        queue: Arc<dyn Queue>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn Ids>,
        verifier: Arc<Verifier>,
    ) -> Services {
        let directory = Arc::new(DirectoryCache::new(store.clone(), documents.clone(), clock.clone()));
        let audit_keys = Arc::new(AuditKeys::none());
        Services { store, documents, queue, clock, ids, verifier, directory, audit_keys }
    }

    /// These services, appending to audit trails with the key from `keys`.
    pub fn with_audit_keys(self, audit_keys: Arc<AuditKeys>) -> Services {
        Services { audit_keys, ..self }
    }

    /// Who did what to a request, with the key its trail is signed with.
    pub async fn audit<'a>(
        &'a self,
        actor: &'a str,
        action: &'a str,
        at: time::OffsetDateTime,
    ) -> Result<crate::records::Audit<'a>, crate::ports::StoreError> {
        Ok(crate::records::Audit { key: self.audit_keys.key().await?, actor, action, at })
    }
}
