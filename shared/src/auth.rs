//! Verification of bearer tokens (JWT) from trusted identity providers.
//!
//! A token is accepted only if its algorithm is on the allow-list (asymmetric algorithms only,
//! so `none` and HS256-with-the-public-key are refused), its key id names a key of a trusted
//! issuer's JWKS, the signature holds, and `iss`, `aud`, `exp` and `nbf` are right. Whether the
//! token speaks for a citizen or for staff follows from the issuer and audience it was verified
//! against, never from a claim the token chooses itself. Staff tokens of an office's own
//! identity provider are verified the same way (see [`crate::office_idp`]).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use jsonwebtoken::jwk::{Jwk, JwkSet, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

use crate::domain::request::TrustLevel;
use crate::jwks::JwksCache;
use crate::office_idp::OfficeIdentityProviders;

/// Only asymmetric signatures.
pub const ALLOWED_ALGORITHMS: [Algorithm; 4] = [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256, Algorithm::EdDSA];

/// Tolerated clock difference to the identity provider.
const LEEWAY_SECONDS: u64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    Citizen,
    Staff,
}

/// An identity provider whose tokens we accept for one audience.
#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    pub issuer: String,
    pub audience: String,
    pub kind: PrincipalKind,
    pub keys: VerifyingKeys,
}

/// A key set parsed for verification once, when it is configured or fetched, rather than for
/// every token. Keys without a `kid` or that do not parse are left out (a token naming one
/// then has an unknown key).
#[derive(Clone)]
pub struct VerifyingKeys(Arc<Vec<VerifyingKey>>);

struct VerifyingKey {
    kid: String,
    /// The algorithm the key itself pins, if it does: the token must not choose another one.
    pinned: Option<Algorithm>,
    key: DecodingKey,
}

impl From<&JwkSet> for VerifyingKeys {
    fn from(set: &JwkSet) -> Self {
        let parsed = set.keys.iter().filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let pinned = jwk.common.key_algorithm.map(Algorithm::try_from);
            match (DecodingKey::from_jwk(jwk), pinned) {
                (Ok(key), None) => Some(VerifyingKey { kid, pinned: None, key }),
                (Ok(key), Some(Ok(algorithm))) => Some(VerifyingKey { kid, pinned: Some(algorithm), key }),
                (Err(error), _) => {
                    tracing::warn!(%kid, %error, "a key of the set does not parse; left out");
                    None
                }
                // A pinned algorithm that signs nothing (an encryption key): no token uses it.
                (Ok(_), Some(Err(_))) => None,
            }
        });
        VerifyingKeys(Arc::new(parsed.collect()))
    }
}

impl From<JwkSet> for VerifyingKeys {
    fn from(set: JwkSet) -> Self {
        VerifyingKeys::from(&set)
    }
}

impl VerifyingKeys {
    fn find(&self, kid: &str) -> Option<&VerifyingKey> {
        self.0.iter().find(|key| key.kid == kid)
    }
}

impl std::fmt::Debug for VerifyingKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|key| &key.kid)).finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimAddress {
    pub street: String,
    pub house_number: String,
    pub postcode: String,
    pub city: String,
}

/// A mother (or her representative) as the citizen identity provider states her.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CitizenClaims {
    pub sub: String,
    pub given_name: String,
    pub family_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_name: Option<String>,
    /// `YYYY-MM-DD`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_of_birth: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<ClaimAddress>,
    /// The address her account releases, where it is a plain one: the form offers it for news
    /// about her request, she can change it there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub trust_level: TrustLevel,
    /// When she signed in at BundID (seconds since 1970, OIDC's `auth_time`): her session is
    /// renewed while she is active, up to a limit from then. Other sessions have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// A case worker of one office: decides, writes to the mother, asks for proofs.
    #[serde(alias = "caseworker")]
    CaseWorker,
    /// A case worker's supervisor: besides, revokes certificates and takes over others' requests.
    Supervisor,
    /// Keeps the office's custody register (entries, imports).
    OfficeAdmin,
    /// A case-management system (Fachverfahren) of one office.
    Machine,
    /// An operator of the platform (tenants, registers).
    Admin,
}

