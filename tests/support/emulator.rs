//! moto server through `infra/emulator`: tests that need AWS start it (or find it running, as
//! `scripts/test` leaves it for them) and fail, never skip, when it is not to be had.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use shared::ports::{Ids, RandomIds};

fn emulator(arguments: &[&str]) -> HashMap<String, String> {
    run(arguments, &[])
}

/// The emulator that enforces IAM: a server of its own, beside the permissive one.
fn enforcing(arguments: &[&str]) -> HashMap<String, String> {
    let state = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.emulator-iam");
    run(arguments, &[("EMULATOR_IAM", "1"), ("EMULATOR_STATE_DIR", state.to_str().expect("a UTF-8 path"))])
}

fn run(arguments: &[&str], env: &[(&str, &str)]) -> HashMap<String, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/emulator");
    let output = Command::new(&script)
        .args(arguments)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "`infra/emulator {}` failed: the AWS tests need moto server\n{}",
        arguments.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8 output")
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

/// The environment of the emulator's own resources (those of the stack `sorgeregister-local`),
/// as `BACKEND=aws cargo run` takes it.
pub fn start() -> HashMap<String, String> {
    emulator(&["start"])
}

/// A fresh copy of the template's resources, for one test; `options` as `infra/emulator create`
/// takes them. Returns its environment.
pub fn fresh_resources(options: &[&str]) -> HashMap<String, String> {
    start();
    emulator(&[&["create", stack_name().as_str()], options].concat())
}

/// Unique across test processes and runs (the server keeps its state between runs); short,
/// because the bucket name adds 40 characters and may have 63.
fn stack_name() -> String {
    format!("t{}", &RandomIds.new_id().replace('-', "")[..16])
}

/// A fresh copy of the resources on the emulator that enforces IAM, and an identity for each
/// function with the policy template.yaml gives it, less the `FUNCTION=ACTION`s in `without`.
/// Returns the environment with `FUNCTION_IDENTITIES` (the runtime's own key is the
/// administrator's, for what the platform does: polling queues, the development login).
pub fn fresh_resources_enforcing_iam(without: &[&str]) -> HashMap<String, String> {
    enforcing(&["start"]);
    let name = stack_name();
    let mut env = enforcing(&["create", name.as_str()]);
    let without: Vec<&str> = without.iter().flat_map(|item| ["--without", item]).collect();
    env.extend(enforcing(&[&["identities", name.as_str()], &without[..]].concat()));
    env
}

/// The SDK configuration for the emulator in `env`.
pub async fn sdk_config(env: &HashMap<String, String>) -> aws_config::SdkConfig {
    signing_as(env, &env["AWS_ACCESS_KEY_ID"], &env["AWS_SECRET_ACCESS_KEY"]).await
}

/// The SDK configuration for the emulator of `env`, signing as `function` (a logical id of
/// template.yaml) with its key from `FUNCTION_IDENTITIES`.
pub async fn sdk_config_of(env: &HashMap<String, String>, function: &str) -> aws_config::SdkConfig {
    let identities: HashMap<String, shared::aws::AccessKey> =
        serde_json::from_str(&env["FUNCTION_IDENTITIES"]).expect("an emulator enforcing IAM");
    let key = &identities[function];
    signing_as(env, &key.access_key_id, &key.secret_access_key).await
}

async fn signing_as(env: &HashMap<String, String>, key_id: &str, secret: &str) -> aws_config::SdkConfig {
    let credentials = aws_sdk_dynamodb::config::Credentials::new(key_id, secret, None, None, "emulator");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&env["AWS_ENDPOINT_URL"])
        .region(aws_config::Region::new(env["AWS_REGION"].clone()))
        .credentials_provider(credentials)
        .load()
        .await
}
