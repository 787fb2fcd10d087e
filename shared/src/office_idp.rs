//! Staff tokens from an office's own identity provider (OpenID Connect): an office (tenant) may
//! configure `staff_identity_provider {issuer, client_id, audience?, roles_claim?, jwks_url?}`.
//! A token of that issuer and audience, checked like every other token
//! ([`crate::auth::verify_claims`]), makes its holder staff of exactly that office, in the roles
//! its roles claim names: the office comes from the tenant configuration, and a token claiming
//! another office is refused. Operators' rights never come from an office's provider. Case
//! workers sign in to the pages at the same provider ([`crate::oidc`]).
//!
//! The offices' key sets are fetched over https only and cached ([`crate::jwks`]): a rotated
//! key counts at once, a changed configuration within the keys' lifetime; the configuration
//! itself is read for every token, so a changed issuer counts at once.

use std::sync::Arc;

use crate::auth::{AuthError, PrincipalKind, StaffClaims, StaffRole, TrustedIssuer, unverified_issuer, verify_claims};
use crate::domain::office::{Directory, StaffIdentityProvider};
use crate::jwks::{JwksCache, JwksSource};
use crate::oidc::Discovery;
use crate::ports::Clock;

/// The offices' identity providers with their keys, cached per JWKS URL.
pub struct OfficeIdentityProviders {
    keys: JwksCache,
    /// Where a provider without `jwks_url` says its keys are.
    discovery: Option<Arc<Discovery>>,
}

impl std::fmt::Debug for OfficeIdentityProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfficeIdentityProviders").finish_non_exhaustive()
    }
}

impl OfficeIdentityProviders {
    pub fn new(source: Arc<dyn JwksSource>, clock: Arc<dyn Clock>) -> Self {
        Self { keys: JwksCache::new(source, clock), discovery: None }
    }

    /// Finds the keys of providers without `jwks_url` by their discovery documents.
    pub fn discovering(mut self, discovery: Arc<Discovery>) -> Self {
        self.discovery = Some(discovery);
        self
    }

    /// The staff member of the office whose provider issued `token`, with that office's id.
    pub async fn verify(&self, token: &str, directory: &Directory) -> Result<StaffClaims, AuthError> {
        let issuer = unverified_issuer(token).ok_or(AuthError::Malformed)?;
        let mut verified = Vec::new();
        let mut last_error = AuthError::UnknownIssuer;
        // Only offices that name the audience of their API tokens take tokens for the API: an ID
        // token of a sign-in (audience: the client) is none.
        let providers = directory.staff_identity_providers(&issuer).filter(|(_, provider)| provider.audience.is_some());
        for (office, provider) in providers {
            let audience = provider.audience.clone().unwrap_or_default();
            let Some(jwks_url) = self.jwks_url(provider).await else {
                last_error = AuthError::UnknownKey;
                continue;
            };
            let checked = self.keys.verify(&jwks_url, |keys| {
                let trusted = TrustedIssuer {
                    issuer: provider.issuer.clone(),
                    audience: audience.clone(),
                    kind: PrincipalKind::Staff,
                    keys: keys.clone(),
                };
                verify_claims(token, &trusted)
            });
            match checked.await {
                Ok(claims) => verified.push((office.id.clone(), provider, claims)),
                Err(error) => last_error = error,
            }
        }
        match verified.as_slice() {
            [] => Err(last_error),
            [(office_id, provider, claims)] => staff_of(office_id, provider, claims),
            // Two offices trusting the same issuer and audience: nothing says whose staff this is.
            _ => Err(AuthError::Invalid("the issuer and audience belong to more than one office".into())),
        }
    }

    /// The keys of `provider`: its own `jwks_url`, else the one its discovery document names.
    pub async fn jwks_url(&self, provider: &StaffIdentityProvider) -> Option<String> {
        if let Some(url) = &provider.jwks_url {
            return Some(url.clone());
        }
        let discovery = self.discovery.as_ref()?;
        match discovery.get(&provider.issuer).await {
            Ok(document) => Some(document.jwks_uri.clone()),
            Err(error) => {
                tracing::warn!(%error, "office identity provider not discoverable");
                None
            }
        }
    }