impl StaffRole {
    /// The role an office's identity provider names (its roles claim): only the office's own
    /// roles, never the platform's.
    pub fn of_office(name: &str) -> Option<StaffRole> {
        match name {
            "case_worker" => Some(StaffRole::CaseWorker),
            "supervisor" => Some(StaffRole::Supervisor),
            "office_admin" => Some(StaffRole::OfficeAdmin),
            _ => None,
        }
    }
}

/// A case worker, a machine client of an office, or an operator, with what they may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffClaims {
    pub sub: String,
    /// Their name as their provider tells it (`name`), for colleagues' pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The office the token is confined to; operators have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office_id: Option<String>,
    /// Never empty. Tokens of the platform's providers may name one role (`role`).
    #[serde(alias = "role", deserialize_with = "one_or_many")]
    pub roles: Vec<StaffRole>,
    /// The sign-in at the office's provider this session belongs to (pages only): signing out
    /// ends it, wherever the session token is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// When they signed in at the office's provider (seconds since 1970): the session is renewed
    /// while they are active, up to a limit from then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}

/// What staff may do: each right in one place.
impl StaffClaims {
    pub fn new(sub: &str, office_id: Option<&str>, roles: Vec<StaffRole>) -> StaffClaims {
        StaffClaims {
            sub: sub.into(),
            name: None,
            office_id: office_id.map(Into::into),
            roles,
            sid: None,
            auth_time: None,
        }
    }

    /// With the name their provider tells, made safe to show: no control characters, at most
    /// 100 characters, none if blank.
    pub fn named(mut self, name: Option<&str>) -> StaffClaims {
        let shown: String = name.unwrap_or_default().chars().filter(|c| !c.is_control()).take(100).collect();
        self.name = Some(shown.trim().to_owned()).filter(|n| !n.is_empty());
        self
    }

    /// As colleagues see them (who holds a request).
    pub fn member(&self) -> crate::domain::request::StaffMember {
        crate::domain::request::StaffMember { id: self.sub.clone(), name: self.name.clone() }
    }

    pub fn has(&self, role: StaffRole) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_operator(&self) -> bool {
        self.has(StaffRole::Admin)
    }

    /// Deciding, writing to the mother and asking for proofs: case work.
    pub fn may_do_case_work(&self) -> bool {
        self.has(StaffRole::CaseWorker) || self.has(StaffRole::Supervisor)
    }

    /// Revoking a certificate, taking over a request someone else holds.
    pub fn may_overrule(&self) -> bool {
        self.has(StaffRole::Supervisor)
    }

    /// Keeping the custody register of `office_id`: its office admins and the operators.
    pub fn may_keep_register_of(&self, office_id: &str) -> bool {
        self.is_operator() || (self.has(StaffRole::OfficeAdmin) && self.office_id.as_deref() == Some(office_id))
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<StaffRole>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(StaffRole),
        Many(Vec<StaffRole>),
    }
    let roles = match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(role) => vec![role],
        OneOrMany::Many(roles) => roles,
    };
    if roles.is_empty() {
        return Err(serde::de::Error::custom("no role"));
    }
    Ok(roles)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Citizen(CitizenClaims),
    Staff(StaffClaims),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token")]
    Missing,
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's algorithm is not allowed")]
    AlgorithmNotAllowed,
    #[error("the token's key is unknown")]
    UnknownKey,
    #[error("the token's issuer is not trusted")]
    UnknownIssuer,
    #[error("the token names no role the office knows")]
    NoRole,
    #[error("the token is invalid: {0}")]
    Invalid(String),
}

/// A platform issuer whose keys come from its JWKS URL (and come again when it rotates them).
#[derive(Debug, Clone)]
pub struct FetchedIssuer {
    pub issuer: String,
    pub audience: String,
    pub kind: PrincipalKind,
    pub jwks_url: String,
}

/// The audience of staff sessions (the office sign-in, function `staff-login`).
pub const STAFF_SESSION_AUDIENCE: &str = "sorgeregister-staff-session";

