//! The `retention` function on Lambda, run daily by an EventBridge schedule.

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_scheduled(
        |services, _| Ok(services),
        |services| async move { Ok(retention::run(&services).await.map(drop)?) },
    )
}
