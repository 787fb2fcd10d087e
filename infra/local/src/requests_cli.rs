//! `sorgeregister requests retry <id>|--failed`: operators try failed requests again, one or all,
//! in the store the runtime uses (`DATA_DIR`, or `BACKEND=aws`). Each goes back to the step it
//! failed in and is handed on to it; a running runtime (or the Lambdas) does the rest.

use std::process::ExitCode;

use shared::steps::{RetryError, failed_requests, retry};

use crate::{Config, operator_services};

pub const USAGE: &str =
    "Aufruf: sorgeregister requests retry <Antrags-ID>|--failed  (fehlgeschlagene Anträge erneut bearbeiten)";

/// The audit trail's name for an operator at the command line.
const OPERATOR: &str = "operator:cli";

pub async fn run(args: &[String]) -> ExitCode {
    match args {
        [command, which] if command == "retry" => crate::report(retry_requests(which).await),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

async fn retry_requests(which: &str) -> Result<String, String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let services = operator_services(&config).await.map_err(|e| e.to_string())?;
    if which != "--failed" {
        return match retry(&services, which, OPERATOR).await {
            Ok(status) => Ok(format!("Antrag {which} wird erneut bearbeitet (Stand: {}).", status.as_str())),
            Err(RetryError::NotFound) => Err(format!("Antrag {which} gibt es nicht.")),
            Err(RetryError::NotFailed) => Err(format!("Antrag {which} ist nicht fehlgeschlagen.")),
            Err(error) => Err(error.to_string()),
        };
    }
    let failed = failed_requests(&services).await.map_err(|e| e.to_string())?;
    let (mut retried, mut passed_over) = (0, 0);
    for id in &failed {
        match retry(&services, id, OPERATOR).await {
            Ok(_) => retried += 1,
            // Retried or changed meanwhile (by the runtime, another operator).
            Err(RetryError::NotFailed | RetryError::Changed | RetryError::NotFound) => passed_over += 1,
            Err(error) => return Err(format!("{retried} Anträge erneut bearbeitet, dann: {error}")),
        }
    }
    Ok(format!("{} fehlgeschlagene Anträge, {retried} erneut bearbeitet, {passed_over} übergangen.", failed.len()))
}