/// The staff sessions of the service at `base`, as the office sign-in signs them: issuer
/// `{base}/amt`, keys at `{base}/amt/anmelden/jwks.json`.
pub fn staff_sessions(base: &str) -> FetchedIssuer {
    let base = base.trim_end_matches('/');
    FetchedIssuer {
        issuer: format!("{base}/amt"),
        audience: STAFF_SESSION_AUDIENCE.into(),
        kind: PrincipalKind::Staff,
        jwks_url: format!("{base}/amt/anmelden/jwks.json"),
    }
}

/// The platform's own identity providers (citizens' BundID, the operators' and the local ones)
/// and, if set, the offices' providers for their staff.
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    trusted: Vec<TrustedIssuer>,
    fetched: Vec<FetchedIssuer>,
    keys: Option<Arc<JwksCache>>,
    offices: Option<Arc<OfficeIdentityProviders>>,
}

impl Verifier {
    pub fn new(trusted: Vec<TrustedIssuer>) -> Self {
        Self { trusted, ..Self::default() }
    }

    /// Also trusts `issuers`, with their keys from `keys`.
    pub fn fetching(mut self, issuers: Vec<FetchedIssuer>, keys: Arc<JwksCache>) -> Self {
        self.fetched.extend(issuers);
        self.keys = Some(keys);
        self
    }

    /// Also trusts `issuer` (a function that signs sessions itself trusts its own key).
    pub fn trusting(mut self, issuer: TrustedIssuer) -> Self {
        self.trusted.push(issuer);
        self
    }

    /// Also accepts staff tokens from the identity provider an office configured.
    pub fn with_office_providers(mut self, offices: Arc<OfficeIdentityProviders>) -> Self {
        self.offices = Some(offices);
        self
    }

    /// The offices' providers, for a token that names none of the platform's issuers.
    pub fn office_providers(&self, token: &str) -> Option<&OfficeIdentityProviders> {
        let issuer = unverified_issuer(token)?;
        let platform =
            self.trusted.iter().map(|t| &t.issuer).chain(self.fetched.iter().map(|f| &f.issuer)).any(|i| *i == issuer);
        self.offices.as_deref().filter(|_| !platform)
    }

    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        self.verify_until(token).await.map(|(principal, _)| principal)
    }

    /// Like [`Verifier::verify`], with the moment the token ends: its `exp`, checked with the
    /// rest (pages tell a citizen until when her session holds).
    pub async fn verify_until(&self, token: &str) -> Result<(Principal, OffsetDateTime), AuthError> {
        let header = decode_header(token).map_err(|_| AuthError::Malformed)?;
        if !ALLOWED_ALGORITHMS.contains(&header.alg) {
            return Err(AuthError::AlgorithmNotAllowed);
        }
        let mut last_error = AuthError::UnknownKey;
        for trusted in &self.trusted {
            match verify_claims(token, trusted) {
                Ok(claims) => return accepted(trusted.kind, claims),
                Err(AuthError::UnknownKey) => {}
                Err(error) => last_error = error,
            }
        }
        let (Some(keys), Some(issuer)) = (&self.keys, unverified_issuer(token)) else { return Err(last_error) };
        for fetched in self.fetched.iter().filter(|fetched| fetched.issuer == issuer) {
            let checked = keys.verify(&fetched.jwks_url, |keys| {
                let trusted = TrustedIssuer {
                    issuer: fetched.issuer.clone(),
                    audience: fetched.audience.clone(),
                    kind: fetched.kind,
                    keys: keys.clone(),
                };
                verify_claims(token, &trusted)
            });
            match checked.await {
                Ok(claims) => return accepted(fetched.kind, claims),
                Err(AuthError::UnknownKey) => {}
                Err(error) => last_error = error,
            }
        }
        Err(last_error)
    }
}

/// The principal and end of verified claims.
fn accepted(kind: PrincipalKind, claims: serde_json::Value) -> Result<(Principal, OffsetDateTime), AuthError> {
    let expires_at = expiry(&claims)?;
    Ok((principal(kind, claims)?, expires_at))
}

