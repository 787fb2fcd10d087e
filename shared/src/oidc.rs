//! Case workers sign in at their office's own OpenID Connect provider: the authorization code
//! flow with PKCE (S256), `state` and `nonce` (OpenID Connect Core 1.0 § 3.1, RFC 7636), against
//! the endpoints the provider's discovery document names.
//!
//! The ID token is verified fully: an allowed asymmetric algorithm and a key of the provider's
//! JWKS ([`crate::auth::verify_claims`]), `iss` the configured issuer, `aud` the office's client
//! (and `azp` it, where there are several audiences), `exp`, `iat` and the `nonce` of this very
//! sign-in. What the case worker may do then follows from the roles claim
//! ([`crate::office_idp::staff_of`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::auth::{AuthError, PrincipalKind, TrustedIssuer, verify_claims};
use crate::domain::office::StaffIdentityProvider;
use crate::outbound::HttpClient;
use crate::ports::Clock;

/// How long a discovery document is used before it is fetched again.
pub const DISCOVERY_LIFETIME: Duration = Duration::minutes(10);
/// How old an ID token may be when it arrives: it is made for this sign-in, seconds ago.
const ID_TOKEN_MAX_AGE: Duration = Duration::minutes(10);
/// Tolerated clock difference to the provider.
const LEEWAY: Duration = Duration::seconds(30);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The provider cannot be reached or its answer is unusable (an operator's matter).
    #[error("identity provider {issuer}: {reason}")]
    Unavailable { issuer: String, reason: String },
    /// The provider refused to redeem the code (used, expired, another client's).
    #[error("the identity provider refused the code: {0}")]
    CodeRefused(String),
}

/// What a provider's discovery document says about it (OpenID Connect Discovery 1.0 § 3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    /// RP-initiated logout, where the provider offers it.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
}

/// Discovery documents by issuer, fetched over [`HttpClient`] and cached for
/// [`DISCOVERY_LIFETIME`]; while a provider does not answer, the last document stays in use.
pub struct Discovery {
    client: HttpClient,
    clock: Arc<dyn Clock>,
    documents: Mutex<HashMap<String, (OffsetDateTime, Arc<ProviderMetadata>)>>,
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discovery").finish_non_exhaustive()
    }
}

impl Discovery {
    pub fn new(client: HttpClient, clock: Arc<dyn Clock>) -> Discovery {
        Discovery { client, clock, documents: Mutex::new(HashMap::new()) }
    }

    pub fn client(&self) -> &HttpClient {
        &self.client
    }

    /// The metadata of `issuer`.
    pub async fn get(&self, issuer: &str) -> Result<Arc<ProviderMetadata>, OidcError> {
        let now = self.clock.now();
        let cached = self.documents.lock().expect("discovery lock").get(issuer).cloned();
        if let Some((fetched_at, metadata)) = &cached {
            if now - *fetched_at < DISCOVERY_LIFETIME {
                return Ok(metadata.clone());
            }
        }
        match self.fetch(issuer).await {
            Ok(metadata) => {
                let metadata = Arc::new(metadata);
                self.documents.lock().expect("discovery lock").insert(issuer.to_owned(), (now, metadata.clone()));
                Ok(metadata)
            }
            Err(error) => match cached {
                Some((_, metadata)) => {
                    tracing::warn!(%error, "discovery document not renewed; the last one stays in use");
                    Ok(metadata)
                }
                None => Err(error),
            },
        }
    }

