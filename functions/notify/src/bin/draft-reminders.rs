//! The `draft-reminders` function on Lambda, run daily by an EventBridge schedule: the
//! reminders of drafts about to expire, mailed as the notify step mails.

use std::sync::Arc;

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_scheduled(
        |services, aws| {
            let public_base_url = shared::aws::required_env("PUBLIC_BASE_URL")?;
            Ok(Arc::new(notify::DraftReminders::new(services, shared::mail::from_env(aws)?, public_base_url)))
        },
        |reminders| async move { Ok(reminders.run().await.map(drop)?) },
    )
}
