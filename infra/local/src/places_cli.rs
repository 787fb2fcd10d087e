//! `sorgeregister places import <GV100AD_….txt>`: operators replace the directory of
//! municipalities with Destatis' newer file (quarterly), without a code change. The file is read
//! in full first; nothing is stored unless it reads. The postcode assignment is kept, and what no
//! longer fits is reported, as are offices whose municipalities the new directory lacks.
//! `sorgeregister places show` names the directory in use.

use std::path::Path;
use std::process::ExitCode;

use shared::domain::places::gv100ad;

use crate::{Config, operator_services};

pub const USAGE: &str = "Aufruf: sorgeregister places import <GV100AD_….txt>   (Gemeindeverzeichnis ersetzen)\n       \
                         sorgeregister places show                    (Gemeindeverzeichnis in Gebrauch)";

pub async fn run(args: &[String]) -> ExitCode {
    let result = match args {
        [command, file] if command == "import" => import(Path::new(file)).await,
        [command] if command == "show" => show().await,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    crate::report(result)
}

async fn show() -> Result<String, String> {
    let services =
        operator_services(&Config::from_env().map_err(|e| e.to_string())?).await.map_err(|e| e.to_string())?;
    let directory = services.directory.get().await.map_err(|e| e.to_string())?;
    let places = directory.places();
    Ok(format!("Gemeindeverzeichnis Gebietsstand {}: {} Gemeinden.", places.stand(), places.len()))
}

async fn import(file: &Path) -> Result<String, String> {
    let name = file.display();
    let raw = std::fs::read(file).map_err(|e| format!("{name}: kann nicht gelesen werden: {e}"))?;
    let text = String::from_utf8(raw).map_err(|_| format!("{name}: ist nicht UTF-8 (GV100AD ist seit 2023 UTF-8)"))?;
    let parsed =
        gv100ad::parse(&text).map_err(|e| format!("{name}: kein GV100AD-Verzeichnis, nichts gespeichert: {e}"))?;
    let services =
        operator_services(&Config::from_env().map_err(|e| e.to_string())?).await.map_err(|e| e.to_string())?;
    let directory = services.directory.get().await.map_err(|e| e.to_string())?;
    let (places, report) = gv100ad::import(parsed, directory.places());
    services.directory.store_places(&places).await.map_err(|e| format!("Speichern fehlgeschlagen: {e}"))?;

    let mut lines = vec![format!(
        "Gemeindeverzeichnis Gebietsstand {} gespeichert: {} Gemeinden ({} neu, {} entfallen, {} umbenannt).",
        report.stand,
        report.municipalities,
        report.added.len(),
        report.removed.len(),
        report.renamed.len()
    )];
    for (ags, old, new) in &report.renamed {
        lines.push(format!("  umbenannt {}: {old} → {new}", ags.as_str()));
    }
    for (postcode, ags) in &report.postcodes_dropped {
        lines.push(format!("  Postleitzahl {postcode} zeigte auf die entfallene Gemeinde {}", ags.as_str()));
    }
    for (postcode, ags) in &report.postcodes_added {
        lines.push(format!("  Postleitzahl {postcode} (Verwaltungssitz) für die neue Gemeinde {}", ags.as_str()));
    }
    for office in directory.offices() {
        for municipality in office.municipalities.iter().filter(|m| places.get(&m.ags).is_none()) {
            lines.push(format!(
                "  Achtung: Jugendamt {} nennt {} ({}), die es nicht mehr gibt; bitte mit `sorgeregister tenant update` anpassen.",
                office.id,
                municipality.name,
                municipality.ags.as_str()
            ));
        }
    }
    Ok(lines.join("\n"))
}
