//! Metadata: the IdP's (read from the operator's file or URL) and ours (for registering with
//! BundID).

use quick_xml::Writer;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use uppsala::{Document, NodeId};

use crate::keys::{KeyError, SpKeys};
use crate::namespaces::{BINDING_POST, BINDING_REDIRECT, DSIG, METADATA, NAMEID_PERSISTENT, PROTOCOL};
use crate::response::{child_elements, elements_named};

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("the IdP metadata is not XML: {0}")]
    NotXml(String),
    #[error("the IdP metadata must not carry a document type declaration")]
    Doctype,
    #[error("the IdP metadata has no IDPSSODescriptor")]
    NoIdp,
    #[error("the IdP metadata has several identity providers; give the one BundID publishes")]
    SeveralIdps,
    #[error("the IdP metadata lacks {0}")]
    Missing(&'static str),
}

/// What we need to know of the identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    pub entity_id: String,
    /// Where AuthnRequests go (HTTP-Redirect binding).
    pub sso_redirect_url: String,
    /// Where LogoutRequests go, if the IdP offers single logout by redirect.
    pub slo_redirect_url: Option<String>,
    /// The IdP's signing certificates (DER), any of which may sign a response.
    pub signing_certificates: Vec<Vec<u8>>,
    /// The encryption algorithms its key descriptors name (`EncryptionMethod`), if any.
    pub encryption_methods: Vec<String>,
}

impl IdpMetadata {
    pub fn parse(xml: &str) -> Result<IdpMetadata, MetadataError> {
        if crate::response::has_doctype(xml) {
            return Err(MetadataError::Doctype);
        }
        let doc = uppsala::parse(xml).map_err(|e| MetadataError::NotXml(e.to_string()))?;
        let root = doc.document_element().ok_or(MetadataError::NoIdp)?;
        let descriptors = elements_named(&doc, root, METADATA, "IDPSSODescriptor");
        let idp = match descriptors.as_slice() {
            [] => return Err(MetadataError::NoIdp),
            [one] => *one,
            _ => return Err(MetadataError::SeveralIdps),
        };
        let entity = doc.parent(idp).ok_or(MetadataError::Missing("EntityDescriptor"))?;
        let entity_id = doc.get_attribute(entity, "entityID").ok_or(MetadataError::Missing("entityID"))?.to_owned();
        let endpoint = |name: &str| {
            child_elements(&doc, idp, METADATA, name)
                .into_iter()
                .find(|&e| doc.get_attribute(e, "Binding") == Some(BINDING_REDIRECT))
                .and_then(|e| doc.get_attribute(e, "Location"))
                .map(str::to_owned)
        };
        let sso_redirect_url =
            endpoint("SingleSignOnService").ok_or(MetadataError::Missing("SingleSignOnService (HTTP-Redirect)"))?;
        let signing_certificates = signing_certificates(&doc, idp);
        if signing_certificates.is_empty() {
            return Err(MetadataError::Missing("a signing certificate"));
        }
        let encryption_methods = child_elements(&doc, idp, METADATA, "KeyDescriptor")
            .into_iter()
            .flat_map(|key| child_elements(&doc, key, METADATA, "EncryptionMethod"))
            .filter_map(|method| doc.get_attribute(method, "Algorithm").map(str::to_owned))
            .collect();
        Ok(IdpMetadata {
            entity_id,
            sso_redirect_url,
            slo_redirect_url: endpoint("SingleLogoutService"),
            signing_certificates,
            encryption_methods,
        })
    }
}

/// Certificates of key descriptors for signing (or for any use, when `use` is absent).
fn signing_certificates(doc: &Document<'_>, idp: NodeId) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    child_elements(doc, idp, METADATA, "KeyDescriptor")
        .into_iter()
        .filter(|&k| doc.get_attribute(k, "use").is_none_or(|usage| usage == "signing"))
        .flat_map(|k| elements_named(doc, k, DSIG, "X509Certificate"))
        .filter_map(|c| {
            let text: String = doc.text_content_deep(c).split_whitespace().collect();
            base64::engine::general_purpose::STANDARD.decode(text).ok()
        })
        .collect()
}

