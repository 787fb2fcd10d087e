//! The HTTP-Redirect binding (SAML bindings § 3.4): DEFLATE, base64, URL-encode, and an
//! RSA-SHA256 signature over the exact query string.

use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::DeflateEncoder;

use crate::keys::{KeyError, SpKeyPair};
use crate::namespaces::RSA_SHA256;

/// `destination` with the signed request `xml` (`SAMLRequest`) and the relay state.
pub(crate) fn signed_url(destination: &str, xml: &str, relay_state: &str, key: &SpKeyPair) -> Result<String, KeyError> {
    let mut deflater = DeflateEncoder::new(Vec::new(), Compression::default());
    deflater.write_all(xml.as_bytes()).expect("deflating into memory");
    let message = STANDARD.encode(deflater.finish().expect("deflating into memory"));
    let pairs = [("SAMLRequest", message.as_str()), ("RelayState", relay_state), ("SigAlg", RSA_SHA256)];
    // The signature covers the query exactly as sent, in this order (§ 3.4.4.1).
    let signed = serde_urlencoded::to_string(&pairs).expect("plain pairs encode");
    let signature = STANDARD.encode(key.sign(signed.as_bytes())?);
    let signature = serde_urlencoded::to_string([("Signature", signature)]).expect("plain pairs encode");
    let separator = if destination.contains('?') { '&' } else { '?' };
    Ok(format!("{destination}{separator}{signed}&{signature}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::DeflateDecoder;
    use std::io::Read as _;

    #[test]
    fn the_message_inflates_back_and_the_signature_covers_the_query() {
        let key = SpKeyPair::generate("test").unwrap();
        let url = signed_url("https://idp.example/sso?tenant=1", "<x a=\"ä\"/>", "r1", &key).unwrap();
        let (base, query) = url.split_once('?').unwrap();
        assert_eq!(base, "https://idp.example/sso");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
        let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["tenant", "SAMLRequest", "RelayState", "SigAlg", "Signature"]);
        let deflated = STANDARD.decode(&pairs[1].1).unwrap();
        let mut xml = String::new();
        DeflateDecoder::new(deflated.as_slice()).read_to_string(&mut xml).unwrap();
        assert_eq!(xml, "<x a=\"ä\"/>");
        assert_eq!(pairs[3].1, RSA_SHA256);
        let signed_part = query.trim_start_matches("tenant=1&").split("&Signature=").next().unwrap();
        let signature = STANDARD.decode(&pairs[4].1).unwrap();
        assert_eq!(signature, key.sign(signed_part.as_bytes()).unwrap(), "PKCS#1 v1.5 signatures are deterministic");
    }
}
