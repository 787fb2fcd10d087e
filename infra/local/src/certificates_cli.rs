//! `sorgeregister certificates migrate`: moves the lookups of certificates issued before the
//! verification record was keyed by the code's hash (the code was the key, in clear) to their
//! verification records, office by office, in the store the runtime uses (`DATA_DIR`, or
//! `BACKEND=aws`). Safe to run again; a run cut off is continued by the next.

use std::process::ExitCode;

use shared::domain::request::Status;
use shared::records;

use crate::{Config, operator_services};

pub const USAGE: &str = "Aufruf: sorgeregister certificates migrate  (Prüfcodes älterer Bescheinigungen umstellen)";

pub async fn run(args: &[String]) -> ExitCode {
    match args {
        [command] if command == "migrate" => crate::report(migrate().await),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

async fn migrate() -> Result<String, String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let services = operator_services(&config).await.map_err(|e| e.to_string())?;
    let store = &*services.store;
    let (mut moved, mut checked) = (0, 0);
    for office in records::offices(store).await.map_err(|e| e.to_string())? {
        // Only issued requests have certificates; posted ones were issued first.
        for status in [Status::Issued, Status::Posted] {
            let requests =
                records::office_requests(store, &office.id, Some(status)).await.map_err(|e| e.to_string())?;
            for request in requests {
                checked += 1;
                if records::migrate_certificate_lookup(store, &request).await.map_err(|e| e.to_string())? {
                    moved += 1;
                }
            }
        }
    }
    Ok(format!("{checked} Bescheinigungen geprüft, {moved} umgestellt."))
}
