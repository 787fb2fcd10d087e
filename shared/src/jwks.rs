//! Identity providers' key sets (JWKS), fetched over https and cached per URL: used for
//! [`KEYS_LIFETIME`], and fetched again at once when a token names a key the cached set lacks
//! (the provider rotated its keys), at most once per [`REFETCH_INTERVAL`] and URL, so that
//! made-up key ids cannot make us hammer a provider.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jsonwebtoken::jwk::JwkSet;
use time::{Duration, OffsetDateTime};

use crate::auth::VerifyingKeys;
use crate::ports::Clock;

/// How long fetched keys are used before they are fetched again.
pub const KEYS_LIFETIME: Duration = Duration::minutes(10);
/// How soon a token with an unknown key may make us fetch the keys again.
pub const REFETCH_INTERVAL: Duration = Duration::minutes(1);

#[derive(Debug, thiserror::Error)]
#[error("JWKS {url}: {reason}")]
pub struct JwksError {
    pub url: String,
    pub reason: String,
}

/// Where key sets come from: [`crate::outbound::HttpClient`] in production, a fixed set in tests.
#[async_trait]
pub trait JwksSource: Send + Sync {
    async fn fetch(&self, url: &str) -> Result<JwkSet, JwksError>;
}

/// Key sets by URL, with when each was fetched and last asked for.
pub struct JwksCache {
    source: Arc<dyn JwksSource>,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Clone, Default)]
struct Entry {
    /// The last set fetched (parsed once), and when.
    keys: Option<(OffsetDateTime, VerifyingKeys)>,
    /// The last fetch tried, whether it worked or not.
    attempted_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache").finish_non_exhaustive()
    }
}

impl JwksCache {
    pub fn new(source: Arc<dyn JwksSource>, clock: Arc<dyn Clock>) -> Self {
        Self { source, clock, entries: Mutex::new(HashMap::new()) }
    }

    fn entry(&self, url: &str) -> Entry {
        self.entries.lock().expect("key cache lock").get(url).cloned().unwrap_or_default()
    }

    fn tried_lately(&self, entry: &Entry) -> bool {
        entry.attempted_at.is_some_and(|at| self.clock.now() - at < REFETCH_INTERVAL)
    }

    /// One fetch of `url`, remembered whether it works or not.
    async fn fetch(&self, url: &str) -> Result<VerifyingKeys, JwksError> {
        let now = self.clock.now();
        self.entries.lock().expect("key cache lock").entry(url.to_owned()).or_default().attempted_at = Some(now);
        let keys = VerifyingKeys::from(self.source.fetch(url).await?);
        self.entries.lock().expect("key cache lock").entry(url.to_owned()).or_default().keys =
            Some((now, keys.clone()));
        Ok(keys)
    }

    /// The keys of `url`: cached while they live, else fetched. While the provider does not
    /// answer, the last keys it gave stay in use, and it is asked at most once a minute.
    pub async fn keys(&self, url: &str) -> Result<VerifyingKeys, JwksError> {
        let entry = self.entry(url);
        match entry.keys {
            Some((fetched_at, keys)) if self.clock.now() - fetched_at < KEYS_LIFETIME => Ok(keys),
            Some((_, keys)) if self.tried_lately(&entry) => Ok(keys),
            stale => match self.fetch(url).await {
                Ok(keys) => Ok(keys),
                Err(error) => match stale {
                    Some((_, keys)) => {
                        tracing::warn!(%error, "identity provider keys not renewed; the last ones stay in use");
                        Ok(keys)
                    }
                    None => Err(error),
                },
            },
        }
    }

    /// The keys of `url` fetched again, because a token names a key the cached set lacks; `None`
    /// when they were asked for less than [`REFETCH_INTERVAL`] ago.
    pub async fn refetch(&self, url: &str) -> Result<Option<VerifyingKeys>, JwksError> {
        if self.tried_lately(&self.entry(url)) {
            return Ok(None);
        }
        self.fetch(url).await.map(Some)
    }

    /// Verifies `token` with the keys of `url`; a token with a key the cached set lacks makes
    /// one fetch of the current keys (rotation) and is checked again with them.
    pub async fn verify<T>(
        &self,
        url: &str,
        verify: impl Fn(&VerifyingKeys) -> Result<T, crate::auth::AuthError>,
    ) -> Result<T, crate::auth::AuthError> {
        use crate::auth::AuthError;
        let unavailable = |error: JwksError| {
            tracing::warn!(%error, "identity provider keys unavailable");
            AuthError::UnknownKey
        };
        match verify(&self.keys(url).await.map_err(unavailable)?) {
            Err(AuthError::UnknownKey) => match self.refetch(url).await.map_err(unavailable)? {
                Some(keys) => verify(&keys),
                None => Err(AuthError::UnknownKey),
            },
            other => other,
        }
    }
}

