//! Verifying a session token with the key set parsed once (as `VerifyingKeys` keeps it) against
//! parsing the JWK for every token (as before), in the same run.
//!
//! `cargo bench -p shared --bench token`

use std::time::{Duration, Instant};

use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::json;
use shared::auth::{PrincipalKind, SigningKey, TrustedIssuer, VerifyingKeys, verify_claims};
use time::OffsetDateTime;

const RUNS: usize = 5_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn measure(mut verify: impl FnMut()) -> Vec<Duration> {
    for _ in 0..200 {
        verify();
    }
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            verify();
            started.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn main() {
    let key = SigningKey::generate().expect("a key");
    let claims = json!({"sub": "staff-1", "office_id": "jugendamt-bremen", "roles": ["case_worker"]});
    let (token, _) = key.sign(
        claims,
        "https://sorgeregister.example/amt",
        "staff",
        OffsetDateTime::now_utc(),
        time::Duration::hours(1),
    );
    let trusted = TrustedIssuer {
        issuer: "https://sorgeregister.example/amt".into(),
        audience: "staff".into(),
        kind: PrincipalKind::Staff,
        keys: VerifyingKeys::from(key.jwks()),
    };
    let parsed_once = measure(|| {
        verify_claims(&token, &trusted).expect("verifies");
    });

    let jwks = key.jwks();
    let per_token = measure(|| {
        let header = decode_header(&token).expect("a header");
        let jwk = jwks.find(header.kid.as_deref().expect("a kid")).expect("the key");
        let decoding = DecodingKey::from_jwk(jwk).expect("parses");
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&["https://sorgeregister.example/amt"]);
        validation.set_audience(&["staff"]);
        decode::<serde_json::Value>(&token, &decoding, &validation).expect("verifies");
    });

    println!("token verification (ES256), {RUNS} runs each");
    println!("| | median | p95 | p99 |");
    println!("|---|---|---|---|");
    for (name, times) in [("key set parsed once", &parsed_once), ("JWK parsed per token", &per_token)] {
        println!(
            "| {name} | {:.1} µs | {:.1} µs | {:.1} µs |",
            percentile(times, 0.5).as_secs_f64() * 1e6,
            percentile(times, 0.95).as_secs_f64() * 1e6,
            percentile(times, 0.99).as_secs_f64() * 1e6
        );
    }
    let ratio = percentile(&per_token, 0.5).as_secs_f64() / percentile(&parsed_once, 0.5).as_secs_f64();
    println!("ratio of medians (per token / once): {ratio:.2}×");
}
