//! The `drafts` function on Lambda (or as a plain HTTP server elsewhere).

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_api(drafts::router(), &[shared::auth::PrincipalKind::Citizen])
}
