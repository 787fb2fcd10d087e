//! The messages we send: the AuthnRequest with BundID's AKDB extension and the LogoutRequest,
//! both written with quick-xml and sent signed by HTTP-Redirect.

use quick_xml::Writer;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use time::OffsetDateTime;

use crate::keys::KeyError;
use crate::metadata::{IdpMetadata, ServiceProvider};
use crate::namespaces::{AKDB, ASSERTION, BINDING_POST, NAMEID_PERSISTENT, PROTOCOL};
use crate::response::attribute_names;
use crate::{new_message_id, redirect, saml_time};

/// The attributes we ask BundID for; none is required (missing ones are simply absent).
const REQUESTED_ATTRIBUTES: [&str; 10] = [
    attribute_names::GIVEN_NAME,
    attribute_names::SURNAME,
    attribute_names::BIRTH_NAME,
    attribute_names::BIRTH_DATE,
    attribute_names::PLACE_OF_BIRTH,
    attribute_names::POSTAL_ADDRESS,
    attribute_names::POSTAL_CODE,
    attribute_names::LOCALITY,
    attribute_names::MAIL,
    attribute_names::POSTBOX_HANDLE,
];

type XmlWriter = Writer<Vec<u8>>;

fn write(w: &mut XmlWriter, event: Event<'_>) {
    w.write_event(event).expect("writing to memory");
}

fn text_element(w: &mut XmlWriter, name: &str, text: &str) {
    write(w, Event::Start(BytesStart::new(name)));
    write(w, Event::Text(BytesText::new(text)));
    write(w, Event::End(BytesEnd::new(name)));
}

/// The opening tag every request of ours starts with.
fn request_start<'a>(name: &'a str, id: &'a str, issue_instant: &'a str, destination: &'a str) -> BytesStart<'a> {
    let mut request = BytesStart::new(name);
    request.push_attribute(("xmlns:samlp", PROTOCOL));
    request.push_attribute(("xmlns:saml", ASSERTION));
    request.push_attribute(("ID", id));
    request.push_attribute(("Version", "2.0"));
    request.push_attribute(("IssueInstant", issue_instant));
    request.push_attribute(("Destination", destination));
    request
}

fn finish(w: XmlWriter) -> String {
    String::from_utf8(w.into_inner()).expect("the writer writes UTF-8")
}

/// A login request at a minimum trust level (`STORK-QAA-Level-1|3|4`).
#[derive(Debug, Clone)]
pub struct AuthnRequest {
    pub id: String,
    pub issue_instant: OffsetDateTime,
    pub minimum_level: String,
}

impl AuthnRequest {
    pub fn new(minimum_level: &str, now: OffsetDateTime) -> AuthnRequest {
        AuthnRequest { id: new_message_id(), issue_instant: now, minimum_level: minimum_level.to_owned() }
    }

    pub fn xml(&self, sp: &ServiceProvider, idp: &IdpMetadata) -> String {
        let mut w = Writer::new(Vec::new());
        let instant = saml_time(self.issue_instant);
        let mut request = request_start("samlp:AuthnRequest", &self.id, &instant, &idp.sso_redirect_url);
        request.push_attribute(("AssertionConsumerServiceURL", sp.acs_url.as_str()));
        request.push_attribute(("ProtocolBinding", BINDING_POST));
        write(&mut w, Event::Start(request));
        text_element(&mut w, "saml:Issuer", &sp.entity_id);
        write(&mut w, Event::Start(BytesStart::new("samlp:Extensions")));
        let mut akdb = BytesStart::new("akdb:AuthenticationRequest");
        akdb.push_attribute(("xmlns:akdb", AKDB));
        akdb.push_attribute(("Version", "2"));
        write(&mut w, Event::Start(akdb));
        write(&mut w, Event::Start(BytesStart::new("akdb:RequestedAttributes")));
        for name in REQUESTED_ATTRIBUTES {
            let mut attribute = BytesStart::new("akdb:RequestedAttribute");
            attribute.push_attribute(("Name", name));
            attribute.push_attribute(("RequiredAttribute", "false"));
            write(&mut w, Event::Empty(attribute));
        }
        write(&mut w, Event::End(BytesEnd::new("akdb:RequestedAttributes")));
        write(&mut w, Event::End(BytesEnd::new("akdb:AuthenticationRequest")));
        write(&mut w, Event::End(BytesEnd::new("samlp:Extensions")));
        let mut policy = BytesStart::new("samlp:NameIDPolicy");
        policy.push_attribute(("Format", NAMEID_PERSISTENT));
        policy.push_attribute(("AllowCreate", "true"));
        write(&mut w, Event::Empty(policy));
        let mut context = BytesStart::new("samlp:RequestedAuthnContext");
        context.push_attribute(("Comparison", "minimum"));
        write(&mut w, Event::Start(context));
        text_element(&mut w, "saml:AuthnContextClassRef", &self.minimum_level);
        write(&mut w, Event::End(BytesEnd::new("samlp:RequestedAuthnContext")));
        write(&mut w, Event::End(BytesEnd::new("samlp:AuthnRequest")));
        finish(w)
    }

    /// Where to send the browser: the IdP's SSO endpoint with this request, signed.
    pub fn redirect_url(&self, sp: &ServiceProvider, idp: &IdpMetadata, relay_state: &str) -> Result<String, KeyError> {
        redirect::signed_url(&idp.sso_redirect_url, &self.xml(sp, idp), relay_state, &sp.keys.signing)
    }
}

/// Ends the session at the IdP too (single logout).
#[derive(Debug, Clone)]
pub struct LogoutRequest {
    pub id: String,
    pub issue_instant: OffsetDateTime,
    pub name_id: String,
}

impl LogoutRequest {
    pub fn new(name_id: &str, now: OffsetDateTime) -> LogoutRequest {
        LogoutRequest { id: new_message_id(), issue_instant: now, name_id: name_id.to_owned() }
    }

    fn xml(&self, sp: &ServiceProvider, destination: &str) -> String {
        let mut w = Writer::new(Vec::new());
        let instant = saml_time(self.issue_instant);
        write(&mut w, Event::Start(request_start("samlp:LogoutRequest", &self.id, &instant, destination)));
        text_element(&mut w, "saml:Issuer", &sp.entity_id);
        let mut name_id = BytesStart::new("saml:NameID");
        name_id.push_attribute(("Format", NAMEID_PERSISTENT));
        write(&mut w, Event::Start(name_id));
        write(&mut w, Event::Text(BytesText::new(&self.name_id)));
        write(&mut w, Event::End(BytesEnd::new("saml:NameID")));
        write(&mut w, Event::End(BytesEnd::new("samlp:LogoutRequest")));
        finish(w)
    }

    /// The IdP's single-logout endpoint with this request, signed; `None` if it has none.
    pub fn redirect_url(
        &self,
        sp: &ServiceProvider,
        idp: &IdpMetadata,
        relay_state: &str,
    ) -> Result<Option<String>, KeyError> {
        let Some(destination) = &idp.slo_redirect_url else { return Ok(None) };
        redirect::signed_url(destination, &self.xml(sp, destination), relay_state, &sp.keys.signing).map(Some)
    }
}
