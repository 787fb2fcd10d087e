//! The local runtime: every function in one process, on one port, on the embedded adapters
//! (SQLite on disk, the file system), with the queue consumers polling in-process and the
//! development identity provider. `cargo run` at the workspace root starts it.

mod aws;
pub mod certificates_cli;
pub mod dev_idp;
mod documents;
mod faults;
mod lambda_limits;
pub mod places_cli;
pub mod requests_cli;
pub mod seed;
pub mod tenant_cli;
mod workers;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use certificate::CertificateStep;
use login::{BundIdConfig, BundIdLogin};
use notify::{DraftReminders, NotifyStep};
use register_check::RegisterCheckStep;
use render::Renderer;
use shared::audit_keys::AuditKeys;
use shared::auth::Verifier;
use shared::domain::office::ProviderAddresses;
use shared::embedded::{Database, FsDocumentStore, FsSecretStore, QueueSettings, SqliteQueue, SqliteStateStore};
use shared::mail::{Outbox, Ses, Smtp};
use shared::office_idp::OfficeIdentityProviders;
use shared::oidc::Discovery;
use shared::outbound::HttpClient;
use shared::ports::{
    BatchHandler, Clock, DocumentStore, Ids, Mailer, Queue, QueueName, RandomIds, StateStore, SystemClock,
};
use shared::services::Services;
use shared::steps::{StepHandler, SweepSettings};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use utoipa_axum::router::OpenApiRouter;
use xfamilie::XFamilieStep;

use dev_idp::DevIdentityProvider;
use staff_login::StaffLogin;
use tenants::TenantSettings;

