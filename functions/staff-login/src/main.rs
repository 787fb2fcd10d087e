//! The `staff-login` function on Lambda (or as a plain HTTP server elsewhere).

use std::sync::Arc;

use shared::aws::{SecretsManagerStore, required_env};
use shared::outbound::HttpClient;
use shared::ports::SystemClock;
use staff_login::StaffLogin;

fn main() -> Result<(), shared::lambda::Error> {
    // Its callers are staff with the sessions it signs itself.
    shared::lambda::run_api_with(&[], |verifier, aws| async move {
        let base = required_env("PUBLIC_BASE_URL")?;
        let secrets = Arc::new(SecretsManagerStore::new(&aws, &required_env("SECRETS_PREFIX")?));
        let login =
            Arc::new(StaffLogin::load(&base, secrets, HttpClient::https_only(), Arc::new(SystemClock), false).await?);
        let verifier = verifier.trusting(login.trusted_issuer());
        Ok((staff_login::router(login), verifier))
    })
}