    /// The keys of `url`, cached, fetched again for a rotated key.
    pub fn keys(&self) -> &JwksCache {
        &self.keys
    }
}

/// The claims as staff of `office_id`: an office's provider speaks for its case workers (the
/// roles in its roles claim) and for the office's machine clients (`role: machine`), never for
/// operators or other offices. Without a role the office knows, no access.
pub fn staff_of(
    office_id: &str,
    provider: &StaffIdentityProvider,
    claims: &serde_json::Value,
) -> Result<StaffClaims, AuthError> {
    let invalid = |reason: &str| Err(AuthError::Invalid(reason.to_owned()));
    match claims.get("office_id") {
        None | Some(serde_json::Value::Null) => {}
        Some(claimed) if claimed.as_str() == Some(office_id) => {}
        Some(_) => return invalid("the token claims another office than its issuer's"),
    }
    let mut roles = office_roles(claims, provider.roles_claim());
    match claims.get("role").and_then(serde_json::Value::as_str) {
        None => {}
        Some("machine") => roles.push(StaffRole::Machine),
        Some(_) => return invalid("an office's provider grants no such role"),
    }
    if roles.is_empty() {
        return Err(AuthError::NoRole);
    }
    let sub = claims.get("sub").and_then(serde_json::Value::as_str).ok_or(AuthError::Invalid("no sub".into()))?;
    let name = claims.get("name").and_then(serde_json::Value::as_str);
    Ok(StaffClaims::new(sub, Some(office_id), roles).named(name))
}

