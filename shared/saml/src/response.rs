//! Verifying the IdP's `samlp:Response` (HTTP-POST binding).
//!
//! The rules, in the order they are checked:
//! 1. Base64 of at most 256 KiB of UTF-8 XML, without a document type declaration (no entities)
//!    and without comments or processing instructions: a comment inside a signed value survives
//!    exclusive canonicalisation unseen, so a `NameID` could be read differently than signed.
//! 2. Authenticity, before anything is read or decrypted: every signature in the document must
//!    verify against the IdP's metadata keys, and one must cover the assertion itself or the whole
//!    Response. Exactly one assertion in the whole document, a child of the Response (or of its
//!    `EncryptedAssertion`). Together these refuse the wrapping attacks: a moved or duplicated
//!    assertion is a second one, a forged one is unsigned. An encrypted assertion is decrypted
//!    only inside a Response whose signature verified, and only with authenticated encryption
//!    (AES-GCM); AES-CBC only where the IdP's metadata offers nothing else. Every failure of this
//!    step is one refusal to the browser ([`Refusal::public_code`]), so that no answer tells an
//!    attacker which check a forged or altered response failed (no padding oracle).
//! 3. The Response: addressed to our ACS (`Destination`), from the IdP, with status Success,
//!    answering a request (`InResponseTo`; unsolicited answers are refused).
//! 4. The assertion: the IdP as issuer, our entity id in every audience restriction, inside its
//!    validity window (60 s skew), a bearer confirmation for our ACS answering the same request.
//!
//! Values are read from the nodes the signature covered, never from a second parse.

use std::collections::{BTreeMap, HashSet};

use base64::Engine as _;
use bergshamra::keys::loader;
use bergshamra::{DsigContext, EncContext, KeysManager, VerifyResult};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use uppsala::{Document, NodeId, NodeKind};

use crate::metadata::{IdpMetadata, ServiceProvider};
use crate::namespaces::{ASSERTION, CONFIRMATION_BEARER, PROTOCOL, STATUS_SUCCESS, XMLENC};

/// BundID's attribute names (URIs of the `urn:oid:` form).
pub mod attribute_names {
    pub const GIVEN_NAME: &str = "urn:oid:2.5.4.42";
    pub const SURNAME: &str = "urn:oid:2.5.4.4";
    pub const BIRTH_NAME: &str = "urn:oid:1.2.40.0.10.2.1.1.225566";
    /// `YYYY-MM-DD`
    pub const BIRTH_DATE: &str = "urn:oid:1.2.40.0.10.2.1.1.55";
    pub const PLACE_OF_BIRTH: &str = "urn:oid:1.3.6.1.5.5.7.9.2";
    /// Street and house number.
    pub const POSTAL_ADDRESS: &str = "urn:oid:2.5.4.16";
    pub const POSTAL_CODE: &str = "urn:oid:2.5.4.17";
    pub const LOCALITY: &str = "urn:oid:2.5.4.7";
    pub const MAIL: &str = "urn:oid:0.9.2342.19200300.100.1.3";
    /// The handle of her BundID postbox.
    pub const POSTBOX_HANDLE: &str = "urn:oid:2.5.4.18";
}

const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// Tolerated clock difference to the IdP.
const CLOCK_SKEW: Duration = Duration::seconds(60);

/// Why a response was refused. The codes name the page text the citizen sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the SAMLResponse is not base64 of UTF-8 or too large")]
    Undecodable,
    #[error("the response is not well-formed XML")]
    NotXml,
    #[error("the response carries a document type declaration")]
    Doctype,
    #[error("the response carries comments or processing instructions")]
    CommentOrInstruction,
    #[error("not a SAML Response")]
    NotAResponse,
    #[error("the response is addressed to another service")]
    WrongDestination,
    #[error("the response or assertion comes from another identity provider")]
    WrongIssuer,
    #[error("the identity provider answered with status {0}")]
    Status(String),
    #[error("the response answers no request of ours (unsolicited)")]
    Unsolicited,
    #[error("the response must hold exactly one assertion")]
    AssertionCount,
    #[error("the assertion is not a child of the response")]
    AssertionMisplaced,
    #[error("the encrypted assertion cannot be decrypted")]
    Decryption,
    #[error("the assertion is encrypted in a Response that is not signed")]
    EncryptedUnsigned,
    #[error("the assertion is encrypted with {0}, which is not authenticated")]
    WeakEncryption(String),
    #[error("the assertion is not signed by the identity provider")]
    NotSigned,
    #[error("a signature does not verify")]
    BadSignature,
    #[error("the assertion is meant for another audience")]
    WrongAudience,
    #[error("no bearer confirmation for our ACS and this request")]
    WrongRecipient,
    #[error("the assertion is not valid yet")]
    NotYetValid,
    #[error("the assertion has expired")]
    Expired,
    #[error("the assertion lacks {0}")]
    Missing(&'static str),
}

