//! The `tenants` function on Lambda (or as a plain HTTP server elsewhere).

use std::sync::Arc;

use shared::aws::{SecretsManagerStore, required_env};
use shared::domain::office::ProviderAddresses;
use tenants::TenantSettings;

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_api_with(&[shared::auth::PrincipalKind::Staff], |verifier, aws| async move {
        // The client secrets of offices' providers, under the stack's prefix.
        let secrets = Arc::new(SecretsManagerStore::new(&aws, &required_env("SECRETS_PREFIX")?));
        let settings = TenantSettings { secrets, provider_addresses: ProviderAddresses::HttpsOnly };
        Ok((tenants::router(settings), verifier))
    })
}