    async fn fetch(&self, issuer: &str) -> Result<ProviderMetadata, OidcError> {
        let unavailable = |reason: String| OidcError::Unavailable { issuer: issuer.to_owned(), reason };
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let body = self.client.get(&url).await.map_err(unavailable)?;
        let metadata: ProviderMetadata =
            serde_json::from_slice(&body).map_err(|e| unavailable(format!("discovery document: {e}")))?;
        // Discovery § 4.3: the document must be the issuer's own.
        if metadata.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(unavailable(format!("the discovery document names issuer {}", metadata.issuer)));
        }
        let endpoints = [
            Some(&metadata.authorization_endpoint),
            Some(&metadata.token_endpoint),
            Some(&metadata.jwks_uri),
            metadata.end_session_endpoint.as_ref(),
        ];
        if endpoints.into_iter().flatten().any(|url| !self.client.addresses().permit(url)) {
            return Err(unavailable("an endpoint is not an https address".into()));
        }
        if !metadata.code_challenge_methods_supported.is_empty()
            && !metadata.code_challenge_methods_supported.iter().any(|m| m == "S256")
        {
            return Err(unavailable("the provider does not support PKCE with S256".into()));
        }
        Ok(metadata)
    }
}

/// One sign-in at a provider: the secrets the browser's round trip is bound to. `state` goes to
/// the provider and comes back, `nonce` comes back inside the ID token, `code_verifier` only
/// ever goes to the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub state: String,
    pub nonce: String,
    pub code_verifier: String,
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).expect("the system's random source");
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Authorization {
    pub fn new() -> Authorization {
        Authorization { state: random_token(), nonce: random_token(), code_verifier: random_token() }
    }

    /// RFC 7636 § 4.2: `BASE64URL(SHA256(code_verifier))`.
    pub fn code_challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, self.code_verifier.as_bytes()))
    }

    /// Where the browser is sent to sign in.
    pub fn url(&self, metadata: &ProviderMetadata, client_id: &str, redirect_uri: &str) -> String {
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", "openid profile"),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge()),
            ("code_challenge_method", "S256"),
        ])
        .expect("plain pairs encode");
        let separator = if metadata.authorization_endpoint.contains('?') { '&' } else { '?' };
        format!("{}{separator}{query}", metadata.authorization_endpoint)
    }
}

impl Default for Authorization {
    fn default() -> Self {
        Authorization::new()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
    error: Option<String>,
}

/// Redeems `code` at the token endpoint for the ID token: a public client sends its id and the
/// PKCE verifier, a confidential one authenticates with its `secret` (HTTP Basic) besides.
pub async fn redeem(
    client: &HttpClient,
    metadata: &ProviderMetadata,
    provider: &StaffIdentityProvider,
    code: &str,
    code_verifier: &str,
    redirect_uri: &str,
    secret: Option<&str>,
) -> Result<String, OidcError> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", code_verifier),
    ];
    if secret.is_none() {
        form.push(("client_id", &provider.client_id));
    }
    let credentials = secret.map(|secret| (provider.client_id.as_str(), secret));
    let unavailable = |reason: String| OidcError::Unavailable { issuer: provider.issuer.clone(), reason };
    let answer = client.post_form(&metadata.token_endpoint, &form, credentials).await.map_err(unavailable)?;
    let parsed: Option<TokenAnswer> = serde_json::from_slice(&answer.body).ok();
    match (answer.status, parsed) {
        (200, Some(TokenAnswer { id_token: Some(id_token), .. })) => Ok(id_token),
        (200, _) => Err(unavailable("the token answer holds no ID token".into())),
        (400 | 401, Some(TokenAnswer { error: Some(error), .. })) => Err(OidcError::CodeRefused(error)),
        (status, _) => Err(unavailable(format!("token endpoint answered HTTP {status}"))),
    }
}

