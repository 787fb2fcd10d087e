//! The `xfamilie` function on Lambda.

use std::sync::Arc;

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_step(|services, _| {
        Ok(xfamilie::XFamilieStep::new(services.clone(), Arc::new(render::Renderer::new())))
    })
}
