//! The `mail-feedback` function on Lambda, subscribed to the topic SES reports bounces and
//! complaints to.

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_notifications(|services, message| async move {
        Ok(mail_feedback::handle(&services, &message).await?)
    })
}
