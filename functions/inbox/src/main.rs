//! The `inbox` function on Lambda (or as a plain HTTP server elsewhere).

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_api(inbox::router(), &[shared::auth::PrincipalKind::Staff])
}
