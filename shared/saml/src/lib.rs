//! The service-provider side of SAML 2.0 Web Browser SSO as BundID speaks it: our metadata, the
//! AuthnRequest by HTTP-Redirect (with the AKDB extension and the requested trust level), and
//! the verification of the IdP's answer by HTTP-POST.
//!
//! XML signatures and encryption are bergshamra's (`DsigContext::new`: only the IdP's metadata
//! keys, reference positions checked against wrapping). This crate decides what a verified
//! answer must look like and reads the assertion from the very DOM nodes the signature covered.
//! It knows nothing of HTTP, storage or sessions: the caller keeps pending requests and used
//! assertion ids.

mod keys;
mod metadata;
mod namespaces;
mod redirect;
mod request;
mod response;

pub use keys::{KeyError, SpKeyPair, SpKeys};
pub use metadata::{IdpMetadata, MetadataError, ServiceProvider};
pub use request::{AuthnRequest, LogoutRequest};
pub use response::{Refusal, VerifiedAssertion, attribute_names, verify_response};

/// SAML time stamps: UTC with seconds, `2026-11-23T12:00:00Z`.
fn saml_time(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// A fresh message id: an NCName (starts with a letter or `_`), 128 random bits.
pub fn new_message_id() -> String {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system's random source works");
    format!("_{}", hex::encode(bytes))
}
