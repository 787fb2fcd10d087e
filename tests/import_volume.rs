//! A register of many rows imported through the API as an office would send it: files of up
//! to 20 000 rows (the API takes 4 MiB), on the embedded store and on moto. `IMPORT_ROWS` sets
//! the number of rows (default 2 000, on moto 300: moto copies every table for each
//! transaction, so its time grows with the table); the figure in BENCHMARKS.md is
//! `IMPORT_ROWS=100000`.

use std::time::Instant;

use system_tests::{Runtime, emulator};

const HEADER: &str = "child_given_names,child_family_name,child_birth_date,child_birth_place,mother_given_names,mother_family_name,kind,parts\n";
const ROWS_PER_FILE: usize = 20_000;

fn rows(default: usize) -> usize {
    std::env::var("IMPORT_ROWS").ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}

/// Row `i`: a child of its own (a name of letters made of `i`, birth dates over 18 years).
fn row(i: usize) -> String {
    let date = time::macros::date!(2008 - 01 - 01) + time::Duration::days((i % 6570) as i64);
    format!("Mia,{},{date},Bremen,Eva,Muster,01,\n", letters(i))
}

/// `i` written with the letters a to z: names are letters only.
fn letters(mut i: usize) -> String {
    let mut name = String::from("Muster");
    loop {
        name.push((b'a' + (i % 26) as u8) as char);
        i /= 26;
        if i == 0 {
            return name;
        }
    }
}

/// Rows `from..to` as one CSV file, sent as an integrator would: again from the line the answer
/// names while the import runs out of time. Returns the rows accepted and found stored before,
/// and how many calls it took.
fn import(runtime: &Runtime, token: &str, from: usize, to: usize) -> (usize, usize, usize) {
    let body: String = std::iter::once(HEADER.to_owned()).chain((from..to).map(row)).collect();
    let headers = [("content-type", "text/csv")];
    let (mut accepted, mut duplicates, mut calls) = (0, 0, 0);
    let mut path = "/api/v1/registers/jugendamt-bremen/import".to_owned();
    loop {
        let response = runtime.send_raw("POST", &path, Some(token), &headers, &body);
        calls += 1;
        assert_eq!(response.status, 200, "{}", response.body);
        let count = |key: &str| response.body[key].as_array().map_or(0, Vec::len);
        assert_eq!(count("refused"), 0, "{}", response.body["refused"][0]);
        accepted += count("accepted");
        duplicates += count("duplicates");
        match response.body["continue_from_line"].as_u64() {
            Some(line) => path = format!("/api/v1/registers/jugendamt-bremen/import?from_line={line}"),
            None => return (accepted, duplicates, calls),
        }
    }
}

fn run(runtime: &Runtime, backend: &str, rows: usize) {
    let token = runtime.login("register-bremen");
    let started = Instant::now();
    let mut accepted = 0;
    for from in (0..rows).step_by(ROWS_PER_FILE) {
        accepted += import(runtime, &token, from, (from + ROWS_PER_FILE).min(rows)).0;
    }
    let took = started.elapsed().as_secs_f64();
    assert_eq!(accepted, rows);
    // The first file again, as after a lost answer: nothing stored twice.
    let (accepted, duplicates, _) = import(runtime, &token, 0, rows.min(ROWS_PER_FILE));
    assert_eq!((accepted, duplicates), (0, rows.min(ROWS_PER_FILE)));
    eprintln!("import ({backend}): {rows} rows in {took:.1} s, {:.0} rows/s", rows as f64 / took);
}

#[test]
fn a_large_register_is_imported_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    run(&Runtime::start(dir.path()), "embedded", rows(2_000));
}

/// An import that runs out of time (here at once) stores what it could, a transaction's worth
/// at least, and names the line to go on from; followed, every row is stored once.
#[test]
fn an_import_out_of_time_goes_on_from_the_line_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::start_with(dir.path(), &[("IMPORT_TIME_BUDGET_SECONDS", "0")]);
    let token = runtime.login("register-bremen");
    assert_eq!(import(&runtime, &token, 0, 250), (250, 0, 3), "100 rows a call");
    let refused = runtime.send_raw(
        "POST",
        "/api/v1/registers/jugendamt-bremen/import?from_line=0",
        Some(&token),
        &[("content-type", "text/csv")],
        HEADER,
    );
    assert_eq!(
        (refused.status, refused.body["error"]["fields"]["from_line"].is_string()),
        (422, true),
        "{}",
        refused.body
    );
}

#[test]
fn a_large_register_is_imported_on_dynamodb() {
    let env = emulator::fresh_resources(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut variables: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    variables.push(("BACKEND", "aws"));
    let runtime = Runtime::start_with(dir.path(), &variables);
    let admin = runtime.login("admin");
    let tenant = serde_json::json!({
        "id": "jugendamt-bremen", "name": "Jugendamt Bremen", "phone": "+49 421 000000",
        "email": "jugendamt-bremen@example.org",
        "address": {"street": "Am Amt", "house_number": "1", "postcode": "28195", "city": "Bremen"},
        "municipalities": [{"ags": "04011000", "name": "Bremen, Stadt"}], "connected": true, "auto_issue": true,
        "retention_days": 365
    });
    assert_eq!(runtime.send("POST", "/api/v1/tenants", Some(&admin), Some(&tenant)).status, 201);
    run(&runtime, "moto", rows(300));
}