/// The claims of `id_token` if it is the provider's answer to the sign-in with `nonce`: signed
/// with a key of `keys`, for the office's client, current, and made for this sign-in.
pub fn check_id_token(
    id_token: &str,
    provider: &StaffIdentityProvider,
    keys: &crate::auth::VerifyingKeys,
    nonce: &str,
    now: OffsetDateTime,
) -> Result<serde_json::Value, AuthError> {
    let trusted = TrustedIssuer {
        issuer: provider.issuer.clone(),
        audience: provider.client_id.clone(),
        kind: PrincipalKind::Staff,
        keys: keys.clone(),
    };
    let claims = verify_claims(id_token, &trusted)?;
    let invalid = |reason: &str| Err(AuthError::Invalid(reason.to_owned()));
    if claims.get("nonce").and_then(serde_json::Value::as_str) != Some(nonce) {
        return invalid("the nonce is not this sign-in's");
    }
    let Some(issued_at) = claims.get("iat").and_then(serde_json::Value::as_i64) else {
        return invalid("no iat");
    };
    let issued_at = OffsetDateTime::from_unix_timestamp(issued_at).map_err(|e| AuthError::Invalid(e.to_string()))?;
    if issued_at > now + LEEWAY || issued_at < now - ID_TOKEN_MAX_AGE {
        return invalid("the ID token was not issued just now");
    }
    // Core § 3.1.3.7: with several audiences, the token must be issued to this client.
    if claims.get("aud").is_some_and(serde_json::Value::is_array)
        && claims.get("azp").and_then(serde_json::Value::as_str) != Some(provider.client_id.as_str())
    {
        return invalid("the ID token was issued to another party");
    }
    Ok(claims)
}