impl Refusal {
    /// A stable code for logs and page texts.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Undecodable | Refusal::NotXml | Refusal::NotAResponse | Refusal::Missing(_) => "malformed",
            Refusal::Doctype | Refusal::CommentOrInstruction => "forbidden_markup",
            Refusal::WrongDestination | Refusal::WrongRecipient => "wrong_destination",
            Refusal::WrongIssuer => "wrong_issuer",
            Refusal::Status(_) => "idp_status",
            Refusal::Unsolicited => "unsolicited",
            Refusal::AssertionCount | Refusal::AssertionMisplaced => "wrapped",
            Refusal::Decryption => "decryption",
            Refusal::EncryptedUnsigned => "encrypted_unsigned",
            Refusal::WeakEncryption(_) => "weak_encryption",
            Refusal::NotSigned => "unsigned",
            Refusal::BadSignature => "bad_signature",
            Refusal::WrongAudience => "wrong_audience",
            Refusal::NotYetValid | Refusal::Expired => "expired",
        }
    }
}

impl Refusal {
    /// What the browser is told: one code for every failure before the response proved to be
    /// the IdP's (step 2 of the module), the checked field for the rest.
    pub fn public_code(&self) -> &'static str {
        match self {
            Refusal::Undecodable
            | Refusal::NotXml
            | Refusal::Doctype
            | Refusal::CommentOrInstruction
            | Refusal::NotAResponse
            | Refusal::AssertionCount
            | Refusal::AssertionMisplaced
            | Refusal::Decryption
            | Refusal::EncryptedUnsigned
            | Refusal::WeakEncryption(_)
            | Refusal::NotSigned
            | Refusal::BadSignature => "refused",
            other => other.code(),
        }
    }
}

/// What a verified assertion says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub assertion_id: String,
    /// The id of our AuthnRequest it answers.
    pub in_response_to: String,
    /// Until when the assertion could be presented again (remember its id until then).
    pub valid_until: OffsetDateTime,
    pub name_id: String,
    /// The achieved trust level (`AuthnContextClassRef`).
    pub authn_context: String,
    /// Attribute values by name; missing attributes are absent.
    pub attributes: BTreeMap<String, Vec<String>>,
}

impl VerifiedAssertion {
    /// The first non-empty value of attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name)?.iter().map(String::as_str).find(|value| !value.is_empty())
    }
}

/// Verifies the base64 `SAMLResponse` of the HTTP-POST binding at `now`.
pub fn verify_response(
    encoded: &str,
    sp: &ServiceProvider,
    idp: &IdpMetadata,
    now: OffsetDateTime,
) -> Result<VerifiedAssertion, Refusal> {
    let xml = decode(encoded)?;
    let doc = parse(&xml)?;
    let root = response_element(&doc)?;
    let keys = verification_keys(idp);
    let outer_signed = signed_nodes(&doc, &xml, &keys)?;
    let response_signed = outer_signed.contains(&root);
    let plain = elements_named(&doc, root, ASSERTION, "Assertion");
    let encrypted = elements_named(&doc, root, ASSERTION, "EncryptedAssertion");
    match (plain.len(), encrypted.len()) {
        (1, 0) => {
            let assertion = plain[0];
            if doc.parent(assertion) != Some(root) {
                return Err(Refusal::AssertionMisplaced);
            }
            if !outer_signed.contains(&assertion) && !response_signed {
                return Err(Refusal::NotSigned);
            }
            let in_response_to = check_response(&doc, root, sp, idp)?;
            read_assertion(&doc, assertion, &in_response_to, sp, idp, now)
        }
        (0, 1) => {
            if doc.parent(encrypted[0]) != Some(root) {
                return Err(Refusal::AssertionMisplaced);
            }
            // Nothing is decrypted that the IdP's signature did not cover: altered ciphertext is
            // refused before it reaches the cipher.
            if !response_signed {
                return Err(Refusal::EncryptedUnsigned);
            }
            check_content_encryption(&doc, encrypted[0], idp)?;
            let decrypted = decrypt(&xml, sp)?;
            let doc = parse(&decrypted)?;
            let root = response_element(&doc)?;
            let assertions = elements_named(&doc, root, ASSERTION, "Assertion");
            let [assertion] = assertions[..] else { return Err(Refusal::AssertionCount) };
            let container = doc.parent(assertion).filter(|&p| is(&doc, p, ASSERTION, "EncryptedAssertion"));
            if container.and_then(|c| doc.parent(c)) != Some(root) {
                return Err(Refusal::AssertionMisplaced);
            }
            // The Response's signature covered the ciphertext (checked above), and AES-GCM
            // authenticates it: what decrypts is the IdP's. (Decrypting changed what that
            // signature covered, so it cannot be checked again here.)
            let in_response_to = check_response(&doc, root, sp, idp)?;
            read_assertion(&doc, assertion, &in_response_to, sp, idp, now)
        }
        // A signed answer without an assertion: what the IdP says (a cancelled login, an error).
        (0, 0) if response_signed => {
            check_response(&doc, root, sp, idp)?;
            Err(Refusal::AssertionCount)
        }
        _ => Err(Refusal::AssertionCount),
    }
}

