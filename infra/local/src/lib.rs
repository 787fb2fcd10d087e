//! The local runtime: every function in one process, on one port, on the embedded adapters
//! (SQLite on disk, the file system), with the queue consumers polling in-process and the
//! development identity provider. `cargo run` at the workspace root starts it.

pub mod dev_idp;
pub mod seed;
mod workers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use shared::auth::Verifier;
use shared::embedded::{Database, FsDocumentStore, QueueSettings, SqliteQueue, SqliteStateStore};
use shared::http::{self, Services};
use shared::ports::{BatchHandler, Clock, Ids, RandomIds, SystemClock};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use dev_idp::DevIdentityProvider;

/// Where the runtime keeps its data and which adapters it uses.
#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    pub data_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("data directory {0}: {1}")]
    DataDir(PathBuf, std::io::Error),
    #[error("database: {0}")]
    Database(#[from] shared::embedded::DatabaseError),
    #[error("development identity provider: {0}")]
    DevIdp(#[from] dev_idp::DevIdpError),
    #[error("seeding demo data: {0}")]
    Seed(#[from] shared::ports::StoreError),
    #[error("cannot listen on 127.0.0.1:{0}: {1}")]
    Listen(u16, std::io::Error),
}

impl Config {
    /// `PORT` (default 3000), `DATA_DIR` (default `.local-data`), `BACKEND` (`embedded`).
    pub fn from_env() -> Result<Config, StartError> {
        let port = match std::env::var("PORT") {
            Ok(raw) => {
                raw.parse().map_err(|_| StartError::Config(format!("PORT must be a port number, not {raw:?}")))?
            }
            Err(_) => 3000,
        };
        let data_dir = std::env::var_os("DATA_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".local-data"));
        match std::env::var("BACKEND").as_deref() {
            Err(_) | Ok("embedded") => {}
            Ok(other) => {
                return Err(StartError::Config(format!(
                    "BACKEND={other} is not available in this build; use BACKEND=embedded"
                )));
            }
        }
        Ok(Config { port, data_dir })
    }
}

/// A started runtime.
pub struct Runtime {
    pub address: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Runtime {
    /// Stops accepting requests, lets running work finish, and returns.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn health() -> StatusCode {
    StatusCode::OK
}

/// The queue functions, each polling its queue.
fn consumers(_services: &Services) -> Vec<Arc<dyn BatchHandler>> {
    vec![]
}

pub async fn start(config: Config) -> Result<Runtime, StartError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| StartError::DataDir(config.data_dir.clone(), e))?;
    let database = Database::open(&config.data_dir.join("state.sqlite3"))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ids: Arc<dyn Ids> = Arc::new(RandomIds);
    let idp = Arc::new(DevIdentityProvider::load_or_create(&config.data_dir)?);
    let services = Services {
        store: Arc::new(SqliteStateStore::new(database.clone(), clock.clone())),
        documents: Arc::new(FsDocumentStore::new(config.data_dir.join("documents"))),
        queue: Arc::new(SqliteQueue::new(database, clock.clone(), ids.clone(), QueueSettings::default())),
        clock,
        ids,
        verifier: Arc::new(Verifier::new(idp.trusted_issuers())),
    };
    let seeded = seed::seed(&*services.store).await?;
    if seeded > 0 {
        tracing::info!(offices = seeded, "demo offices seeded");
    }

    let app = Router::new()
        .route("/health", get(health))
        .merge(precheck::router())
        .merge(drafts::router())
        .merge(submit::router())
        .merge(status::router())
        .merge(dev_idp::router(idp))
        .fallback(http::not_found)
        .method_not_allowed_fallback(http::method_not_allowed)
        .with_state(services.clone());

    let listener =
        TcpListener::bind(("127.0.0.1", config.port)).await.map_err(|e| StartError::Listen(config.port, e))?;
    let address = listener.local_addr().map_err(|e| StartError::Listen(config.port, e))?;
    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut on_stop = stopped.clone();
    tasks.spawn(async move {
        let shutdown = async move {
            let _ = on_stop.wait_for(|stop| *stop).await;
        };
        if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::error!(%error, "HTTP server failed");
        }
    });
    for handler in consumers(&services) {
        tasks.spawn(workers::poll(services.queue.clone(), handler, stopped.clone()));
    }
    tasks.spawn(workers::purge_expired(services.store.clone(), stopped));
    Ok(Runtime { address, stop, tasks })
}
