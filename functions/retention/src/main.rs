//! The `retention` function on Lambda, run hourly by an EventBridge schedule.

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_scheduled(
        |services, _| Ok((services, retention::Settings::from_env()?)),
        |(services, settings)| async move { Ok(retention::run(&services, &settings).await.map(drop)?) },
    )
}
