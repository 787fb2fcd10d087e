//! The `notify` function on Lambda: the step of the notify queue, mailing as the environment
//! says (`shared::mail::from_env`).

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_step(|services, aws| {
        let public_base_url = shared::aws::required_env("PUBLIC_BASE_URL")?;
        Ok(notify::NotifyStep::new(services.clone(), shared::mail::from_env(aws)?, public_base_url))
    })
}
