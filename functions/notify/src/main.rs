//! The `notify` function on Lambda: mails through the relay `SMTP_URL` from `MAIL_FROM`.

use std::sync::Arc;

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_step(|services| {
        let from = shared::aws::required_env("MAIL_FROM")?.parse().map_err(|e| format!("MAIL_FROM: {e}"))?;
        let mailer = shared::mail::Smtp::new(&shared::aws::required_env("SMTP_URL")?, from)?;
        let public_base_url = shared::aws::required_env("PUBLIC_BASE_URL")?;
        Ok(notify::NotifyStep::new(services.clone(), Arc::new(mailer), public_base_url))
    })
}
