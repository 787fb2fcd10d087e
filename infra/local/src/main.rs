//! `cargo run`: starts the local runtime and prints its URL.
//! `cargo run -- tenant add|update <tenant.json>`: adds or changes an office (see `tenant_cli`).
//! `cargo run -- places import <GV100AD_….txt>`: replaces the directory of municipalities.
//! `cargo run -- openapi`: prints the OpenAPI document of `/api/v1` (`shared/openapi.json`).
//! `cargo run -- certificates migrate`: moves old certificate lookups to their verification
//! records (see `certificates_cli`).
//! `cargo run -- requests retry <id>|--failed`: tries failed requests again (see `requests_cli`).

use std::io::Write;
use std::process::ExitCode;

use local_runtime::{Config, certificates_cli, places_cli, requests_cli, start, tenant_cli};
use tracing_subscriber::EnvFilter;

const OPENAPI_USAGE: &str = "       sorgeregister openapi                     (das OpenAPI-Dokument von /api/v1)";

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        None => {}
        Some((command, rest)) if command == "tenant" => return tenant_cli::run(rest).await,
        Some((command, rest)) if command == "places" => return places_cli::run(rest).await,
        Some((command, rest)) if command == "certificates" => return certificates_cli::run(rest).await,
        Some((command, rest)) if command == "requests" => return requests_cli::run(rest).await,
        Some((command, [])) if command == "openapi" => {
            print!("{}", local_runtime::api_document());
            return ExitCode::SUCCESS;
        }
        Some(_) => {
            eprintln!(
                "Ohne Argumente startet sorgeregister den Dienst.\n{}\n{}\n{OPENAPI_USAGE}\n{}\n{}",
                tenant_cli::USAGE,
                places_cli::USAGE,
                certificates_cli::USAGE,
                requests_cli::USAGE
            );
            return ExitCode::from(2);
        }
    }
    let runtime = match Config::from_env() {
        Ok(config) => start(config).await,
        Err(error) => Err(error),
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("Sorgeregister online konnte nicht starten: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Whoever started us may have stopped reading; the service keeps running regardless.
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "Sorgeregister online läuft auf http://{}/", runtime.address);
    let _ = writeln!(stdout, "Anmelden mit Test-Personen: http://{}/anmelden", runtime.address);
    let _ = stdout.flush();
    wait_for_shutdown().await;
    runtime.stop().await;
    ExitCode::SUCCESS
}

async fn wait_for_shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
