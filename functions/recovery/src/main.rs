//! The `recovery` function on Lambda: the operators' retry of failed requests.

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_api(recovery::router(), &[shared::auth::PrincipalKind::Staff])
}