/// This service as a SAML service provider.
#[derive(Debug, Clone)]
pub struct ServiceProvider {
    pub entity_id: String,
    /// The assertion consumer service (HTTP-POST).
    pub acs_url: String,
    /// Where the IdP sends logout answers (HTTP-Redirect).
    pub logout_url: String,
    pub keys: SpKeys,
}

impl ServiceProvider {
    /// Our metadata: both certificates, the ACS and the logout endpoint. Requests are signed,
    /// assertions must be.
    pub fn metadata_xml(&self) -> Result<String, KeyError> {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        let write = |w: &mut Writer<Vec<u8>>, event: Event<'_>| w.write_event(event).expect("writing to memory");
        let mut entity = BytesStart::new("md:EntityDescriptor");
        entity.push_attribute(("xmlns:md", METADATA));
        entity.push_attribute(("xmlns:ds", DSIG));
        entity.push_attribute(("entityID", self.entity_id.as_str()));
        write(&mut w, Event::Start(entity));
        let mut sp = BytesStart::new("md:SPSSODescriptor");
        sp.push_attribute(("AuthnRequestsSigned", "true"));
        sp.push_attribute(("WantAssertionsSigned", "true"));
        sp.push_attribute(("protocolSupportEnumeration", PROTOCOL));
        write(&mut w, Event::Start(sp));
        for (usage, pair) in [("signing", &self.keys.signing), ("encryption", &self.keys.encryption)] {
            let mut descriptor = BytesStart::new("md:KeyDescriptor");
            descriptor.push_attribute(("use", usage));
            write(&mut w, Event::Start(descriptor));
            for name in ["ds:KeyInfo", "ds:X509Data", "ds:X509Certificate"] {
                write(&mut w, Event::Start(BytesStart::new(name)));
            }
            write(&mut w, Event::Text(BytesText::new(&pair.cert_base64()?)));
            for name in ["ds:X509Certificate", "ds:X509Data", "ds:KeyInfo"] {
                write(&mut w, Event::End(BytesEnd::new(name)));
            }
            // Assertions for us are encrypted with authenticated encryption only.
            if usage == "encryption" {
                for algorithm in crate::response::AUTHENTICATED_CONTENT_ENCRYPTION {
                    let mut method = BytesStart::new("md:EncryptionMethod");
                    method.push_attribute(("Algorithm", algorithm));
                    write(&mut w, Event::Empty(method));
                }
            }
            write(&mut w, Event::End(BytesEnd::new("md:KeyDescriptor")));
        }
        let mut logout = BytesStart::new("md:SingleLogoutService");
        logout.push_attribute(("Binding", BINDING_REDIRECT));
        logout.push_attribute(("Location", self.logout_url.as_str()));
        write(&mut w, Event::Empty(logout));
        write(&mut w, Event::Start(BytesStart::new("md:NameIDFormat")));
        write(&mut w, Event::Text(BytesText::new(NAMEID_PERSISTENT)));
        write(&mut w, Event::End(BytesEnd::new("md:NameIDFormat")));
        let mut acs = BytesStart::new("md:AssertionConsumerService");
        acs.push_attribute(("Binding", BINDING_POST));
        acs.push_attribute(("Location", self.acs_url.as_str()));
        acs.push_attribute(("index", "0"));
        acs.push_attribute(("isDefault", "true"));
        write(&mut w, Event::Empty(acs));
        write(&mut w, Event::End(BytesEnd::new("md:SPSSODescriptor")));
        write(&mut w, Event::End(BytesEnd::new("md:EntityDescriptor")));
        Ok(String::from_utf8(w.into_inner()).expect("the writer writes UTF-8"))
    }
}