/// Authenticated content encryption only (AES-GCM); AES-CBC (open to padding oracles) only where
/// the IdP's metadata names nothing else for its encryption.
fn check_content_encryption(doc: &Document<'_>, encrypted: NodeId, idp: &IdpMetadata) -> Result<(), Refusal> {
    let algorithm = elements_named(doc, encrypted, XMLENC, "EncryptedData")
        .first()
        .and_then(|&data| doc.first_child_element_by_name_ns(data, XMLENC, "EncryptionMethod"))
        .and_then(|method| doc.get_attribute(method, "Algorithm"))
        .unwrap_or_default()
        .to_owned();
    let authenticated = AUTHENTICATED_CONTENT_ENCRYPTION.contains(&algorithm.as_str());
    let only_cbc_offered = !idp.encryption_methods.is_empty()
        && idp.encryption_methods.iter().all(|m| !AUTHENTICATED_CONTENT_ENCRYPTION.contains(&m.as_str()));
    if authenticated || (only_cbc_offered && idp.encryption_methods.contains(&algorithm)) {
        Ok(())
    } else {
        Err(Refusal::WeakEncryption(algorithm))
    }
}

/// XML Encryption 1.1's AES-GCM.
pub const AUTHENTICATED_CONTENT_ENCRYPTION: [&str; 3] = [
    "http://www.w3.org/2009/xmlenc11#aes128-gcm",
    "http://www.w3.org/2009/xmlenc11#aes192-gcm",
    "http://www.w3.org/2009/xmlenc11#aes256-gcm",
];

fn decode(encoded: &str) -> Result<String, Refusal> {
    let compact: String = encoded.split_ascii_whitespace().collect();
    if compact.len() > MAX_RESPONSE_BYTES * 4 / 3 + 4 {
        return Err(Refusal::Undecodable);
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(compact).map_err(|_| Refusal::Undecodable)?;
    String::from_utf8(bytes).map_err(|_| Refusal::Undecodable)
}

pub(crate) fn has_doctype(xml: &str) -> bool {
    xml.to_ascii_lowercase().contains("<!doctype")
}

/// Parses `xml`, refusing document types, comments and processing instructions.
fn parse(xml: &str) -> Result<Document<'_>, Refusal> {
    if has_doctype(xml) {
        return Err(Refusal::Doctype);
    }
    let doc = uppsala::parse(xml).map_err(|_| Refusal::NotXml)?;
    let mut pending = vec![doc.root()];
    while let Some(node) = pending.pop() {
        if matches!(doc.node_kind(node), Some(NodeKind::Comment(_) | NodeKind::ProcessingInstruction(_))) {
            return Err(Refusal::CommentOrInstruction);
        }
        pending.extend(doc.children_iter(node));
    }
    Ok(doc)
}

fn response_element(doc: &Document<'_>) -> Result<NodeId, Refusal> {
    doc.document_element().filter(|&root| is(doc, root, PROTOCOL, "Response")).ok_or(Refusal::NotAResponse)
}

