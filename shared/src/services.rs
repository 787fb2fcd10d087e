//! The adapters a function is wired to: one value that API handlers, page handlers and queue
//! steps take, built once at start (by the Lambda entrypoint, the local runtime or a test).

use std::sync::Arc;

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
        Services { store, documents, queue, clock, ids, verifier, directory }
    }
}
