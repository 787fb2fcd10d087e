//! The `register` function on Lambda.

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_step(|services, _| Ok(register_check::RegisterCheckStep::new(services.clone())))
}
