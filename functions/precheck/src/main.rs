//! The `precheck` function on Lambda (or as a plain HTTP server elsewhere).

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_api(precheck::router(), &[])
}
