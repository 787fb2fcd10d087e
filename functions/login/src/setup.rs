//! Where the login's configuration and keys come from.

use std::path::PathBuf;

use saml::{IdpMetadata, ServiceProvider, SpKeys};
use shared::auth::{PrincipalKind, SessionSigner, SigningKey, Verifier};
use shared::domain::request::TrustLevel;
use shared::ports::SecretStore;

use crate::{BundIdLogin, SESSION_AUDIENCE, SESSION_LIFETIME, SESSION_MAX};

/// The secret holding both SAML key pairs.
const SP_KEYS_SECRET: &str = "saml-sp-keys";
/// The secret holding the key that signs citizen sessions.
const SESSION_KEY_SECRET: &str = "session-signing-key";

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Config(String),
    #[error("BundID IdP metadata {0}: {1}")]
    Metadata(String, String),
    #[error("keys: {0}")]
    Keys(String),
}

/// Where the IdP's metadata is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataSource {
    File(PathBuf),
    /// https only.
    Url(String),
}

#[derive(Debug, Clone)]
pub struct BundIdConfig {
    /// The address the service is reached at, e.g. `https://sorgeregister.example`.
    pub public_base_url: String,
    pub idp_metadata: MetadataSource,
    /// The level `/saml/login` asks for without `level=`.
    pub default_level: TrustLevel,
}

impl BundIdConfig {
    /// `BUNDID_IDP_METADATA` (file path or https URL), `BUNDID_DEFAULT_LEVEL` (default
    /// STORK-QAA-Level-3) and the public base URL; `None` without `BUNDID_IDP_METADATA`.
    pub fn from_env(public_base_url: &str) -> Result<Option<BundIdConfig>, SetupError> {
        let Some(metadata) = std::env::var("BUNDID_IDP_METADATA").ok().filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let idp_metadata = if metadata.starts_with("https://") {
            MetadataSource::Url(metadata)
        } else if metadata.contains("://") {
            return Err(SetupError::Config("BUNDID_IDP_METADATA must be a file path or an https URL".into()));
        } else {
            MetadataSource::File(metadata.into())
        };
        let default_level = match std::env::var("BUNDID_DEFAULT_LEVEL").ok().filter(|v| !v.is_empty()) {
            None => TrustLevel::Substantiell,
            Some(name) => TrustLevel::parse(&name).ok_or_else(|| {
                SetupError::Config(format!(
                    "BUNDID_DEFAULT_LEVEL={name} is none of STORK-QAA-Level-1, STORK-QAA-Level-3, STORK-QAA-Level-4"
                ))
            })?,
        };
        Ok(Some(BundIdConfig {
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            idp_metadata,
            default_level,
        }))
    }

    async fn read_metadata(&self) -> Result<String, SetupError> {
        match &self.idp_metadata {
            MetadataSource::File(path) => std::fs::read_to_string(path)
                .map_err(|e| SetupError::Metadata(path.display().to_string(), e.to_string())),
            MetadataSource::Url(url) => {
                let body = shared::outbound::https_get(url, std::time::Duration::from_secs(10))
                    .await
                    .map_err(|e| SetupError::Metadata(url.clone(), e))?;
                String::from_utf8(body.to_vec()).map_err(|e| SetupError::Metadata(url.clone(), e.to_string()))
            }
        }
    }
}

impl BundIdLogin {
    /// Reads the IdP's metadata and takes the keys from `secrets`, creating them on first start.
    pub async fn load(config: &BundIdConfig, secrets: &dyn SecretStore) -> Result<BundIdLogin, SetupError> {
        let source = format!("{:?}", config.idp_metadata);
        let idp = IdpMetadata::parse(&config.read_metadata().await?)
            .map_err(|e| SetupError::Metadata(source, e.to_string()))?;
        let base = &config.public_base_url;
        let entity_id = format!("{base}/saml/metadata");
        let keys = secrets
            .get_or_create(SP_KEYS_SECRET, &|| {
                SpKeys::generate(&entity_id).map(|k| k.to_json()).map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| SetupError::Keys(e.to_string()))?;
        let keys = SpKeys::from_json(&keys).map_err(|e| SetupError::Keys(e.to_string()))?;
        let session_key = secrets
            .get_or_create(SESSION_KEY_SECRET, &|| {
                SigningKey::generate().map(|k| k.pkcs8().to_vec()).map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| SetupError::Keys(e.to_string()))?;
        let session_key = SigningKey::from_pkcs8(&session_key).map_err(|e| SetupError::Keys(e.to_string()))?;
        let (issuer, kind) = (format!("{base}/saml"), PrincipalKind::Citizen);
        let session = SessionSigner::new(session_key, issuer, SESSION_AUDIENCE, kind, SESSION_LIFETIME, SESSION_MAX);
        let sessions = Verifier::new(vec![session.trusted()]);
        Ok(BundIdLogin {
            sp: ServiceProvider {
                entity_id: entity_id.clone(),
                acs_url: format!("{base}/saml/acs"),
                logout_url: format!("{base}/saml/logout"),
                keys,
            },
            idp,
            session,
            sessions,
            default_level: config.default_level,
        })
    }
}