/// The `exp` of verified claims (seconds since the epoch, as RFC 7519 has it).
fn expiry(claims: &serde_json::Value) -> Result<OffsetDateTime, AuthError> {
    let invalid = || AuthError::Invalid("exp is not a time".into());
    let seconds = claims.get("exp").and_then(serde_json::Value::as_f64).ok_or_else(invalid)?;
    OffsetDateTime::from_unix_timestamp(seconds.floor() as i64).map_err(|_| invalid())
}

/// The token's claims if it is signed by a key of `trusted` with an allowed algorithm and its
/// `iss`, `aud`, `exp`, `nbf` and `sub` are right for `trusted`.
pub fn verify_claims(token: &str, trusted: &TrustedIssuer) -> Result<serde_json::Value, AuthError> {
    let header = decode_header(token).map_err(|_| AuthError::Malformed)?;
    if !ALLOWED_ALGORITHMS.contains(&header.alg) {
        return Err(AuthError::AlgorithmNotAllowed);
    }
    let kid = header.kid.ok_or(AuthError::UnknownKey)?;
    let key = trusted.keys.find(&kid).ok_or(AuthError::UnknownKey)?;
    if key.pinned.is_some_and(|pinned| pinned != header.alg) {
        return Err(AuthError::AlgorithmNotAllowed);
    }
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&trusted.issuer]);
    validation.set_audience(&[&trusted.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECONDS;
    decode::<serde_json::Value>(token, &key.key, &validation)
        .map(|data| data.claims)
        .map_err(|e| AuthError::Invalid(e.to_string()))
}

/// The `iss` a token names, before any check: only to choose whose keys to check it with.
pub fn unverified_issuer(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

fn principal(kind: PrincipalKind, claims: serde_json::Value) -> Result<Principal, AuthError> {
    let invalid = |e: serde_json::Error| AuthError::Invalid(format!("claims: {e}"));
    Ok(match kind {
        PrincipalKind::Citizen => Principal::Citizen(serde_json::from_value(claims).map_err(invalid)?),
        PrincipalKind::Staff => Principal::Staff(serde_json::from_value(claims).map_err(invalid)?),
    })
}

/// An ES256 key that signs our own tokens (local identities, sessions), published as a JWK
/// whose key id is its thumbprint.
pub struct SigningKey {
    key: EncodingKey,
    jwk: Jwk,
    pkcs8: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
#[error("unusable signing key: {0}")]
pub struct KeyError(String);

impl SigningKey {
    pub fn generate() -> Result<Self, KeyError> {
        let document = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .map_err(|_| KeyError("key generation failed".into()))?;
        Self::from_pkcs8(document.as_ref())
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, KeyError> {
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8).map_err(|e| KeyError(e.to_string()))?;
        let key = EncodingKey::from_ec_der(pkcs8);
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).map_err(|e| KeyError(e.to_string()))?;
        jwk.common.key_id = Some(jwk.thumbprint(ThumbprintHash::SHA256).map_err(|e| KeyError(e.to_string()))?);
        Ok(Self { key, jwk, pkcs8: pkcs8.to_vec() })
    }

    /// The private key as PKCS#8, to keep it (never in the repository).
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn jwks(&self) -> JwkSet {
        JwkSet { keys: vec![self.jwk.clone()] }
    }

    /// Signs `claims` as they are (tests that need claims `sign` would set otherwise).
    pub fn sign_as_is(&self, claims: &serde_json::Value) -> String {
        let header = Header { kid: self.jwk.common.key_id.clone(), ..Header::new(Algorithm::ES256) };
        encode(&header, claims, &self.key).expect("ES256 signing with a checked key")
    }

    /// Signs `claims` with `iss`, `aud`, `iat`, `nbf` and `exp` set; returns the token and its expiry.
    pub fn sign(
        &self,
        mut claims: serde_json::Value,
        issuer: &str,
        audience: &str,
        now: OffsetDateTime,
        lifetime: Duration,
    ) -> (String, OffsetDateTime) {
        let expires_at = now + lifetime;
        claims["iss"] = issuer.into();
        claims["aud"] = audience.into();
        claims["iat"] = now.unix_timestamp().into();
        claims["nbf"] = now.unix_timestamp().into();
        claims["exp"] = expires_at.unix_timestamp().into();
        (self.sign_as_is(&claims), expires_at)
    }
}

/// A session is signed anew at most this often (pages load the renewal on every view).
const RENEWAL_STEP: Duration = Duration::minutes(5);

/// One kind of our own sessions (the citizen's after BundID, the staff's after their office's
/// provider): signed with our key, valid `lifetime` from each signing, renewed while in use but
/// never past `max` after the sign-in at the provider.
pub struct SessionSigner {
    key: SigningKey,
    /// The key's public half, parsed once for the sessions' verifier.
    keys: VerifyingKeys,
    issuer: String,
    audience: &'static str,
    kind: PrincipalKind,
    lifetime: Duration,
    max: Duration,
}

impl SessionSigner {
    pub fn new(
        key: SigningKey,
        issuer: String,
        audience: &'static str,
        kind: PrincipalKind,
        lifetime: Duration,
        max: Duration,
    ) -> Self {
        let keys = VerifyingKeys::from(key.jwks());
        Self { key, keys, issuer, audience, kind, lifetime, max }
    }

    /// The issuer the API functions trust for these sessions.
    pub fn trusted(&self) -> TrustedIssuer {
        TrustedIssuer {
            issuer: self.issuer.clone(),
            audience: self.audience.into(),
            kind: self.kind,
            keys: self.keys.clone(),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn jwks(&self) -> JwkSet {
        self.key.jwks()
    }

    /// A new session for `claims` at `now`; returns the token and its expiry.
    pub fn sign(&self, claims: &impl Serialize, now: OffsetDateTime) -> (String, OffsetDateTime) {
        self.sign_for(claims, now, self.lifetime)
    }

    fn sign_for(&self, claims: &impl Serialize, now: OffsetDateTime, lifetime: Duration) -> (String, OffsetDateTime) {
        let claims = serde_json::to_value(claims).expect("claims serialise");
        self.key.sign(claims, &self.issuer, self.audience, now, lifetime)
    }

    /// The session `claims` (verified, valid `until`, signed in at the provider at `auth_time`)
    /// renewed at `now`: again for `lifetime`, never past `max` after the sign-in, and only
    /// once that gains a few minutes. `None`: keep the one they have.
    pub fn renewed(
        &self,
        claims: &impl Serialize,
        auth_time: Option<i64>,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Option<(String, OffsetDateTime)> {
        let signed_in = OffsetDateTime::from_unix_timestamp(auth_time?).ok()?;
        let expires_at = (now + self.lifetime).min(signed_in + self.max);
        (now < until && expires_at - until >= RENEWAL_STEP).then(|| self.sign_for(claims, now, expires_at - now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::get_current_timestamp;
    use serde_json::json;

    const ISSUER: &str = "https://idp.example";
    const AUDIENCE: &str = "sorgeregister-citizen";

    struct Idp {
        key: EncodingKey,
        jwk: Jwk,
    }

    impl Idp {
        fn new(kid: &str) -> Self {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
            let key = EncodingKey::from_ec_der(pkcs8.as_ref());
            let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
            jwk.common.key_id = Some(kid.into());
            Idp { key, jwk }
        }

        fn sign(&self, claims: serde_json::Value) -> String {
            let header = Header { kid: self.jwk.common.key_id.clone(), ..Header::new(Algorithm::ES256) };
            encode(&header, &claims, &self.key).unwrap()
        }
    }

    fn claims() -> serde_json::Value {
        let now = get_current_timestamp();
        json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "abc", "exp": now + 600, "nbf": now - 10,
               "given_name": "Sophia", "family_name": "Beispiel", "trust_level": "STORK-QAA-Level-4"})
    }

    fn verifier(idp: &Idp) -> Verifier {
        Verifier::new(vec![TrustedIssuer {
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            kind: PrincipalKind::Citizen,
            keys: JwkSet { keys: vec![idp.jwk.clone()] }.into(),
        }])
    }

    fn with(mut claims: serde_json::Value, field: &str, value: serde_json::Value) -> serde_json::Value {
        claims[field] = value;
        claims
    }

    #[tokio::test]
    async fn a_valid_token_yields_the_citizen() {
        let idp = Idp::new("k1");
        let Principal::Citizen(citizen) = verifier(&idp).verify(&idp.sign(claims())).await.unwrap() else {
            panic!("citizen")
        };
        assert_eq!(citizen.sub, "abc");
        assert_eq!(citizen.trust_level, TrustLevel::Hoch);
    }

    #[tokio::test]
    async fn the_verified_expiry_is_the_tokens_exp() {
        let idp = Idp::new("k1");
        let claims = claims();
        let (_, until) = verifier(&idp).verify_until(&idp.sign(claims.clone())).await.unwrap();
        assert_eq!(until.unix_timestamp(), claims["exp"].as_i64().unwrap());
        let past = get_current_timestamp() - 3600;
        assert!(verifier(&idp).verify_until(&idp.sign(with(claims, "exp", json!(past)))).await.is_err());
    }

    #[tokio::test]
    async fn a_token_signed_by_another_key_is_refused() {
        let idp = Idp::new("k1");
        let forger = Idp::new("k1");
        assert!(matches!(verifier(&idp).verify(&forger.sign(claims())).await, Err(AuthError::Invalid(_))));
    }

    #[tokio::test]
    async fn alg_none_is_refused() {
        let idp = Idp::new("k1");
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
        let token = format!("{header}.{payload}.");
        assert!(verifier(&idp).verify(&token).await.is_err());
    }

    #[tokio::test]
    async fn hs256_with_the_public_key_as_secret_is_refused() {
        let idp = Idp::new("k1");
        let public = serde_json::to_vec(&idp.jwk).unwrap();
        let header = Header { kid: Some("k1".into()), ..Header::new(Algorithm::HS256) };
        let token = encode(&header, &claims(), &EncodingKey::from_secret(&public)).unwrap();
        assert_eq!(verifier(&idp).verify(&token).await, Err(AuthError::AlgorithmNotAllowed));
    }

    #[tokio::test]
    async fn expired_tokens_are_refused() {
        let idp = Idp::new("k1");
        let past = get_current_timestamp() - 3600;
        assert!(verifier(&idp).verify(&idp.sign(with(claims(), "exp", json!(past)))).await.is_err());
    }

    #[tokio::test]
    async fn tokens_not_yet_valid_are_refused() {
        let idp = Idp::new("k1");
        let later = get_current_timestamp() + 3600;
        assert!(verifier(&idp).verify(&idp.sign(with(claims(), "nbf", json!(later)))).await.is_err());
    }

    #[tokio::test]
    async fn wrong_issuer_or_audience_is_refused() {
        let idp = Idp::new("k1");
        assert!(verifier(&idp).verify(&idp.sign(with(claims(), "iss", json!("https://evil.example")))).await.is_err());
        assert!(verifier(&idp).verify(&idp.sign(with(claims(), "aud", json!("sorgeregister-staff")))).await.is_err());
    }

    #[tokio::test]
    async fn a_token_without_expiry_is_refused() {
        let idp = Idp::new("k1");
        let mut no_exp = claims();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert!(verifier(&idp).verify(&idp.sign(no_exp)).await.is_err());
    }

    #[tokio::test]
    async fn an_unknown_key_id_is_refused() {
        let idp = Idp::new("k1");
        let other = Idp::new("k2");
        assert_eq!(verifier(&idp).verify(&other.sign(claims())).await, Err(AuthError::UnknownKey));
    }

    #[tokio::test]
    async fn garbage_is_malformed() {
        let idp = Idp::new("k1");
        assert_eq!(verifier(&idp).verify("not.a.jwt").await, Err(AuthError::Malformed));
    }
}
