//! Generated hostile `SAMLResponse`s: arbitrary text, and responses built from the parts a real
//! one has (assertions, encrypted assertions, signatures, document types, comments, entities) in
//! hostile combinations, none signed by the IdP. Every one must be refused without a panic, and
//! refused with the one public code: nothing unsigned gets far enough to tell an attacker which
//! field was wrong. `PROPTEST_CASES` sets the number of cases (256 unless told).

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use saml::{IdpMetadata, ServiceProvider, SpKeyPair, SpKeys, verify_response};
use time::OffsetDateTime;

const IDP: &str = "https://idp.bund.example/saml";
const SP: &str = "https://sorgeregister.example/saml";
const ACS: &str = "https://sorgeregister.example/login/saml/acs";

static PARTIES: LazyLock<(ServiceProvider, IdpMetadata)> = LazyLock::new(|| {
    let idp_key = SpKeyPair::generate("idp.bund.example").expect("an IdP key");
    let certificate = STANDARD.decode(idp_key.cert_base64().expect("a certificate")).expect("DER");
    let sp = ServiceProvider {
        entity_id: SP.into(),
        acs_url: ACS.into(),
        logout_url: "https://sorgeregister.example/login/saml/logout".into(),
        keys: SpKeys::generate(SP).expect("SP keys"),
    };
    let idp = IdpMetadata {
        entity_id: IDP.into(),
        sso_redirect_url: "https://idp.bund.example/sso".into(),
        slo_redirect_url: None,
        signing_certificates: vec![certificate],
        encryption_methods: vec!["http://www.w3.org/2009/xmlenc11#aes256-gcm".into()],
    };
    (sp, idp)
});

/// Values an attacker puts into attributes and text: our own ids and addresses, markup,
/// entity references, control characters and arbitrary text.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(IDP.to_owned()),
        Just(SP.to_owned()),
        Just(ACS.to_owned()),
        Just("_request-1".to_owned()),
        Just("urn:oasis:names:tc:SAML:2.0:status:Success".to_owned()),
        Just("2026-12-01T12:00:00Z".to_owned()),
        Just("&amp;&lt;&#0;&#x110000;&xxe;".to_owned()),
        Just("\"><saml:Assertion>".to_owned()),
        "[\\PC\\u{0}-\\u{1f}]{0,24}",
    ]
}

/// One element of a response, as XML text.
fn part() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        value().prop_map(|v| format!("<saml:Issuer>{}</saml:Issuer>", escape(&v))),
        value().prop_map(|v| format!(r#"<samlp:Status><samlp:StatusCode Value="{}"/></samlp:Status>"#, escape(&v))),
        value().prop_map(|v| format!(r#"<saml:Subject><saml:NameID>{}</saml:NameID></saml:Subject>"#, escape(&v))),
        value().prop_map(|v| format!(
            r#"<saml:Conditions NotBefore="{0}" NotOnOrAfter="{0}"><saml:AudienceRestriction><saml:Audience>{0}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
            escape(&v)
        )),
        value().prop_map(|v| format!(
            r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="{}"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>{}</ds:SignatureValue></ds:Signature>"#,
            escape(&v),
            STANDARD.encode(v.as_bytes())
        )),
        value().prop_map(|v| format!(
            r#"<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:EncryptionMethod Algorithm="{}"/><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>"#,
            escape(&v),
            STANDARD.encode(v.as_bytes())
        )),
        Just("<!-- a comment -->".to_owned()),
        Just("<?xml-stylesheet href=\"x\"?>".to_owned()),
        value().prop_map(|v| escape(&v)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        (prop::collection::vec(inner, 0..4), value()).prop_map(|(children, id)| {
            format!(r#"<saml:Assertion ID="{}" Version="2.0">{}</saml:Assertion>"#, escape(&id), children.concat())
        })
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;")
}

/// A whole response: an optional prologue (document type, entities), the Response element with
/// hostile attributes and parts, sometimes cut short or followed by a second root.
fn response() -> impl Strategy<Value = String> {
    let prologue = prop_oneof![
        Just(String::new()),
        Just(r#"<?xml version="1.0" encoding="UTF-8"?>"#.to_owned()),
        Just(r#"<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>"#.to_owned()),
        Just(r#"<!doctype r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>"#.to_owned()),
    ];
    (prologue, value(), value(), prop::collection::vec(part(), 0..5), 0usize..3, any::<prop::sample::Index>()).prop_map(
        |(prologue, destination, in_response_to, parts, ending, cut)| {
            let xml = format!(
                r#"{prologue}<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r" Version="2.0" IssueInstant="2026-12-01T12:00:00Z" Destination="{}" InResponseTo="{}">{}</samlp:Response>"#,
                escape(&destination),
                escape(&in_response_to),
                parts.concat()
            );
            match ending {
                0 => xml,
                1 => format!("{xml}<samlp:Response/>"),
                _ => xml.chars().take(cut.index(xml.chars().count() + 1)).collect(),
            }
        },
    )
}

fn assert_refused_as_unauthentic(encoded: &str) {
    let (sp, idp) = &*PARTIES;
    let now = OffsetDateTime::from_unix_timestamp(1_796_126_400).expect("2026-12-01T12:00:00Z");
    match verify_response(encoded, sp, idp, now) {
        Ok(assertion) => panic!("an unsigned response was accepted: {assertion:?}"),
        Err(refusal) => assert_eq!(refusal.public_code(), "refused", "{refusal:?} for {encoded:?}"),
    }
}

proptest! {
    #[test]
    fn arbitrary_text_is_refused(encoded in any::<String>()) {
        assert_refused_as_unauthentic(&encoded);
    }

    #[test]
    fn arbitrary_bytes_in_base64_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        assert_refused_as_unauthentic(&STANDARD.encode(bytes));
    }

    #[test]
    fn unsigned_responses_are_refused_alike(xml in response()) {
        assert_refused_as_unauthentic(&STANDARD.encode(xml.as_bytes()));
    }
}

#[test]
fn an_oversized_response_is_refused_before_it_is_decoded() {
    let xml = format!("<samlp:Response>{}</samlp:Response>", "a".repeat(300 * 1024));
    assert_refused_as_unauthentic(&STANDARD.encode(xml));
}
