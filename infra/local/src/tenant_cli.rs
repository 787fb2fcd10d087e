//! `sorgeregister tenant add|update <tenant.json>`: operators subscribe an office without the
//! API. The file is the body of `POST /api/v1/tenants`; it is checked and stored by the very code
//! behind the API (same field rules, same refusal of overlapping areas), in the store the runtime
//! uses (`DATA_DIR`, or `BACKEND=aws`).

use std::path::Path;
use std::process::ExitCode;

use shared::texts::{Lang, text};
use tenants::{Mode, TenantError, save_tenant};

use crate::{Config, operator_services};

pub const USAGE: &str = "Aufruf: sorgeregister tenant add <datei.json>     (neues Jugendamt)\n       \
                         sorgeregister tenant update <datei.json>  (Jugendamt anlegen oder ersetzen)";

/// Runs `tenant <args>`; what went wrong is printed to stderr, in German like the API's messages.
pub async fn run(args: &[String]) -> ExitCode {
    let (mode, file) = match args {
        [command, file] if command == "add" => (Mode::CreateOnly, file),
        [command, file] if command == "update" => (Mode::CreateOrReplace, file),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    crate::report(save(mode, Path::new(file)).await)
}

async fn save(mode: Mode, file: &Path) -> Result<String, String> {
    let name = file.display();
    let raw = std::fs::read(file).map_err(|e| format!("{name}: kann nicht gelesen werden: {e}"))?;
    let body: serde_json::Value =
        serde_json::from_slice(&raw).map_err(|e| format!("{name}: kein gültiges JSON: {e}"))?;
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let services = operator_services(&config).await.map_err(|e| e.to_string())?;
    let settings = crate::tenant_settings(&config);
    match save_tenant(&services, &settings, &body, mode).await {
        Ok(office) => Ok(format!("Jugendamt {} ({}) gespeichert.", office.id, office.name)),
        Err(error) => Err(format!("{name}: {}", explain(error))),
    }
}

fn explain(error: TenantError) -> String {
    match error {
        TenantError::Invalid(errors) => {
            let fields: Vec<String> = errors
                .iter()
                .map(|(field, problem)| {
                    format!("  {field}: {}", text(Lang::De, &format!("problem.{}", problem.code())))
                })
                .collect();
            format!("ungültige Angaben, nichts gespeichert:\n{}", fields.join("\n"))
        }
        TenantError::Overlap(overlaps) => {
            let lines: Vec<String> = overlaps
                .iter()
                .map(|overlap| {
                    let mut parts = Vec::new();
                    if !overlap.postcodes.is_empty() {
                        parts.push(format!("Postleitzahlen {}", overlap.postcodes.join(", ")));
                    }
                    if !overlap.municipalities.is_empty() {
                        let names: Vec<String> =
                            overlap.municipalities.iter().map(|m| format!("{} ({})", m.name, m.ags.as_str())).collect();
                        parts.push(format!("Gemeinden {}", names.join(", ")));
                    }
                    if overlap.born_abroad {
                        parts.push("Register für im Ausland geborene Kinder".to_owned());
                    }
                    format!("  {}: {}", overlap.office_id, parts.join("; "))
                })
                .collect();
            format!("das Gebiet gehört schon anderen Jugendämtern, nichts gespeichert:\n{}", lines.join("\n"))
        }
        TenantError::Exists => {
            "ein Jugendamt mit dieser id gibt es schon; ändern mit `sorgeregister tenant update`".to_owned()
        }
        TenantError::Store(error) => format!("Speichern fehlgeschlagen: {error}"),
        TenantError::Secret(error) => format!("Client-Secret nicht gespeichert: {error}"),
    }
}
