//! Staff tokens from an office's own identity provider (OpenID Connect): an office (tenant) may
//! configure `staff_identity_provider {issuer, jwks_url, audience}`. A token of that issuer and
//! audience, checked like every other token ([`crate::auth::verify_claims`]), makes its holder
//! staff of exactly that office: the office comes from the tenant configuration, and a token
//! claiming another office is refused. Operators' rights never come from an office's provider.
//!
//! The offices' key sets are fetched over https only and cached ([`crate::jwks`]): a rotated
//! key counts at once, a changed configuration within the keys' lifetime; the configuration
//! itself is read for every token, so a changed issuer counts at once.

use std::sync::Arc;

use crate::auth::{AuthError, PrincipalKind, StaffClaims, StaffRole, TrustedIssuer, unverified_issuer, verify_claims};
use crate::domain::office::Directory;
use crate::jwks::{JwksCache, JwksSource};
use crate::ports::Clock;

/// The offices' identity providers with their keys, cached per JWKS URL.
pub struct OfficeIdentityProviders {
    keys: JwksCache,
}

impl std::fmt::Debug for OfficeIdentityProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfficeIdentityProviders").finish_non_exhaustive()
    }
}

impl OfficeIdentityProviders {
    pub fn new(source: Arc<dyn JwksSource>, clock: Arc<dyn Clock>) -> Self {
        Self { keys: JwksCache::new(source, clock) }
    }

    /// The staff member of the office whose provider issued `token`, with that office's id.
    pub async fn verify(&self, token: &str, directory: &Directory) -> Result<StaffClaims, AuthError> {
        let issuer = unverified_issuer(token).ok_or(AuthError::Malformed)?;
        let mut verified = Vec::new();
        let mut last_error = AuthError::UnknownIssuer;
        for (office, provider) in directory.staff_identity_providers(&issuer) {
            let checked = self.keys.verify(&provider.jwks_url, |keys| {
                let trusted = TrustedIssuer {
                    issuer: provider.issuer.clone(),
                    audience: provider.audience.clone(),
                    kind: PrincipalKind::Staff,
                    keys: keys.clone(),
                };
                verify_claims(token, &trusted)
            });
            match checked.await {
                Ok(claims) => verified.push((office.id.clone(), claims)),
                Err(error) => last_error = error,
            }
        }
        match verified.as_slice() {
            [] => Err(last_error),
            [(office_id, claims)] => staff_of(office_id, claims),
            // Two offices trusting the same issuer and audience: nothing says whose staff this is.
            _ => Err(AuthError::Invalid("the issuer and audience belong to more than one office".into())),
        }
    }
}