/// How an operator's command ends: its message on stdout, or its refusal on stderr.
fn report(result: Result<String, String>) -> std::process::ExitCode {
    match result {
        Ok(message) => {
            println!("{message}");
            std::process::ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// A function of `/api/v1` by its name in `template.yaml`, with its documented operations.
pub type ApiFunction = (&'static str, fn() -> OpenApiRouter<Services>);

/// The functions that serve `/api/v1`: the OpenAPI document is made of these.
pub fn api_functions() -> [ApiFunction; 9] {
    [
        ("PrecheckFunction", precheck::api),
        ("DraftsFunction", drafts::api),
        ("SubmitFunction", submit::api),
        ("StatusFunction", status::api),
        ("VerifyFunction", verify::api),
        ("InboxFunction", inbox::api),
        ("RegisterApiFunction", register_api::api),
        ("TenantsFunction", tenants::api),
        ("RecoveryFunction", recovery::api),
    ]
}

/// The OpenAPI document of `/api/v1`, as `cargo run -- openapi` prints it and
/// `shared/openapi.json` publishes it.
pub fn api_document() -> String {
    let parts = api_functions().map(|(_, api)| api().into_openapi());
    shared::openapi::to_json(&shared::openapi::document(parts))
}

/// The sender of mails in local mode.
pub const DEFAULT_MAIL_FROM: &str = "Sorgeregister online <noreply@sorgeregister.localhost>";

/// Where the runtime keeps its data and which adapters it uses.
#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    pub data_dir: PathBuf,
    /// The address people reach the service at (for the QR code on certificates); by default
    /// the local address.
    pub public_base_url: Option<String>,
    /// How long a received message stays hidden before it is delivered again.
    pub visibility_timeout: time::Duration,
    /// Crash tests: die when handing a message to this queue.
    pub crash_on_send: Option<QueueName>,
    /// Chaos tests: calls that fail (`FAULT_RATE`), messages sent twice (`DELIVER_TWICE=on`).
    pub faults: Option<faults::Faults>,
    /// How long a request may wait for a step before the sweep hands it on again
    /// (`HANDON_DEADLINE_SECONDS`, default 60).
    pub sweep: SweepSettings,
    /// How often the sweep runs (`SWEEP_EVERY_SECONDS`, default 15): with the deadline, the
    /// longest a lost hand-on waits.
    pub sweep_every: std::time::Duration,
    pub backend: Backend,
    /// Seed the demo offices on start: only on the embedded backend, unless `DEMO_DATA=off`.
    pub demo_data: bool,
    /// With `BACKEND=aws`: each function on its own identity (`FUNCTION_IDENTITIES`).
    pub identities: Option<aws::FunctionIdentities>,
    /// The relay the mails to mothers go through (`SMTP_URL`); without, SES where
    /// `mail_configuration_set` is given, else `DATA_DIR/outbox/`.
    pub smtp_url: Option<String>,
    /// With `BACKEND=aws`: mails through SES with this configuration set
    /// (`MAIL_CONFIGURATION_SET`, which `infra/emulator start` prints).
    pub mail_configuration_set: Option<String>,
    /// Their sender (`MAIL_FROM`).
    pub mail_from: String,
}

/// The adapters the runtime uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite and files under the data directory.
    Embedded,
    /// DynamoDB, S3 and SQS (see `aws.rs`).
    Aws,
}

/// The state store, documents and queues the services run on, with what goes with them.
struct Backing {
    store: Arc<dyn StateStore>,
    documents: Arc<dyn DocumentStore>,
    queue: Arc<dyn Queue>,
    /// The audit trails' key: among the runtime's secrets, or in Secrets Manager on AWS.
    audit_keys: Arc<AuditKeys>,
    /// Deliveries after which a message goes to the dead-letter queue.
    max_receives: u32,
    /// Routes the backend adds (local download links).
    routes: Router<Services>,
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
    #[error("BundID login: {0}")]
    BundId(#[from] login::SetupError),
    #[error("office sign-in: {0}")]
    StaffLogin(#[from] staff_login::SetupError),
    #[error("seeding demo data: {0}")]
    Seed(#[from] shared::ports::StoreError),
    #[error("cannot listen on 127.0.0.1:{0}: {1}")]
    Listen(u16, std::io::Error),
}

impl Config {
    /// `PORT` (default 3000), `DATA_DIR` (default `.local-data`), `BACKEND` (`embedded` or `aws`).
    pub fn from_env() -> Result<Config, StartError> {
        let port = match std::env::var("PORT") {
            Ok(raw) => {
                raw.parse().map_err(|_| StartError::Config(format!("PORT must be a port number, not {raw:?}")))?
            }
            Err(_) => 3000,
        };
        let data_dir = std::env::var_os("DATA_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".local-data"));
        let backend = match std::env::var("BACKEND").as_deref() {
            Err(_) | Ok("embedded") => Backend::Embedded,
            Ok("aws") => Backend::Aws,
            Ok(other) => {
                return Err(StartError::Config(format!("BACKEND={other} is unknown; use embedded or aws")));
            }
        };
        let public_base_url = std::env::var("PUBLIC_BASE_URL").ok().filter(|url| !url.is_empty());
        let visibility_timeout =
            match std::env::var("QUEUE_VISIBILITY_SECONDS") {
                Ok(raw) => time::Duration::seconds(raw.parse().map_err(|_| {
                    StartError::Config(format!("QUEUE_VISIBILITY_SECONDS must be a number, not {raw:?}"))
                })?),
                Err(_) => QueueSettings::default().visibility_timeout,
            };
        let crash_on_send = match std::env::var("CRASH_ON_SEND") {
            Ok(name) => Some(
                QueueName::parse(&name)
                    .ok_or_else(|| StartError::Config(format!("CRASH_ON_SEND: no queue {name:?}")))?,
            ),
            Err(_) => None,
        };
        let rate = match std::env::var("FAULT_RATE") {
            Ok(raw) => raw.parse::<f64>().ok().filter(|rate| (0.0..1.0).contains(rate)).ok_or_else(|| {
                StartError::Config(format!("FAULT_RATE must be a share from 0 to below 1, not {raw:?}"))
            })?,
            Err(_) => 0.0,
        };
        let deliver_twice = match std::env::var("DELIVER_TWICE").as_deref() {
            Err(_) | Ok("off") => false,
            Ok("on") => true,
            Ok(other) => return Err(StartError::Config(format!("DELIVER_TWICE={other} is unknown; use on or off"))),
        };
        let faults = (rate > 0.0 || deliver_twice).then_some(faults::Faults { rate, deliver_twice });
        let sweep = SweepSettings::from_env(time::Duration::seconds(60)).map_err(StartError::Config)?;
        let sweep_every =
            match std::env::var("SWEEP_EVERY_SECONDS") {
                Ok(raw) => std::time::Duration::from_secs(raw.parse().ok().filter(|seconds| *seconds > 0).ok_or_else(
                    || StartError::Config(format!("SWEEP_EVERY_SECONDS must be a positive number, not {raw:?}")),
                )?),
                Err(_) => std::time::Duration::from_secs(15),
            };
        let demo_data = match std::env::var("DEMO_DATA").as_deref() {
            Err(_) | Ok("on") => backend == Backend::Embedded,
            Ok("off") => false,
            Ok(other) => return Err(StartError::Config(format!("DEMO_DATA={other} is unknown; use on or off"))),
        };
        let identities = match std::env::var("FUNCTION_IDENTITIES") {
            Ok(json) if backend == Backend::Aws => Some(aws::FunctionIdentities::parse(&json)?),
            Ok(_) => return Err(StartError::Config("FUNCTION_IDENTITIES needs BACKEND=aws".into())),
            Err(_) => None,
        };
        let smtp_url = std::env::var("SMTP_URL").ok().filter(|url| !url.is_empty());
        let mail_from = std::env::var("MAIL_FROM").unwrap_or_else(|_| DEFAULT_MAIL_FROM.to_owned());
        let mail_configuration_set = std::env::var("MAIL_CONFIGURATION_SET").ok().filter(|name| !name.is_empty());
        if mail_configuration_set.is_some() && backend != Backend::Aws {
            return Err(StartError::Config("MAIL_CONFIGURATION_SET (SES) needs BACKEND=aws".into()));
        }
        Ok(Config {
            port,
            data_dir,
            public_base_url,
            visibility_timeout,
            crash_on_send,
            faults,
            sweep,
            sweep_every,
            backend,
            demo_data,
            identities,
            smtp_url,
            mail_configuration_set,
            mail_from,
        })
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

/// The mailer of `function` (a logical id of template.yaml): SMTP where configured, else SES
/// on the function's own identity, else the outbox folder.
async fn mailer(config: &Config, function: &str) -> Result<Arc<dyn Mailer>, StartError> {
    let from = config.mail_from.parse().map_err(|e| StartError::Config(format!("MAIL_FROM: {e}")))?;
    Ok(match (&config.smtp_url, &config.mail_configuration_set) {
        (Some(url), _) => Arc::new(Smtp::new(url, from).map_err(StartError::Config)?),
        (None, Some(configuration_set)) => {
            let sdk = match &config.identities {
                Some(identities) => shared::aws::sdk_config_as(identities.key(function)).await,
                None => shared::aws::sdk_config().await,
            };
            Arc::new(Ses::new(&sdk, from, configuration_set))
        }
        (None, None) => Arc::new(Outbox::new(config.data_dir.join("outbox"), from)),
    })
}

/// The queue functions, each polling its queue.
fn consumers(
    functions: &Functions,
    public_base_url: &str,
    mailer: Arc<dyn Mailer>,
    max_receives: u32,
) -> Vec<Arc<dyn BatchHandler>> {
    let renderer = Arc::new(Renderer::new());
    let (xfamilie, register_check, certificate) =
        (functions.of("XFamilieFunction"), functions.of("RegisterCheckFunction"), functions.of("CertificateFunction"));
    let notify = functions.of("NotifyFunction");
    vec![
        Arc::new(StepHandler::new(XFamilieStep::new(xfamilie.clone(), renderer.clone()), &xfamilie, max_receives)),
        Arc::new(StepHandler::new(RegisterCheckStep::new(register_check.clone()), &register_check, max_receives)),
        Arc::new(StepHandler::new(
            CertificateStep::new(certificate.clone(), renderer, public_base_url),
            &certificate,
            max_receives,
        )),
        Arc::new(StepHandler::new(NotifyStep::new(notify.clone(), mailer, public_base_url), &notify, max_receives)),
    ]
}

/// The services each function runs on: the runtime's own, or with `FUNCTION_IDENTITIES` each
/// function's on its own identity.
struct Functions {
    shared: Services,
    own: HashMap<&'static str, Services>,
}

impl Functions {
    /// Each function's own services pass through `inject` (the faults of the crash tests).
    async fn new(
        shared: &Services,
        identities: Option<&aws::FunctionIdentities>,
        inject: impl Fn(&Services) -> Services,
    ) -> Result<Functions, StartError> {
        let own = match identities {
            Some(identities) => identities.services(shared).await?,
            None => HashMap::new(),
        };
        let own = own.into_iter().map(|(function, services)| (function, inject(&services))).collect();
        Ok(Functions { shared: shared.clone(), own })
    }

    /// The services of `function` (a logical id of template.yaml). A name that is not one would
    /// quietly run on the runtime's own identity and void the IAM test, so it is refused.
    fn of(&self, function: &str) -> Services {
        assert!(aws::FUNCTIONS.contains(&function), "{function} is not a function of template.yaml");
        self.own.get(function).unwrap_or(&self.shared).clone()
    }
}

/// The adapters `config` names, on its data directory.
async fn backing(config: &Config, clock: Arc<dyn Clock>, ids: Arc<dyn Ids>) -> Result<Backing, StartError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| StartError::DataDir(config.data_dir.clone(), e))?;
    Ok(match config.backend {
        Backend::Embedded => {
            let database = Database::open(&config.data_dir.join("state.sqlite3"))?;
            let documents = Arc::new(FsDocumentStore::new(config.data_dir.join("documents"), clock.clone()));
            let queue_settings =
                QueueSettings { visibility_timeout: config.visibility_timeout, ..QueueSettings::default() };
            Backing {
                store: Arc::new(SqliteStateStore::new(database.clone(), clock.clone())),
                documents: documents.clone(),
                queue: Arc::new(SqliteQueue::new(database, clock.clone(), ids.clone(), queue_settings)),
                audit_keys: Arc::new(AuditKeys::from_secrets(secrets(config))),
                max_receives: queue_settings.max_receives,
                routes: documents::router(documents),
            }
        }
        Backend::Aws => aws::backing(clock).await?,
    })
}

/// The services the runtime with `config` runs on, for the operators' commands
/// (`sorgeregister tenant add`, `places import`): the same store and documents, never demo data.
pub async fn operator_services(config: &Config) -> Result<Services, StartError> {
    let (clock, ids): (Arc<dyn Clock>, Arc<dyn Ids>) = (Arc::new(SystemClock), Arc::new(RandomIds));
    let backing = backing(config, clock.clone(), ids.clone()).await?;
    let services =
        Services::new(backing.store, backing.documents, backing.queue, clock, ids, Arc::new(Verifier::default()));
    Ok(services.with_audit_keys(backing.audit_keys))
}

async fn seed_demo_offices(services: &Services) -> Result<(), StartError> {
    let directory = services.directory.get().await?;
    let seeded = seed::seed(&*services.store, &directory).await?;
    services.directory.invalidate();
    if seeded > 0 {
        tracing::info!(offices = seeded, "demo offices seeded");
    }
    Ok(())
}

/// Local mode's offices may name providers on loopback http (a developer's own, the tests').
const PROVIDER_ADDRESSES: ProviderAddresses = ProviderAddresses::LoopbackHttpToo;

/// How often retention and the draft reminders run locally (hourly and daily on AWS).
const DAILY_JOBS_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Where the runtime keeps its secrets (keys, offices' client secrets): under the data directory.
fn secrets(config: &Config) -> Arc<FsSecretStore> {
    Arc::new(FsSecretStore::new(config.data_dir.join("secrets")))
}

/// How the tenants of the runtime with `config` are kept, for `TenantsFunction` and the
/// operators' `sorgeregister tenant` commands alike.
pub fn tenant_settings(config: &Config) -> TenantSettings {
    TenantSettings { secrets: secrets(config), provider_addresses: PROVIDER_ADDRESSES }
}

pub async fn start(config: Config) -> Result<Runtime, StartError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ids: Arc<dyn Ids> = Arc::new(RandomIds);
    let backing = backing(&config, clock.clone(), ids.clone()).await?;
    let idp = Arc::new(DevIdentityProvider::load_or_create(&config.data_dir)?);
    let listener =
        TcpListener::bind(("127.0.0.1", config.port)).await.map_err(|e| StartError::Listen(config.port, e))?;
    let address = listener.local_addr().map_err(|e| StartError::Listen(config.port, e))?;
    let public_base_url = config.public_base_url.clone().unwrap_or_else(|| format!("http://{address}"));
    // With `BUNDID_IDP_METADATA`, the real SAML login beside the personas (keys under the data
    // directory, made on first start).
    let bundid = match BundIdConfig::from_env(&public_base_url)? {
        Some(bundid) => Some(Arc::new(BundIdLogin::load(&bundid, &*secrets(&config)).await?)),
        None => None,
    };
    // The offices' sign-in at their own providers, beside the personas.
    let client = HttpClient::new(PROVIDER_ADDRESSES);
    let staff_login =
        Arc::new(StaffLogin::load(&public_base_url, secrets(&config), client, clock.clone(), true).await?);
    // The development identity provider, BundID and staff sessions, and the offices' own
    // providers as their tenants say.
    let discovery = Arc::new(Discovery::new(client, clock.clone()));
    let offices = OfficeIdentityProviders::new(Arc::new(client), clock.clone()).discovering(discovery);
    let mut verifier = Verifier::new(idp.trusted_issuers())
        .trusting(staff_login.trusted_issuer())
        .with_office_providers(Arc::new(offices));
    if let Some(bundid) = &bundid {
        verifier = verifier.trusting(bundid.trusted_issuer());
    }
    let services = Services::new(backing.store, backing.documents, backing.queue, clock, ids, Arc::new(verifier))
        .with_audit_keys(backing.audit_keys);
    if config.demo_data {
        seed_demo_offices(&services).await?;
    }
    let injected = |services: &Services| faults::inject(services, config.crash_on_send, config.faults);
    let services = injected(&services);
    let functions = Functions::new(&services, config.identities.as_ref(), injected).await?;
    let bundid_enabled = bundid.is_some();
    // The functions behind API Gateway, with Lambda's limits; the development login and the
    // local document links and uploads (S3's part) beside them.
    let lambdas = Router::new()
        .merge(precheck::router().with_state(functions.of("PrecheckFunction")))
        .merge(drafts::router().with_state(functions.of("DraftsFunction")))
        .merge(submit::router().with_state(functions.of("SubmitFunction")))
        .merge(status::router().with_state(functions.of("StatusFunction")))
        .merge(verify::router().with_state(functions.of("VerifyFunction")))
        .merge(inbox::router().with_state(functions.of("InboxFunction")))
        .merge(register_api::router().with_state(functions.of("RegisterApiFunction")))
        .merge(tenants::router(tenant_settings(&config)).with_state(functions.of("TenantsFunction")))
        .merge(recovery::router().with_state(functions.of("RecoveryFunction")))
        .merge(staff_login::router(staff_login).with_state(functions.of("StaffLoginFunction")))
        .merge(
            bundid
                .map(|bundid| login::router(bundid, false).with_state(functions.of("LoginFunction")))
                .unwrap_or_default(),
        )
        .layer(axum::middleware::from_fn(lambda_limits::enforce));
    let app = Router::new()
        .route("/health", get(health))
        .merge(lambdas)
        .merge(dev_idp::router(idp, bundid_enabled))
        .merge(backing.routes)
        .fallback(shared::web::fallback)
        .method_not_allowed_fallback(shared::web::method_not_allowed)
        .with_state(services.clone());
    let app = shared::http::contract_errors(app).layer(axum::middleware::from_fn(client_address));

    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut on_stop = stopped.clone();
    tasks.spawn(async move {
        let shutdown = async move {
            let _ = on_stop.wait_for(|stop| *stop).await;
        };
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::error!(%error, "HTTP server failed");
        }
    });
    // Queues are polled with the runtime's own identity: on AWS the event source mapping polls,
    // with the rights SAM grants for the function's SQS event.
    let notify_mailer = mailer(&config, "NotifyFunction").await?;
    for handler in consumers(&functions, &public_base_url, notify_mailer, backing.max_receives) {
        tasks.spawn(workers::poll(services.queue.clone(), handler, stopped.clone()));
    }
    let retained = functions.of("RetentionFunction");
    let retention_settings = retention::Settings::from_env().map_err(StartError::Config)?;
    tasks.spawn(workers::scheduled(
        "retention",
        DAILY_JOBS_EVERY,
        move || {
            let services = retained.clone();
            async move { retention::run(&services, &retention_settings).await }
        },
        stopped.clone(),
    ));
    let reminders = Arc::new(DraftReminders::new(
        functions.of("DraftRemindersFunction"),
        mailer(&config, "DraftRemindersFunction").await?,
        &public_base_url,
    ));
    tasks.spawn(workers::scheduled(
        "draft reminders",
        DAILY_JOBS_EVERY,
        move || {
            let reminders = reminders.clone();
            async move { reminders.run().await }
        },
        stopped.clone(),
    ));
    let swept = functions.of("SweepFunction");
    let sweep_settings = config.sweep;
    tasks.spawn(workers::scheduled(
        "sweep",
        config.sweep_every,
        move || {
            let services = swept.clone();
            async move {
                let report = shared::steps::sweep(&services, &sweep_settings).await?;
                if report != shared::steps::SweepReport::default() {
                    tracing::warn!(?report, "sweep found requests waiting past their deadline");
                }
                Ok::<_, shared::ports::StoreError>(())
            }
        },
        stopped,
    ));
    Ok(Runtime { address, stop, tasks })
}

/// The peer's address as the request's [`shared::http::ClientAddress`], as API Gateway's
/// `sourceIp` is on AWS.
async fn client_address(mut request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let peer = request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|info| info.0.ip());
    if let Some(address) = peer {
        request.extensions_mut().insert(shared::http::ClientAddress(address));
    }
    next.run(request).await
}
