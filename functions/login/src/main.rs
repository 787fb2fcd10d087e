//! The `login` function on Lambda (or as a plain HTTP server elsewhere).

use std::sync::Arc;

use login::{BundIdConfig, BundIdLogin};
use shared::aws::{SecretsManagerStore, required_env};

fn main() -> Result<(), shared::lambda::Error> {
    // Its callers are citizens with the sessions it signs itself.
    shared::lambda::run_api_with(&[], |verifier, aws| async move {
        let base = required_env("PUBLIC_BASE_URL")?;
        let config = BundIdConfig::from_env(&base)?.ok_or("BUNDID_IDP_METADATA is not set")?;
        let secrets = SecretsManagerStore::new(&aws, &required_env("SECRETS_PREFIX")?);
        let login = Arc::new(BundIdLogin::load(&config, &secrets).await?);
        // Sessions are this function's own: it trusts its key directly, not over its own URL.
        let verifier = verifier.trusting(login.trusted_issuer());
        Ok((login::router(login, true), verifier))
    })
}