/// The claims as staff of `office_id`: an office's provider speaks for case workers and the
/// office's machine clients (no role claim: a case worker), never for operators or other offices.
fn staff_of(office_id: &str, claims: &serde_json::Value) -> Result<StaffClaims, AuthError> {
    let invalid = |reason: &str| Err(AuthError::Invalid(reason.to_owned()));
    match claims.get("office_id") {
        None | Some(serde_json::Value::Null) => {}
        Some(claimed) if claimed.as_str() == Some(office_id) => {}
        Some(_) => return invalid("the token claims another office than its issuer's"),
    }
    let role = match claims.get("role").and_then(serde_json::Value::as_str) {
        None => StaffRole::Caseworker,
        Some("caseworker") => StaffRole::Caseworker,
        Some("machine") => StaffRole::Machine,
        Some(_) => return invalid("an office's provider grants no such role"),
    };
    let sub = claims.get("sub").and_then(serde_json::Value::as_str).ok_or(AuthError::Invalid("no sub".into()))?;
    Ok(StaffClaims { sub: sub.to_owned(), office_id: Some(office_id.to_owned()), role })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use jsonwebtoken::jwk::JwkSet;
    use serde_json::json;
    use time::{Duration, OffsetDateTime};

    use super::*;
    use crate::auth::{Principal, SigningKey, Verifier};
    use crate::domain::office::StaffIdentityProvider;
    use crate::domain::office::tests::{BREMEN, CUXHAVEN, PLACES, office};
    use crate::jwks::{HttpsJwks, JwksError, KEYS_LIFETIME};

    /// Verden (Aller), Stadt.
    const VERDEN: &str = "03361012";
    use crate::ports::ManualClock;

    const VERDEN_IDP: &str = "https://login.landkreis-verden.example";
    const VERDEN_JWKS: &str = "https://login.landkreis-verden.example/jwks";
    const CUXHAVEN_IDP: &str = "https://sso.cuxhaven.example";
    const CUXHAVEN_JWKS: &str = "https://sso.cuxhaven.example/keys";

    /// Key sets by URL, counting the fetches.
    struct FixedJwks {
        sets: HashMap<String, JwkSet>,
        fetches: AtomicUsize,
    }

    #[async_trait]
    impl JwksSource for FixedJwks {
        async fn fetch(&self, url: &str) -> Result<JwkSet, JwksError> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            self.sets.get(url).cloned().ok_or(JwksError { url: url.into(), reason: "HTTP 404".into() })
        }
    }

    struct Setup {
        verden_key: SigningKey,
        cuxhaven_key: SigningKey,
        source: Arc<FixedJwks>,
        clock: Arc<ManualClock>,
        providers: OfficeIdentityProviders,
    }

    fn setup() -> Setup {
        let (verden_key, cuxhaven_key) = (SigningKey::generate().unwrap(), SigningKey::generate().unwrap());
        let sets = HashMap::from([
            (VERDEN_JWKS.to_owned(), verden_key.jwks()),
            (CUXHAVEN_JWKS.to_owned(), cuxhaven_key.jwks()),
        ]);
        let source = Arc::new(FixedJwks { sets, fetches: AtomicUsize::new(0) });
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let providers = OfficeIdentityProviders::new(source.clone(), clock.clone());
        Setup { verden_key, cuxhaven_key, source, clock, providers }
    }

    fn with_provider(id: &str, ags: &str, issuer: &str, jwks_url: &str) -> crate::domain::office::Office {
        let mut office = office(id, &[ags]);
        office.staff_identity_provider = Some(StaffIdentityProvider {
            issuer: issuer.into(),
            jwks_url: jwks_url.into(),
            audience: format!("sorgeregister-{id}"),
        });
        office
    }

    fn directory() -> Directory {
        Directory::new(
            vec![
                with_provider("verden", VERDEN, VERDEN_IDP, VERDEN_JWKS),
                with_provider("cuxhaven", CUXHAVEN, CUXHAVEN_IDP, CUXHAVEN_JWKS),
                office("bremen", &[BREMEN]),
            ],
            PLACES.clone(),
        )
    }

    fn token(key: &SigningKey, issuer: &str, audience: &str, claims: serde_json::Value) -> String {
        key.sign(claims, issuer, audience, OffsetDateTime::now_utc(), Duration::hours(1)).0
    }

    fn verden_token(setup: &Setup, claims: serde_json::Value) -> String {
        token(&setup.verden_key, VERDEN_IDP, "sorgeregister-verden", claims)
    }

    #[tokio::test]
    async fn a_token_of_an_offices_provider_makes_staff_of_that_office() {
        let setup = setup();
        let staff = setup.providers.verify(&verden_token(&setup, json!({"sub": "k.meyer"})), &directory()).await;
        assert_eq!(
            staff.unwrap(),
            StaffClaims { sub: "k.meyer".into(), office_id: Some("verden".into()), role: StaffRole::Caseworker }
        );
        let machine = verden_token(&setup, json!({"sub": "fachverfahren", "office_id": "verden", "role": "machine"}));
        assert_eq!(setup.providers.verify(&machine, &directory()).await.unwrap().role, StaffRole::Machine);
    }

    #[tokio::test]
    async fn a_token_claiming_another_office_is_refused() {
        let setup = setup();
        let claiming = verden_token(&setup, json!({"sub": "k.meyer", "office_id": "bremen"}));
        assert!(matches!(setup.providers.verify(&claiming, &directory()).await, Err(AuthError::Invalid(_))));
    }

    #[tokio::test]
    async fn an_offices_provider_cannot_make_operators() {
        let setup = setup();
        let admin = verden_token(&setup, json!({"sub": "k.meyer", "role": "admin"}));
        assert!(matches!(setup.providers.verify(&admin, &directory()).await, Err(AuthError::Invalid(_))));
    }

    #[tokio::test]
    async fn a_wrong_audience_or_a_foreign_key_is_refused() {
        let setup = setup();
        let other_audience = token(&setup.verden_key, VERDEN_IDP, "sorgeregister-cuxhaven", json!({"sub": "k"}));
        assert!(setup.providers.verify(&other_audience, &directory()).await.is_err());
        // Cuxhaven's key signing in Verden's name: Verden's key set does not know it.
        let forged = token(&setup.cuxhaven_key, VERDEN_IDP, "sorgeregister-verden", json!({"sub": "k"}));
        assert_eq!(setup.providers.verify(&forged, &directory()).await, Err(AuthError::UnknownKey));
        let expired = setup.verden_key.sign(
            json!({"sub": "k"}),
            VERDEN_IDP,
            "sorgeregister-verden",
            OffsetDateTime::now_utc() - Duration::hours(2),
            Duration::hours(1),
        );
        assert!(setup.providers.verify(&expired.0, &directory()).await.is_err());
    }

    #[tokio::test]
    async fn an_unknown_issuer_is_refused() {
        let setup = setup();
        let stranger =
            token(&setup.verden_key, "https://idp.stranger.example", "sorgeregister-verden", json!({"sub": "k"}));
        assert_eq!(setup.providers.verify(&stranger, &directory()).await, Err(AuthError::UnknownIssuer));
        assert_eq!(setup.source.fetches.load(Ordering::SeqCst), 0, "no keys fetched for strangers");
    }

    #[tokio::test]
    async fn after_a_change_of_provider_the_old_one_is_refused() {
        let setup = setup();
        let old = verden_token(&setup, json!({"sub": "k.meyer"}));
        assert!(setup.providers.verify(&old, &directory()).await.is_ok());
        let moved = Directory::new(
            vec![
                with_provider(
                    "verden",
                    VERDEN,
                    "https://login.niedersachsen.example",
                    "https://login.niedersachsen.example/jwks",
                ),
                with_provider("cuxhaven", CUXHAVEN, CUXHAVEN_IDP, CUXHAVEN_JWKS),
            ],
            PLACES.clone(),
        );
        assert_eq!(setup.providers.verify(&old, &moved).await, Err(AuthError::UnknownIssuer));
    }

    #[tokio::test]
    async fn keys_are_fetched_again_only_after_their_lifetime() {
        let setup = setup();
        let staff = verden_token(&setup, json!({"sub": "k.meyer"}));
        setup.providers.verify(&staff, &directory()).await.unwrap();
        setup.providers.verify(&staff, &directory()).await.unwrap();
        assert_eq!(setup.source.fetches.load(Ordering::SeqCst), 1);
        setup.clock.advance(KEYS_LIFETIME + Duration::seconds(1));
        setup.providers.verify(&staff, &directory()).await.unwrap();
        assert_eq!(setup.source.fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn the_platforms_issuers_are_never_handed_to_the_offices() {
        let setup = setup();
        let platform = SigningKey::generate().unwrap();
        let trusted = TrustedIssuer {
            issuer: "urn:sorgeregister:platform".into(),
            audience: "staff".into(),
            kind: PrincipalKind::Staff,
            keys: platform.jwks(),
        };
        let verifier = Verifier::new(vec![trusted]).with_office_providers(Arc::new(setup.providers));
        let admin = token(&platform, "urn:sorgeregister:platform", "staff", json!({"sub": "admin", "role": "admin"}));
        assert!(matches!(
            verifier.verify(&admin).await,
            Ok(Principal::Staff(StaffClaims { role: StaffRole::Admin, .. }))
        ));
        assert!(verifier.office_providers(&admin).is_none());
        let office_staff = token(&setup.verden_key, VERDEN_IDP, "sorgeregister-verden", json!({"sub": "k"}));
        assert!(verifier.verify(&office_staff).await.is_err(), "not a platform token");
        assert!(verifier.office_providers(&office_staff).is_some());
    }

    #[cfg(feature = "https")]
    #[tokio::test]
    async fn keys_come_only_over_https() {
        let error = HttpsJwks.fetch("http://127.0.0.1:9/jwks.json").await.unwrap_err();
        assert!(error.to_string().contains("must use https"), "{error}");
    }
}
