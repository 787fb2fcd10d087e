//! Warm render time of one certificate page, in process, against the same document typeset by
//! the `typst` command line (crates.io `typst-cli`) in the same run.
//!
//! `cargo bench -p render --bench certificate` (the CLI peer runs when `typst` is on the PATH or
//! named by `TYPST_CLI`).

use std::process::Command;
use std::time::{Duration, Instant};

use render::{CertificateData, OfficeData, Renderer};

const WARM_UP: usize = 5;
const RUNS: usize = 50;
const CLI_RUNS: usize = 10;

fn data() -> CertificateData {
    CertificateData {
        child_given_names: "Mia Sophie".into(),
        child_family_name: "Beispiel".into(),
        child_birth_date: "14.03.2021".into(),
        child_birth_place: "Bremen".into(),
        mother_given_names: "Sophia".into(),
        mother_family_name: "Beispiel".into(),
        office: OfficeData {
            name: "Jugendamt Bremen".into(),
            street: "Musterstraße".into(),
            house_number: "1".into(),
            postcode: "28195".into(),
            city: "Bremen".into(),
            phone: "+49 421 000000-0".into(),
            email: "sorgeregister@jugendamt-bremen.example".into(),
            department: None,
            website: None,
        },
        issued_on: "23.11.2026".into(),
        reference: "0b8f2c1e-5d0a-4c9e-9a57-3f1d2e4b6a70".into(),
        verification_code: "7K3QW9XPM2RT4VHN8CJD".into(),
        verification_url: "https://sorgeregister.example/pruefen/7K3QW9XPM2RT4VHN8CJD".into(),
        partial_parts: vec![],
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let renderer = Renderer::new();
    let data = data();
    for _ in 0..WARM_UP {
        renderer.certificate(&data).expect("renders");
    }
    let in_process: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            renderer.certificate(&data).expect("renders");
            start.elapsed()
        })
        .collect();
    let ours = median(in_process);
    println!("certificate, in process (warm): median {:.2} ms over {RUNS} renders", ours.as_secs_f64() * 1e3);

    let cli = std::env::var("TYPST_CLI").unwrap_or_else(|_| "typst".into());
    if Command::new(&cli).arg("--version").output().is_err() {
        println!("typst CLI peer: not run ({cli} not found; `cargo install typst-cli --locked`)");
        return;
    }
    let project = tempfile::tempdir().expect("temporary directory");
    for (name, bytes) in renderer.certificate_project(&data).expect("project") {
        std::fs::write(project.path().join(name), bytes).expect("write project file");
    }
    let fonts = project.path().join("fonts");
    std::fs::create_dir(&fonts).expect("font folder");
    std::fs::write(fonts.join("NotoSans-Regular.ttf"), ttf_noto_sans::REGULAR).expect("font");
    std::fs::write(fonts.join("NotoSans-Bold.ttf"), ttf_noto_sans::BOLD).expect("font");
    let cli_runs: Vec<Duration> = (0..CLI_RUNS)
        .map(|_| {
            let start = Instant::now();
            let status = Command::new(&cli)
                .current_dir(project.path())
                .args(["compile", "--ignore-system-fonts", "--font-path", "fonts", "--pdf-standard", "a-2b"])
                .args(["certificate.typ", "out.pdf"])
                .status()
                .expect("typst runs");
            assert!(status.success(), "the typst CLI typesets the same project");
            start.elapsed()
        })
        .collect();
    let peer = median(cli_runs);
    println!(
        "certificate, typst CLI (process per document): median {:.2} ms over {CLI_RUNS} runs",
        peer.as_secs_f64() * 1e3
    );
    println!("ratio CLI / in process: {:.1}x", peer.as_secs_f64() / ours.as_secs_f64());
}
