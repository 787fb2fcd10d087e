//! `BACKEND=aws`: the runtime on DynamoDB, S3 and SQS through the AWS SDK. The SDK reads the
//! standard `AWS_*` variables (`AWS_ENDPOINT_URL` for an emulator), the resource names come from
//! the variables `template.yaml` gives the functions; `infra/emulator start` prints both. The
//! queue consumers poll SQS in place of Lambda's event source mapping, and download links are
//! presigned S3 URLs, so the runtime serves no `/documents`.

use std::sync::Arc;

use axum::Router;
use shared::aws::{Adapters, Resources};
use shared::ports::Clock;

use crate::{Backing, StartError};

pub async fn backing(clock: Arc<dyn Clock>) -> Result<Backing, StartError> {
    let resources = Resources::from_env().map_err(|e| StartError::Config(format!("BACKEND=aws: {e}")))?;
    let adapters = Adapters::connect(&resources, clock).await;
    tracing::info!(table = %resources.table, bucket = %resources.bucket, "using DynamoDB, S3 and SQS");
    Ok(Backing {
        store: adapters.store,
        documents: adapters.documents,
        queue: adapters.queue,
        max_receives: resources.max_receives,
        routes: Router::new(),
    })
}