/// The Response's own fields; returns the request id it answers.
fn check_response(
    doc: &Document<'_>,
    root: NodeId,
    sp: &ServiceProvider,
    idp: &IdpMetadata,
) -> Result<String, Refusal> {
    if doc.get_attribute(root, "Destination") != Some(sp.acs_url.as_str()) {
        return Err(Refusal::WrongDestination);
    }
    if let Some(issuer) = doc.first_child_element_by_name_ns(root, ASSERTION, "Issuer")
        && text(doc, issuer) != idp.entity_id
    {
        return Err(Refusal::WrongIssuer);
    }
    let status = doc
        .first_child_element_by_name_ns(root, PROTOCOL, "Status")
        .and_then(|s| doc.first_child_element_by_name_ns(s, PROTOCOL, "StatusCode"))
        .ok_or(Refusal::Missing("Status"))?;
    let code = doc.get_attribute(status, "Value").unwrap_or_default();
    if code != STATUS_SUCCESS {
        // The second-level code tells e.g. a cancelled login (AuthnFailed) from a technical fault.
        let detail = doc
            .first_child_element_by_name_ns(status, PROTOCOL, "StatusCode")
            .and_then(|s| doc.get_attribute(s, "Value"))
            .unwrap_or(code);
        return Err(Refusal::Status(detail.to_owned()));
    }
    doc.get_attribute(root, "InResponseTo").filter(|id| !id.is_empty()).map(str::to_owned).ok_or(Refusal::Unsolicited)
}

fn verification_keys(idp: &IdpMetadata) -> KeysManager {
    let mut keys = KeysManager::new();
    for der in &idp.signing_certificates {
        // The metadata was checked at start; an unusable certificate simply verifies nothing.
        if let Ok(key) = loader::load_x509_cert_der(der) {
            keys.add_key(key);
        }
    }
    keys
}

/// Verifies every signature of `doc` with the IdP's keys only (no keys from `KeyInfo`) and
/// bergshamra's position checks; one that fails refuses the whole response.
fn signed_nodes(doc: &Document<'_>, xml: &str, keys: &KeysManager) -> Result<HashSet<NodeId>, Refusal> {
    // `ID` is among bergshamra's id attributes already (adding it again counts each id twice).
    let context = DsigContext::new(keys.clone());
    let results = match bergshamra::dsig::verify::verify_all_document_with_source(&context, doc, Some(xml)) {
        Ok(results) => results,
        Err(bergshamra::Error::MissingElement(_)) => Vec::new(),
        Err(_) => return Err(Refusal::BadSignature),
    };
    let mut signed = HashSet::new();
    for result in results {
        match result {
            VerifyResult::Valid { references, .. } => {
                for reference in references {
                    // `URI=""` is the whole document: its element.
                    let node = if reference.uri.is_empty() { doc.document_element() } else { reference.resolved_node };
                    signed.extend(node);
                }
            }
            VerifyResult::Invalid { .. } => return Err(Refusal::BadSignature),
        }
    }
    Ok(signed)
}

fn decrypt(xml: &str, sp: &ServiceProvider) -> Result<String, Refusal> {
    let key = loader::load_rsa_private_pem(sp.keys.encryption.key_pem.as_bytes()).map_err(|_| Refusal::Decryption)?;
    let mut keys = KeysManager::new();
    keys.add_key(key);
    bergshamra::decrypt(&EncContext::new(keys), xml).map_err(|_| Refusal::Decryption)
}

fn read_assertion(
    doc: &Document<'_>,
    assertion: NodeId,
    in_response_to: &str,
    sp: &ServiceProvider,
    idp: &IdpMetadata,
    now: OffsetDateTime,
) -> Result<VerifiedAssertion, Refusal> {
    let child = |parent: NodeId, name: &str| doc.first_child_element_by_name_ns(parent, ASSERTION, name);
    let issuer = child(assertion, "Issuer").ok_or(Refusal::Missing("Issuer"))?;
    if text(doc, issuer) != idp.entity_id {
        return Err(Refusal::WrongIssuer);
    }
    let assertion_id = doc.get_attribute(assertion, "ID").ok_or(Refusal::Missing("ID"))?.to_owned();

    let conditions = child(assertion, "Conditions").ok_or(Refusal::Missing("Conditions"))?;
    let restrictions = child_elements(doc, conditions, ASSERTION, "AudienceRestriction");
    let for_us =
        |r: &NodeId| child_elements(doc, *r, ASSERTION, "Audience").iter().any(|&a| text(doc, a) == sp.entity_id);
    if restrictions.is_empty() || !restrictions.iter().all(for_us) {
        return Err(Refusal::WrongAudience);
    }
    let conditions_until = window(doc, conditions, now)?.ok_or(Refusal::Missing("Conditions/@NotOnOrAfter"))?;

    let subject = child(assertion, "Subject").ok_or(Refusal::Missing("Subject"))?;
    let name_id = child(subject, "NameID").map(|n| text(doc, n)).filter(|n| !n.is_empty());
    let name_id = name_id.ok_or(Refusal::Missing("NameID"))?;
    let confirmation_until = bearer_confirmation(doc, subject, in_response_to, sp, now)?;

    let statement = child(assertion, "AuthnStatement").ok_or(Refusal::Missing("AuthnStatement"))?;
    let authn_context = child(statement, "AuthnContext")
        .and_then(|c| child(c, "AuthnContextClassRef"))
        .map(|c| text(doc, c))
        .ok_or(Refusal::Missing("AuthnContextClassRef"))?;

    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for statement in child_elements(doc, assertion, ASSERTION, "AttributeStatement") {
        for attribute in child_elements(doc, statement, ASSERTION, "Attribute") {
            let Some(name) = doc.get_attribute(attribute, "Name") else { continue };
            let values = child_elements(doc, attribute, ASSERTION, "AttributeValue").into_iter().map(|v| text(doc, v));
            attributes.entry(name.to_owned()).or_default().extend(values);
        }
    }
    Ok(VerifiedAssertion {
        assertion_id,
        in_response_to: in_response_to.to_owned(),
        valid_until: conditions_until.min(confirmation_until),
        name_id,
        authn_context,
        attributes,
    })
}

