//! The adapters a function is wired to: one value that API handlers, page handlers and queue
//! steps take, built once at start (by the Lambda entrypoint, the local runtime or a test).

use std::sync::Arc;

use crate::auth::Verifier;
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
}
