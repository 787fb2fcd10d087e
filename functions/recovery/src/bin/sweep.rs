//! The `sweep` function on Lambda, run every minute by an EventBridge schedule: hands on again
//! what waited past its deadline, and reports it as metrics.

use shared::steps::{SweepSettings, sweep};

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_scheduled(
        |services, _| Ok((services, SweepSettings::from_env(recovery::DEADLINE_ON_AWS)?)),
        |(services, settings)| async move {
            let report = sweep(&services, &settings).await?;
            // A line of its own on stdout: CloudWatch reads it as metrics.
            println!("{}", recovery::metric_line(&report, services.clock.now()));
            Ok(())
        },
    )
}