/// The office roles named at `path` (dots lead into objects: `realm_access.roles`), a list or
/// one name; names the platform does not know are left out.
fn office_roles(claims: &serde_json::Value, path: &str) -> Vec<StaffRole> {
    let named = path.split('.').try_fold(claims, |value, key| value.get(key));
    let names: Vec<&str> = match named {
        Some(serde_json::Value::Array(items)) => items.iter().filter_map(serde_json::Value::as_str).collect(),
        Some(serde_json::Value::String(name)) => name.split_whitespace().collect(),
        _ => Vec::new(),
    };
    let mut roles: Vec<StaffRole> = names.into_iter().filter_map(StaffRole::of_office).collect();
    roles.dedup();
    roles
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
    use crate::jwks::{JwksError, KEYS_LIFETIME};
    use crate::outbound::HttpClient;

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
            client_id: format!("sorgeregister-{id}-pages"),
            roles_claim: None,
            audience: Some(format!("sorgeregister-{id}")),
            jwks_url: Some(jwks_url.into()),
            confidential: false,
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
        let staff = setup
            .providers
            .verify(&verden_token(&setup, json!({"sub": "k.meyer", "roles": ["case_worker"]})), &directory())
            .await;
        assert_eq!(staff.unwrap(), StaffClaims::new("k.meyer", Some("verden"), vec![StaffRole::CaseWorker]));
        let machine = verden_token(&setup, json!({"sub": "fachverfahren", "office_id": "verden", "role": "machine"}));
        assert_eq!(setup.providers.verify(&machine, &directory()).await.unwrap().roles, [StaffRole::Machine]);
    }

    #[tokio::test]
    async fn roles_come_from_the_roles_claim_and_without_a_known_one_there_is_no_access() {
        let setup = setup();
        let directory = directory();
        let roles =
            async |claims| setup.providers.verify(&verden_token(&setup, claims), &directory).await.map(|s| s.roles);
        assert_eq!(
            roles(json!({"sub": "k", "roles": ["supervisor", "office_admin", "printer"]})).await,
            Ok(vec![StaffRole::Supervisor, StaffRole::OfficeAdmin])
        );
        assert_eq!(roles(json!({"sub": "k", "roles": "case_worker supervisor"})).await.unwrap().len(), 2);
        for none in [json!({"sub": "k"}), json!({"sub": "k", "roles": []}), json!({"sub": "k", "roles": ["admin"]})] {
            assert_eq!(roles(none.clone()).await, Err(AuthError::NoRole), "{none}");
        }
        // A provider that names its roles elsewhere says where.
        let mut verden = with_provider("verden", VERDEN, VERDEN_IDP, VERDEN_JWKS);
        verden.staff_identity_provider.as_mut().unwrap().roles_claim = Some("realm_access.roles".into());
        let nested = Directory::new(vec![verden], PLACES.clone());
        let token = verden_token(&setup, json!({"sub": "k", "realm_access": {"roles": ["case_worker"]}}));
        assert_eq!(setup.providers.verify(&token, &nested).await.unwrap().roles, [StaffRole::CaseWorker]);
    }

    #[tokio::test]
    async fn the_name_the_provider_tells_is_kept_shown_safely() {
        let setup = setup();
        let directory = directory();
        let name = async |name: serde_json::Value| {
            let claims = json!({"sub": "k", "roles": ["case_worker"], "name": name});
            setup.providers.verify(&verden_token(&setup, claims), &directory).await.unwrap().name
        };
        assert_eq!(name(json!("Anna Meyer")).await.as_deref(), Some("Anna Meyer"));
        assert_eq!(name(json!(" Anna\u{7}\nMeyer ")).await.as_deref(), Some("AnnaMeyer"), "no control characters");
        assert_eq!(name(json!("x".repeat(500))).await.map(|n| n.len()), Some(100));
        assert_eq!(name(json!("   ")).await, None);
        assert_eq!(name(json!(["not", "text"])).await, None);
    }

    #[tokio::test]
    async fn without_an_api_audience_the_providers_tokens_are_no_api_tokens() {
        let setup = setup();
        let mut verden = with_provider("verden", VERDEN, VERDEN_IDP, VERDEN_JWKS);
        verden.staff_identity_provider.as_mut().unwrap().audience = None;
        let directory = Directory::new(vec![verden], PLACES.clone());
        // An ID token of the office's sign-in, for its pages' client.
        let claims = json!({"sub": "k", "roles": ["case_worker"]});
        let id_token = token(&setup.verden_key, VERDEN_IDP, "sorgeregister-verden-pages", claims);
        assert_eq!(setup.providers.verify(&id_token, &directory).await, Err(AuthError::UnknownIssuer));
    }

    #[tokio::test]
    async fn a_token_claiming_another_office_is_refused() {
        let setup = setup();
        let claiming = verden_token(&setup, json!({"sub": "k.meyer", "office_id": "bremen", "roles": ["case_worker"]}));
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
        let old = verden_token(&setup, json!({"sub": "k.meyer", "roles": ["case_worker"]}));
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
        let staff = verden_token(&setup, json!({"sub": "k.meyer", "roles": ["case_worker"]}));
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
            keys: platform.jwks().into(),
        };
        let verifier = Verifier::new(vec![trusted]).with_office_providers(Arc::new(setup.providers));
        let admin = token(&platform, "urn:sorgeregister:platform", "staff", json!({"sub": "admin", "role": "admin"}));
        assert!(matches!(
            verifier.verify(&admin).await,
            Ok(Principal::Staff(staff)) if staff.is_operator()
        ));
        assert!(verifier.office_providers(&admin).is_none());
        let office_staff = token(&setup.verden_key, VERDEN_IDP, "sorgeregister-verden", json!({"sub": "k"}));
        assert!(verifier.verify(&office_staff).await.is_err(), "not a platform token");
        assert!(verifier.office_providers(&office_staff).is_some());
    }

    #[tokio::test]
    async fn keys_come_only_over_https() {
        let error = HttpClient::https_only().fetch("http://127.0.0.1:9/jwks.json").await.unwrap_err();
        assert!(error.to_string().contains("must use https"), "{error}");
    }
}
