//! The `register-api` function on Lambda (or as a plain HTTP server elsewhere).

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_api(register_api::router(), &[shared::auth::PrincipalKind::Staff])
}