/// Checks `NotBefore`/`NotOnOrAfter` of `element` at `now`; returns `NotOnOrAfter`.
fn window(doc: &Document<'_>, element: NodeId, now: OffsetDateTime) -> Result<Option<OffsetDateTime>, Refusal> {
    let instant = |name: &'static str| -> Result<Option<OffsetDateTime>, Refusal> {
        doc.get_attribute(element, name)
            .map(|value| OffsetDateTime::parse(value, &Rfc3339).map_err(|_| Refusal::Missing(name)))
            .transpose()
    };
    if let Some(not_before) = instant("NotBefore")?
        && now + CLOCK_SKEW < not_before
    {
        return Err(Refusal::NotYetValid);
    }
    let not_on_or_after = instant("NotOnOrAfter")?;
    if let Some(until) = not_on_or_after
        && now - CLOCK_SKEW >= until
    {
        return Err(Refusal::Expired);
    }
    Ok(not_on_or_after)
}

/// The bearer confirmation for our ACS answering our request; returns its `NotOnOrAfter`.
fn bearer_confirmation(
    doc: &Document<'_>,
    subject: NodeId,
    in_response_to: &str,
    sp: &ServiceProvider,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, Refusal> {
    let mut refusal = Refusal::Missing("a bearer SubjectConfirmation");
    for confirmation in child_elements(doc, subject, ASSERTION, "SubjectConfirmation") {
        if doc.get_attribute(confirmation, "Method") != Some(CONFIRMATION_BEARER) {
            continue;
        }
        let Some(data) = doc.first_child_element_by_name_ns(confirmation, ASSERTION, "SubjectConfirmationData") else {
            continue;
        };
        let checked = if doc.get_attribute(data, "Recipient") != Some(sp.acs_url.as_str())
            || doc.get_attribute(data, "InResponseTo") != Some(in_response_to)
        {
            Err(Refusal::WrongRecipient)
        } else {
            window(doc, data, now)
                .and_then(|until| until.ok_or(Refusal::Missing("SubjectConfirmationData/@NotOnOrAfter")))
        };
        match checked {
            Ok(until) => return Ok(until),
            Err(e) => refusal = e,
        }
    }
    Err(refusal)
}

fn is(doc: &Document<'_>, node: NodeId, namespace: &str, name: &str) -> bool {
    doc.element(node).is_some_and(|e| e.matches_name_ns(namespace, name))
}

/// The trimmed text of an element (comments were refused, so nothing hides between the parts).
fn text(doc: &Document<'_>, node: NodeId) -> String {
    doc.text_content_deep(node).trim().to_owned()
}

/// Direct children named `{namespace}name`.
pub(crate) fn child_elements(doc: &Document<'_>, parent: NodeId, namespace: &str, name: &str) -> Vec<NodeId> {
    doc.child_elements_by_name_ns(parent, namespace, name)
}

/// `node` itself and its descendants named `{namespace}name`, in document order.
pub(crate) fn elements_named(doc: &Document<'_>, node: NodeId, namespace: &str, name: &str) -> Vec<NodeId> {
    let mut found = Vec::new();
    let mut pending = vec![node];
    while let Some(current) = pending.pop() {
        if is(doc, current, namespace, name) {
            found.push(current);
        }
        let children: Vec<NodeId> = doc.children_iter(current).collect();
        pending.extend(children.into_iter().rev());
    }
    found
}