/// Key sets over https ([`crate::outbound::HttpClient`]).
#[async_trait]
impl JwksSource for crate::outbound::HttpClient {
    async fn fetch(&self, url: &str) -> Result<JwkSet, JwksError> {
        let failed = |reason: String| JwksError { url: url.to_owned(), reason };
        let body = self.get(url).await.map_err(failed)?;
        serde_json::from_slice(&body).map_err(|e| failed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::json;

    use super::*;
    use crate::auth::{AuthError, FetchedIssuer, Principal, PrincipalKind, SigningKey, Verifier};
    use crate::ports::ManualClock;

    const ISSUER: &str = "https://idp.example";
    const JWKS: &str = "https://idp.example/jwks";

    /// A provider's key endpoint: whatever set it publishes now, with the fetches counted.
    struct Provider {
        published: Mutex<Option<JwkSet>>,
        fetches: AtomicUsize,
    }

    #[async_trait]
    impl JwksSource for Provider {
        async fn fetch(&self, url: &str) -> Result<JwkSet, JwksError> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            let down = || JwksError { url: url.into(), reason: "HTTP 503".into() };
            self.published.lock().unwrap().clone().ok_or_else(down)
        }
    }

    /// Tokens are checked against the real time; the cache's clock is the test's.
    fn token(key: &SigningKey) -> String {
        let claims = json!({"sub": "s-1", "role": "caseworker", "office_id": "jugendamt-bremen"});
        key.sign(claims, ISSUER, "sorgeregister", OffsetDateTime::now_utc(), Duration::hours(1)).0
    }

    #[tokio::test]
    async fn a_rotated_key_counts_at_once_and_unknown_keys_fetch_at_most_once_a_minute() {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let (old, new) = (SigningKey::generate().unwrap(), SigningKey::generate().unwrap());
        let provider = Arc::new(Provider { published: Mutex::new(Some(old.jwks())), fetches: AtomicUsize::new(0) });
        let issuer = FetchedIssuer {
            issuer: ISSUER.into(),
            audience: "sorgeregister".into(),
            kind: PrincipalKind::Staff,
            jwks_url: JWKS.into(),
        };
        let keys = Arc::new(JwksCache::new(provider.clone(), clock.clone()));
        let verifier = Verifier::default().fetching(vec![issuer], keys);
        let fetches = || provider.fetches.load(Ordering::SeqCst);

        assert!(matches!(verifier.verify(&token(&old)).await, Ok(Principal::Staff(_))));
        assert!(verifier.verify(&token(&old)).await.is_ok());
        assert_eq!(fetches(), 1, "keys are cached");

        // The provider rotates: a token with the new key makes one fetch and is accepted.
        clock.advance(Duration::minutes(2));
        *provider.published.lock().unwrap() = Some(new.jwks());
        assert!(verifier.verify(&token(&new)).await.is_ok(), "a rotated key counts at once");
        assert_eq!(fetches(), 2);

        // Made-up key ids do not make us fetch again within the minute.
        let stranger = SigningKey::generate().unwrap();
        for _ in 0..5 {
            assert_eq!(verifier.verify(&token(&stranger)).await, Err(AuthError::UnknownKey));
        }
        assert_eq!(fetches(), 2, "at most one fetch a minute");
        clock.advance(Duration::seconds(61));
        assert_eq!(verifier.verify(&token(&stranger)).await, Err(AuthError::UnknownKey));
        assert_eq!(fetches(), 3, "a minute later, once more");

        // The retired key is gone once its set was fetched again.
        assert_eq!(verifier.verify(&token(&old)).await, Err(AuthError::UnknownKey));

        // The provider goes down: the keys it gave last stay in use, and it is asked once a minute.
        *provider.published.lock().unwrap() = None;
        clock.advance(KEYS_LIFETIME + Duration::minutes(1));
        for _ in 0..5 {
            assert!(verifier.verify(&token(&new)).await.is_ok(), "the last keys still verify");
            assert_eq!(verifier.verify(&token(&stranger)).await, Err(AuthError::UnknownKey));
        }
        assert_eq!(fetches(), 4, "one try while the provider is down");
    }
}
