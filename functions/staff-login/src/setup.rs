//! Where the office sign-in's keys and helpers come from.

use std::sync::Arc;

use shared::auth::{PrincipalKind, STAFF_SESSION_AUDIENCE, SessionSigner, SigningKey, Verifier};
use shared::office_idp::OfficeIdentityProviders;
use shared::oidc::Discovery;
use shared::outbound::HttpClient;
use shared::ports::{Clock, SecretStore};

use crate::{SESSION_IDLE, SESSION_MAX, StaffLogin};

/// The secret holding the key that signs staff sessions.
const SESSION_KEY_SECRET: &str = "staff-session-signing-key";

#[derive(Debug, thiserror::Error)]
#[error("staff session key: {0}")]
pub struct SetupError(String);

impl StaffLogin {
    /// The sign-in for the service at `public_base_url`, its session key from `secrets` (made on
    /// first start), the providers reached with `client`. `personas`: local mode's development
    /// logins are offered beside the offices.
    pub async fn load(
        public_base_url: &str,
        secrets: Arc<dyn SecretStore>,
        client: HttpClient,
        clock: Arc<dyn Clock>,
        personas: bool,
    ) -> Result<StaffLogin, SetupError> {
        let pkcs8 = secrets
            .get_or_create(SESSION_KEY_SECRET, &|| {
                SigningKey::generate().map(|k| k.pkcs8().to_vec()).map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| SetupError(e.to_string()))?;
        let session_key = SigningKey::from_pkcs8(&pkcs8).map_err(|e| SetupError(e.to_string()))?;
        let base = public_base_url.trim_end_matches('/').to_owned();
        let issuer = shared::auth::staff_sessions(&base).issuer;
        let (audience, kind) = (STAFF_SESSION_AUDIENCE, PrincipalKind::Staff);
        let session = SessionSigner::new(session_key, issuer, audience, kind, SESSION_IDLE, SESSION_MAX);
        let discovery = Arc::new(Discovery::new(client, clock.clone()));
        let providers = OfficeIdentityProviders::new(Arc::new(client), clock).discovering(discovery.clone());
        Ok(StaffLogin {
            sessions: Verifier::new(vec![session.trusted()]),
            base,
            session,
            discovery,
            providers: Arc::new(providers),
            secrets,
            personas,
        })
    }
}