/// Where the browser ends the session at the provider (RP-initiated logout 1.0), if it offers
/// that: with the ID token as hint and the page to come back to.
pub fn end_session_url(
    metadata: &ProviderMetadata,
    client_id: &str,
    id_token: &str,
    post_logout_redirect_uri: &str,
) -> Option<String> {
    let endpoint = metadata.end_session_endpoint.as_deref()?;
    let query = serde_urlencoded::to_string([
        ("id_token_hint", id_token),
        ("client_id", client_id),
        ("post_logout_redirect_uri", post_logout_redirect_uri),
    ])
    .expect("plain pairs encode");
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    Some(format!("{endpoint}{separator}{query}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::auth::SigningKey;

    const ISSUER: &str = "https://login.landkreis-verden.example";

    fn provider() -> StaffIdentityProvider {
        StaffIdentityProvider {
            issuer: ISSUER.into(),
            client_id: "sorgeregister".into(),
            roles_claim: None,
            audience: None,
            jwks_url: None,
            confidential: false,
        }
    }

    fn id_token(key: &SigningKey, claims: serde_json::Value, issued_at: OffsetDateTime) -> String {
        key.sign(claims, ISSUER, "sorgeregister", issued_at, Duration::minutes(5)).0
    }

    #[test]
    fn the_code_challenge_is_rfc_7636s() {
        // RFC 7636 Appendix B.
        let authorization = Authorization {
            state: "s".into(),
            nonce: "n".into(),
            code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
        };
        assert_eq!(authorization.code_challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let fresh = (Authorization::new(), Authorization::new());
        assert_ne!(fresh.0, fresh.1, "every sign-in has its own secrets");
        assert_eq!(fresh.0.state.len(), 43, "256 bits");
    }

    #[test]
    fn the_authorization_url_asks_for_a_code_with_pkce() {
        let metadata = ProviderMetadata {
            issuer: ISSUER.into(),
            authorization_endpoint: format!("{ISSUER}/auth?realm=amt"),
            token_endpoint: format!("{ISSUER}/token"),
            jwks_uri: format!("{ISSUER}/jwks"),
            end_session_endpoint: None,
            code_challenge_methods_supported: vec!["S256".into()],
        };
        let authorization = Authorization::new();
        let url =
            url::Url::parse(&authorization.url(&metadata, "sorgeregister", "https://sr.example/amt/anmelden/callback"))
                .unwrap();
        let query: HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(query["realm"], "amt", "the endpoint's own query stays");
        assert_eq!(query["response_type"], "code");
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(query["code_challenge"], authorization.code_challenge());
        assert_eq!(query["state"], authorization.state);
        assert_eq!(query["nonce"], authorization.nonce);
        assert!(!url.as_str().contains(&authorization.code_verifier), "the verifier never travels by browser");
    }

    #[test]
    fn an_id_token_counts_only_for_this_client_this_sign_in_and_now() {
        let key = SigningKey::generate().unwrap();
        let now = OffsetDateTime::now_utc();
        let claims = json!({"sub": "k.meyer", "nonce": "n-1", "roles": ["case_worker"]});
        let check = |token: &str| check_id_token(token, &provider(), &key.jwks().into(), "n-1", now);
        assert_eq!(check(&id_token(&key, claims.clone(), now)).unwrap()["sub"], "k.meyer");

        let mut wrong_nonce = claims.clone();
        wrong_nonce["nonce"] = "n-2".into();
        assert!(check(&id_token(&key, wrong_nonce, now)).is_err(), "another sign-in's nonce");
        let mut no_nonce = claims.clone();
        no_nonce.as_object_mut().unwrap().remove("nonce");
        assert!(check(&id_token(&key, no_nonce, now)).is_err(), "no nonce");
        assert!(check(&id_token(&key, claims.clone(), now - Duration::hours(1))).is_err(), "expired");
        assert!(check(&id_token(&key, claims.clone(), now - Duration::minutes(11))).is_err(), "issued long ago");
        let other_client = key.sign(claims.clone(), ISSUER, "another-client", now, Duration::minutes(5)).0;
        assert!(check(&other_client).is_err(), "aud of another client");
        let other_issuer =
            key.sign(claims.clone(), "https://evil.example", "sorgeregister", now, Duration::minutes(5)).0;
        assert!(check(&other_issuer).is_err(), "another issuer");
        let stranger = SigningKey::generate().unwrap();
        assert_eq!(check(&id_token(&stranger, claims.clone(), now)), Err(AuthError::UnknownKey));

        // Several audiences: only when issued to this client.
        let several = |azp: &str| {
            let mut claims = claims.clone();
            let exp = (now + Duration::minutes(5)).unix_timestamp();
            claims.as_object_mut().unwrap().extend([
                ("iss".to_owned(), json!(ISSUER)),
                ("aud".to_owned(), json!(["sorgeregister", "another-client"])),
                ("azp".to_owned(), json!(azp)),
                ("iat".to_owned(), json!(now.unix_timestamp())),
                ("exp".to_owned(), json!(exp)),
            ]);
            check(&key.sign_as_is(&claims))
        };
        assert!(several("sorgeregister").is_ok());
        assert!(several("another-client").is_err(), "issued to the other party");
    }

    #[test]
    fn alg_none_and_a_tampered_payload_are_refused() {
        let key = SigningKey::generate().unwrap();
        let now = OffsetDateTime::now_utc();
        let token = id_token(&key, json!({"sub": "k.meyer", "nonce": "n-1", "roles": ["case_worker"]}), now);
        let parts: Vec<&str> = token.split('.').collect();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        payload["roles"] = json!(["supervisor"]);
        let tampered = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(payload.to_string()), parts[2]);
        assert!(check_id_token(&tampered, &provider(), &key.jwks().into(), "n-1", now).is_err());
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        let none = json!({"alg": "none", "kid": header["kid"]});
        let unsigned = format!("{}.{}.", URL_SAFE_NO_PAD.encode(none.to_string()), parts[1]);
        assert!(matches!(
            check_id_token(&unsigned, &provider(), &key.jwks().into(), "n-1", now),
            Err(AuthError::Malformed | AuthError::AlgorithmNotAllowed)
        ));
    }

    #[test]
    fn logout_goes_to_the_providers_end_session_endpoint_where_it_has_one() {
        let mut metadata = ProviderMetadata {
            issuer: ISSUER.into(),
            authorization_endpoint: format!("{ISSUER}/auth"),
            token_endpoint: format!("{ISSUER}/token"),
            jwks_uri: format!("{ISSUER}/jwks"),
            end_session_endpoint: None,
            code_challenge_methods_supported: vec![],
        };
        assert_eq!(end_session_url(&metadata, "c", "t", "https://sr.example/amt/abgemeldet"), None);
        metadata.end_session_endpoint = Some(format!("{ISSUER}/session/end"));
        let url = end_session_url(&metadata, "c", "t.o.k", "https://sr.example/amt/abgemeldet").unwrap();
        assert!(url.starts_with(&format!("{ISSUER}/session/end?id_token_hint=t.o.k&client_id=c&")), "{url}");
    }
}
