//! The service provider's own keys: one pair for signing requests, one for receiving encrypted
//! assertions, each with a self-signed certificate that the metadata publishes (BundID trusts
//! the certificate it is given at registration, not a CA).

use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// How long a generated certificate is valid; BundID is given the new one before it ends.
const CERTIFICATE_YEARS: i64 = 3;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot generate a key: {0}")]
    Generate(String),
    #[error("the stored key is unusable: {0}")]
    Unusable(String),
}

/// A private key (PKCS#8 PEM) and its certificate (PEM).
#[derive(Clone, Serialize, Deserialize)]
pub struct SpKeyPair {
    pub key_pem: String,
    pub cert_pem: String,
}

impl std::fmt::Debug for SpKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpKeyPair").field("cert_pem", &self.cert_pem).finish_non_exhaustive()
    }
}

impl SpKeyPair {
    /// An RSA-3072 key with a self-signed certificate for `common_name`.
    pub fn generate(common_name: &str) -> Result<SpKeyPair, KeyError> {
        let generate = |e: &dyn std::fmt::Display| KeyError::Generate(e.to_string());
        let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_3072)
            .map_err(|e| generate(&e))?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| generate(&e))?;
        params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(365 * CERTIFICATE_YEARS);
        let cert = params.self_signed(&key).map_err(|e| generate(&e))?;
        Ok(SpKeyPair { key_pem: key.serialize_pem(), cert_pem: cert.pem() })
    }

    /// The certificate's DER in base64, as `ds:X509Certificate` carries it.
    pub fn cert_base64(&self) -> Result<String, KeyError> {
        pem_body(&self.cert_pem, "CERTIFICATE")
    }

    fn rsa(&self) -> Result<RsaKeyPair, KeyError> {
        let der =
            STANDARD.decode(pem_body(&self.key_pem, "PRIVATE KEY")?).map_err(|e| KeyError::Unusable(e.to_string()))?;
        RsaKeyPair::from_pkcs8(&der).map_err(|e| KeyError::Unusable(e.to_string()))
    }

    /// RSA-SHA256 (PKCS#1 v1.5) over `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rsa = self.rsa()?;
        let mut signature = vec![0; rsa.public_modulus_len()];
        rsa.sign(&RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), message, &mut signature)
            .map_err(|e| KeyError::Unusable(e.to_string()))?;
        Ok(signature)
    }
}

/// The base64 body of the first PEM block labelled `label`.
fn pem_body(pem: &str, label: &str) -> Result<String, KeyError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).ok_or_else(|| KeyError::Unusable(format!("no {label} block")))? + begin.len();
    let stop = pem[start..].find(&end).ok_or_else(|| KeyError::Unusable(format!("{label} block not closed")))?;
    Ok(pem[start..start + stop].split_whitespace().collect())
}

/// Both key pairs of the service provider; kept in the secret store as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpKeys {
    pub signing: SpKeyPair,
    pub encryption: SpKeyPair,
}

impl SpKeys {
    pub fn generate(entity_id: &str) -> Result<SpKeys, KeyError> {
        let common_name = entity_id.trim_start_matches("https://").trim_start_matches("http://");
        Ok(SpKeys {
            signing: SpKeyPair::generate(&format!("{common_name} Signatur"))?,
            encryption: SpKeyPair::generate(&format!("{common_name} Verschlüsselung"))?,
        })
    }

    /// Parses keys stored by [`SpKeys::to_json`], checking that both private keys load.
    pub fn from_json(bytes: &[u8]) -> Result<SpKeys, KeyError> {
        let keys: SpKeys = serde_json::from_slice(bytes).map_err(|e| KeyError::Unusable(e.to_string()))?;
        keys.signing.rsa()?;
        keys.encryption.rsa()?;
        Ok(keys)
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("keys serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_survive_the_secret_store_and_sign() {
        let keys = SpKeys::generate("https://sorgeregister.example/saml").unwrap();
        let again = SpKeys::from_json(&keys.to_json()).unwrap();
        assert_eq!(again.signing.cert_pem, keys.signing.cert_pem);
        assert_ne!(keys.signing.cert_pem, keys.encryption.cert_pem, "two key pairs, not one");
        let signature = again.signing.sign(b"SAMLRequest=x").unwrap();
        assert_eq!(signature.len(), 384, "RSA-3072");
        assert!(!format!("{keys:?}").contains("PRIVATE KEY"), "debug output never shows a private key");
    }
}
