//! The `certificate` function on Lambda.

use std::sync::Arc;

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_step(|services, _| {
        let public_base_url = shared::aws::required_env("PUBLIC_BASE_URL")?;
        Ok(certificate::CertificateStep::new(services.clone(), Arc::new(render::Renderer::new()), public_base_url))
    })
}
