#!/usr/bin/env python3
"""A test SAML 2.0 identity provider that imitates BundID, for the tests of our service provider.

    python3 tests/saml_idp/idp.py --port PORT --dir DIR --sp-metadata-url URL [--entity-id ID]

At start it makes a fresh RSA-3072 key and self-signed certificate (DIR/idp.key, DIR/idp.crt),
writes its metadata to DIR/idp-metadata.xml, prints one line `ready` and serves on 127.0.0.1:PORT:

    GET /metadata              the IdP metadata
    GET|POST /sso              AuthnRequest (HTTP-Redirect with a signed query; HTTP-POST with an
                               enveloped signature) -> HTML form that posts the Response to the ACS
    GET /sso/unsolicited?acs=  an IdP-initiated Response (no InResponseTo)
    GET /slo                   LogoutRequest (HTTP-Redirect, signed query) -> 302 to the SP's
                               SingleLogoutService with a signed LogoutResponse

Extra query parameters on /sso and /sso/unsolicited change the answer (several at once):
given_name, family_name, street, name_id (override values), omit=OID,OID (leave attributes out),
level=STORK-QAA-Level-N (assert this level), variant=V[,V...] with V one of unsigned,
response-signed, both-signed, encrypted, encrypted-gcm, wrong-audience, wrong-destination, expired,
unknown-request, denied.

The SP's metadata is fetched from --sp-metadata-url on the first request that needs it, and again
when the request comes from an unknown entity or its signature does not verify with the keys known.
Logs go to stderr. Only the standard library, pysaml2 (and its dependency `cryptography`) and the
xmlsec1 binary are used: pysaml2 parses the requests and signs and encrypts through xmlsec1.
"""

import argparse
import base64
import datetime
import html
import logging
import os
import re
import secrets
import shutil
import signal
import sys
import threading
import urllib.parse
import urllib.request
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# pysaml2 imports a cipher mode that cryptography has moved; the warning is noise here.
warnings.filterwarnings("ignore", message=".*cryptography.hazmat.decrepit.*")

from cryptography import x509  # noqa: E402 (after the warning filter)
from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, md, saml, xmldsig  # noqa: E402
from saml2.config import Config  # noqa: E402
from saml2.metadata import entity_descriptor  # noqa: E402
from saml2.server import Server  # noqa: E402
from saml2.sigver import make_temp  # noqa: E402

log = logging.getLogger("saml_idp")

NS_SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
NS_SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NS_XENC = "http://www.w3.org/2001/04/xmlenc#"
NS_XS = "http://www.w3.org/2001/XMLSchema"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS_AKDB = "https://www.akdb.de/request/2018/09"

SIG_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
DIGEST_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
RSA_OAEP_MGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
DIGEST_SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
AES256_CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
AES128_GCM = "http://www.w3.org/2009/xmlenc11#aes128-gcm"

NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAMEID_ENTITY = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
ATTRNAME_URI = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
STATUS_RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
STATUS_REQUEST_DENIED = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"

LEVELS = ("STORK-QAA-Level-1", "STORK-QAA-Level-2", "STORK-QAA-Level-3", "STORK-QAA-Level-4")
UNSOLICITED_LEVEL = "STORK-QAA-Level-3"
DEFAULT_NAME_ID = "bundid-test-sophia"
OTHER_AUDIENCE = "https://other-sp.example/"
OTHER_DESTINATION = "https://other-sp.example/acs"

# (OID, FriendlyName, default value) in the order of the AttributeStatement.
ATTRIBUTES = (
    ("urn:oid:2.5.4.42", "givenName", "Sophia"),
    ("urn:oid:2.5.4.4", "surname", "Beispiel"),
    ("urn:oid:1.2.40.0.10.2.1.1.225566", "birthName", "Beispiel"),
    ("urn:oid:1.2.40.0.10.2.1.1.55", "birthdate", "1994-05-02"),
    ("urn:oid:1.3.6.1.5.5.7.9.2", "placeOfBirth", "Bremen"),
    ("urn:oid:2.5.4.16", "postalAddress", "Am Markt 1"),
    ("urn:oid:2.5.4.17", "postalCode", "28195"),
    ("urn:oid:2.5.4.7", "localityName", "Bremen"),
    ("urn:oid:0.9.2342.19200300.100.1.3", "mail", "sophia@example.org"),
    ("urn:oid:2.5.4.18", "postOfficeBox", "postfach-123"),
)
ATTRIBUTE_OIDS = {oid for oid, _, _ in ATTRIBUTES}
# Query parameter -> the attribute whose value it replaces.
OVERRIDES = {
    "given_name": "urn:oid:2.5.4.42",
    "family_name": "urn:oid:2.5.4.4",
    "street": "urn:oid:2.5.4.16",
}
SIGNING_VARIANTS = {"unsigned", "response-signed", "both-signed"}
VARIANTS = SIGNING_VARIANTS | {
    "encrypted",
    "encrypted-gcm",
    "wrong-audience",
    "wrong-destination",
    "expired",
    "unknown-request",
    "denied",
}
# What the HTTP-Redirect binding signs, in this order (SAML bindings § 3.4.4.1).
REDIRECT_SIGNED = {
    "SAMLRequest": ("SAMLRequest", "RelayState", "SigAlg"),
    "SAMLResponse": ("SAMLResponse", "RelayState", "SigAlg"),
}
# Characters that XML 1.0 cannot carry at all.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class Refused(Exception):
    """A request this IdP answers with an HTTP error: status and a plain-text reason."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


# --- keys and metadata ----------------------------------------------------------------------


def make_key_and_cert(directory):
    """A fresh RSA-3072 key and a self-signed certificate (SHA-256), as PEM files in directory."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sorgeregister Test"),
            x509.NameAttribute(NameOID.COMMON_NAME, "BundID Test-IdP"),
        ]
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_file = os.path.join(directory, "idp.key")
    cert_file = os.path.join(directory, "idp.crt")
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    with open(cert_file, "wb") as out:
        out.write(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file, base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def idp_config(entity_id, base, key_file, cert_file, sp_metadata=None):
    conf = {
        "entityid": entity_id,
        "key_file": key_file,
        "cert_file": cert_file,
        "xmlsec_binary": shutil.which("xmlsec1") or "/usr/bin/xmlsec1",
        "delete_tmpfiles": True,
        "accepted_time_diff": 120,
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
        "service": {
            "idp": {
                "endpoints": {
                    "single_sign_on_service": [
                        (f"{base}/sso", BINDING_HTTP_REDIRECT),
                        (f"{base}/sso", BINDING_HTTP_POST),
                    ],
                    "single_logout_service": [(f"{base}/slo", BINDING_HTTP_REDIRECT)],
                },
                # True in the metadata. The Server does not check signatures while parsing:
                # this IdP checks them itself once it knows the sender (IdP.parse_authn_request).
                "want_authn_requests_signed": sp_metadata is None,
                "name_id_format": [NAMEID_PERSISTENT],
            }
        },
    }
    if sp_metadata is not None:
        conf["metadata"] = {"inline": [sp_metadata]}
    config = Config()
    config.load(conf)
    return config


def metadata_xml(config):
    descriptor = entity_descriptor(config)
    # pysaml2 lists every algorithm xmlsec1 knows (MD5 and DSA among them) as metadata extensions;
    # BundID's metadata does not, and this IdP only uses RSA-SHA256 and SHA-256.
    descriptor.extensions = None
    nspair = {"md": md.NAMESPACE, "ds": xmldsig.NAMESPACE, "saml": saml.NAMESPACE}
    text = descriptor.to_string(nspair)
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n"


# --- small XML helpers ----------------------------------------------------------------------


def text(value):
    """Escape character data; CR as a reference, so that parsers keep it."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def attr(value):
    """Escape an attribute value (double quotes); whitespace as references, so that it survives."""
    return (
        text(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")
    )


def saml_time(at):
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id():
    return "_" + secrets.token_hex(16)


def signature_template(ref_id, cert_b64):
    """An enveloped signature for the element with ID ref_id: RSA-SHA256, SHA-256, exclusive c14n."""
    return (
        f'<ds:Signature xmlns:ds="{NS_DS}">'
        "<ds:SignedInfo>"
        f'<ds:CanonicalizationMethod Algorithm="{EXC_C14N}"/>'
        f'<ds:SignatureMethod Algorithm="{SIG_RSA_SHA256}"/>'
        f'<ds:Reference URI="#{ref_id}">'
        "<ds:Transforms>"
        f'<ds:Transform Algorithm="{ENVELOPED}"/>'
        f'<ds:Transform Algorithm="{EXC_C14N}"/>'
        "</ds:Transforms>"
        f'<ds:DigestMethod Algorithm="{DIGEST_SHA256}"/>'
        "<ds:DigestValue></ds:DigestValue>"
        "</ds:Reference>"
        "</ds:SignedInfo>"
        "<ds:SignatureValue></ds:SignatureValue>"
        f"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
        "</ds:Signature>"
    )


def encryption_template(data_alg, recipient, sp_cert_b64):
    """EncryptedData for an element, its session key in an EncryptedKey inside its KeyInfo."""
    return (
        f'<xenc:EncryptedData xmlns:xenc="{NS_XENC}" Id="{new_id()}" Type="{NS_XENC}Element">'
        f'<xenc:EncryptionMethod Algorithm="{data_alg}"/>'
        f'<ds:KeyInfo xmlns:ds="{NS_DS}">'
        f'<xenc:EncryptedKey Id="{new_id()}" Recipient="{attr(recipient)}">'
        f'<xenc:EncryptionMethod Algorithm="{RSA_OAEP_MGF1P}">'
        f'<ds:DigestMethod Algorithm="{DIGEST_SHA1}"/>'
        "</xenc:EncryptionMethod>"
        f"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{sp_cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
        "<xenc:CipherData><xenc:CipherValue></xenc:CipherValue></xenc:CipherData>"
        "</xenc:EncryptedKey>"
        "</ds:KeyInfo>"
        "<xenc:CipherData><xenc:CipherValue></xenc:CipherValue></xenc:CipherData>"
        "</xenc:EncryptedData>"
    )


def pem_cert(cert_b64):
    body = re.sub(r"\s+", "", cert_b64)
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


# --- what one answer looks like -------------------------------------------------------------


class Options:
    """The extra query parameters of /sso and /sso/unsolicited."""

    def __init__(self, query):
        self.values = {oid: value for oid, _, value in ATTRIBUTES}
        for param, oid in OVERRIDES.items():
            if param in query:
                self.values[oid] = query[param]
        self.name_id = query.get("name_id", DEFAULT_NAME_ID)
        for value in list(self.values.values()) + [self.name_id]:
            if NOT_XML.search(value):
                raise Refused(400, "a value holds characters that XML 1.0 cannot carry")
        self.omit = set()
        for oid in filter(None, (o.strip() for o in query.get("omit", "").split(","))):
            if oid not in ATTRIBUTE_OIDS:
                raise Refused(400, f"omit: unknown attribute {oid}")
            self.omit.add(oid)
        self.level = query.get("level")
        if self.level is not None and self.level not in LEVELS:
            raise Refused(400, f"level: not one of {', '.join(LEVELS)}")
        self.variants = set(filter(None, (v.strip() for v in query.get("variant", "").split(","))))
        unknown = self.variants - VARIANTS
        if unknown:
            raise Refused(400, f"variant: unknown {', '.join(sorted(unknown))}")
        if len(self.variants & SIGNING_VARIANTS) > 1:
            raise Refused(400, "variant: at most one of unsigned, response-signed, both-signed")
        if {"encrypted", "encrypted-gcm"} <= self.variants:
            raise Refused(400, "variant: encrypted or encrypted-gcm, not both")
        self.sign_assertion = not (self.variants & {"unsigned", "response-signed"})
        self.sign_response = bool(self.variants & {"response-signed", "both-signed"})
        self.encryption = (
            AES256_CBC if "encrypted" in self.variants else AES128_GCM if "encrypted-gcm" in self.variants else None
        )


class IdP:
    def __init__(self, entity_id, base, directory, sp_metadata_url):
        self.entity_id = entity_id
        self.base = base
        self.sp_metadata_url = sp_metadata_url
        self.key_file, self.cert_file, self.cert_b64 = make_key_and_cert(directory)
        self.metadata = metadata_xml(idp_config(entity_id, base, self.key_file, self.cert_file))
        with open(os.path.join(directory, "idp-metadata.xml"), "w", encoding="utf-8") as out:
            out.write(self.metadata)
        self.server = None  # the pysaml2 Server, once the SP's metadata is known
        self.lock = threading.Lock()  # one request at a time: pysaml2's Server keeps state

    # The SP's metadata, fetched when needed.

    def load_sp_metadata(self):
        log.info("fetching the SP metadata from %s", self.sp_metadata_url)
        try:
            with urllib.request.urlopen(self.sp_metadata_url, timeout=10) as answer:
                sp_metadata = answer.read().decode("utf-8")
        except Exception as err:
            raise Refused(502, f"the SP metadata cannot be fetched from {self.sp_metadata_url}: {err}") from err
        try:
            config = idp_config(self.entity_id, self.base, self.key_file, self.cert_file, sp_metadata)
            server = Server(config=config)
        except Exception as err:
            raise Refused(502, f"the SP metadata cannot be read: {err}") from err
        entities = sorted(server.metadata.with_descriptor("spsso"))
        log.info("SP metadata loaded: %s", ", ".join(entities) or "no SP in it")
        self.server = server

    def sp_server(self, sp_entity_id=None, refetch=False):
        """The pysaml2 Server, knowing sp_entity_id (if given); fetches the metadata if needed."""
        if self.server is None or refetch or (sp_entity_id and not self.knows(sp_entity_id)):
            self.load_sp_metadata()
        if sp_entity_id and not self.knows(sp_entity_id):
            raise Refused(400, f"unknown service provider {sp_entity_id}")
        return self.server

    def knows(self, sp_entity_id):
        return sp_entity_id in self.server.metadata.with_descriptor("spsso")

    def the_sp(self):
        sps = sorted(self.sp_server().metadata.with_descriptor("spsso"))
        if len(sps) != 1:
            raise Refused(502, f"the SP metadata must describe exactly one SP, not {len(sps)}")
        return sps[0]

    def sp_certs(self, sp_entity_id, use):
        return [cert for _, cert in self.server.metadata.certs(sp_entity_id, "spsso", use)]

    def acs_urls(self, sp_entity_id):
        services = self.server.metadata.assertion_consumer_service(sp_entity_id, BINDING_HTTP_POST) or []
        return services

    # Requests.

    def verify_redirect_signature(self, raw_query, message_param, sp_entity_id):
        """Check the signature of an HTTP-Redirect message over the query *as received*.

        SAML bindings § 3.4.4.1: the signed octets are `SAMLRequest=v&RelayState=v&SigAlg=v` with
        the URL-encoded values exactly as they were in the URL (pysaml2 re-encodes them instead).
        Other parameters (the test's extras) are not covered. Refetches the SP's metadata once if
        the keys known do not verify it (the SP may have restarted with new keys).
        """
        raw = {}  # name -> (the "name=value" part as received, the decoded value)
        for part in raw_query.split("&"):
            name, _, value = part.partition("=")
            name = urllib.parse.unquote_plus(name)
            if name in REDIRECT_SIGNED[message_param] or name == "Signature":
                if name in raw:
                    raise Refused(400, f"{name} is in the query twice")
                raw[name] = part, urllib.parse.unquote_plus(value)
        if "Signature" not in raw or "SigAlg" not in raw:
            raise Refused(400, "the request is not signed (Signature or SigAlg missing)")
        if raw["SigAlg"][1] != SIG_RSA_SHA256:
            raise Refused(400, f"SigAlg {raw['SigAlg'][1]} is not {SIG_RSA_SHA256}")
        try:
            signature = base64.b64decode(raw["Signature"][1], validate=True)
        except ValueError as err:
            raise Refused(400, "the Signature is not base64") from err
        # http.server decodes the request line as Latin-1: this gives back the bytes received.
        signed = "&".join(raw[n][0] for n in REDIRECT_SIGNED[message_param] if n in raw).encode("latin-1")
        for attempt in (1, 2):
            for cert_b64 in self.sp_certs(sp_entity_id, "signing"):
                public_key = x509.load_der_x509_certificate(base64.b64decode(cert_b64)).public_key()
                try:
                    public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
                    return
                except (InvalidSignature, TypeError, ValueError):
                    continue
            if attempt == 1:
                log.info("the signature does not verify with the SP's known keys; refetching its metadata")
                self.sp_server(sp_entity_id, refetch=True)
        raise Refused(400, "the signature of the request does not verify with the SP's signing keys")

    def parse_authn_request(self, query, raw_query, post):
        return self.parse_signed_request(query, raw_query, post, "AuthnRequest", Server.parse_authn_request)

    def parse_signed_request(self, query, raw_query, post, kind, parse):
        """The SP's request of `kind`, read with `parse` and its signature verified."""
        if "SAMLRequest" not in query:
            raise Refused(400, "SAMLRequest is missing")
        binding = BINDING_HTTP_POST if post else BINDING_HTTP_REDIRECT
        server = self.sp_server()
        try:
            request = parse(server, query["SAMLRequest"], binding)
        except Exception as err:
            raise Refused(400, f"the {kind} cannot be read: {err!r}") from err
        if request is None or request.message is None:
            raise Refused(400, f"the {kind} is not valid (IssueInstant or Version)")
        message = request.message
        if message.issuer is None or not (message.issuer.text or "").strip():
            raise Refused(400, f"the {kind} has no Issuer")
        sp_entity_id = message.issuer.text.strip()
        self.sp_server(sp_entity_id)
        if post:
            self.verify_post_signature(request.xmlstr, sp_entity_id)
        else:
            self.verify_redirect_signature(raw_query, "SAMLRequest", sp_entity_id)
        return message, sp_entity_id

    def verify_post_signature(self, xml, sp_entity_id):
        for attempt in (1, 2):
            try:
                self.server.sec.correctly_signed_authn_request(xml, must=True)
                return
            except Exception as err:
                if attempt == 2:
                    raise Refused(400, f"the signature of the request does not verify: {err!r}") from err
                self.sp_server(sp_entity_id, refetch=True)

    def requested_level(self, message):
        """The requested STORK level; checks the BundID specifics of the request on the way."""
        context = message.requested_authn_context
        refs = context.authn_context_class_ref if context is not None else []
        if len(refs) != 1:
            raise Refused(400, "RequestedAuthnContext must hold exactly one AuthnContextClassRef")
        level = (refs[0].text or "").strip()
        if level not in LEVELS:
            raise Refused(400, f"AuthnContextClassRef {level!r} is not a STORK-QAA level")
        if context.comparison != "minimum":
            raise Refused(400, f'RequestedAuthnContext Comparison is {context.comparison!r}, not "minimum"')
        requested = []
        extensions = message.extensions.extension_elements if message.extensions is not None else []
        akdb = [e for e in extensions if e.namespace == NS_AKDB and e.tag == "AuthenticationRequest"]
        if len(akdb) != 1:
            raise Refused(400, "Extensions must hold one akdb:AuthenticationRequest")
        if akdb[0].attributes.get("Version") != "2":
            raise Refused(400, 'akdb:AuthenticationRequest must have Version="2"')
        for child in akdb[0].children:
            if child.namespace == NS_AKDB and child.tag == "RequestedAttributes":
                for attribute in child.children:
                    if attribute.namespace == NS_AKDB and attribute.tag == "RequestedAttribute":
                        requested.append(attribute.attributes.get("Name"))
        if not requested:
            raise Refused(400, "akdb:RequestedAttributes names no attribute")
        log.info("requested level %s, attributes %s", level, ", ".join(map(str, requested)))
        return level

    def acs_for(self, message, sp_entity_id):
        services = self.acs_urls(sp_entity_id)
        known = [s["location"] for s in services]
        if message.assertion_consumer_service_url:
            url = message.assertion_consumer_service_url
            if url not in known:
                raise Refused(400, f"AssertionConsumerServiceURL {url} is not in the SP metadata (HTTP-POST)")
            return url
        if message.assertion_consumer_service_index is not None:
            for service in services:
                if str(service.get("index")) == str(message.assertion_consumer_service_index):
                    return service["location"]
            raise Refused(400, "AssertionConsumerServiceIndex is not in the SP metadata")
        if not services:
            raise Refused(400, "the SP metadata has no AssertionConsumerService with HTTP-POST")
        defaults = [s for s in services if str(s.get("is_default", "")).lower() == "true"]
        return (defaults or services)[0]["location"]

    # The answer.

    def response_xml(self, options, acs, sp_entity_id, in_response_to, level):
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        minutes = lambda n: now + datetime.timedelta(minutes=n)  # noqa: E731
        if "expired" in options.variants:
            issued, not_before, not_after, confirm_until = minutes(-15), minutes(-20), minutes(-10), minutes(-10)
        else:
            issued, not_before, not_after, confirm_until = now, minutes(-2), minutes(5), minutes(5)
        if "unknown-request" in options.variants and in_response_to is not None:
            in_response_to = new_id()
        destination = OTHER_DESTINATION if "wrong-destination" in options.variants else acs
        audience = OTHER_AUDIENCE if "wrong-audience" in options.variants else sp_entity_id
        level = options.level or level
        response_id, assertion_id = new_id(), new_id()
        irt = f' InResponseTo="{attr(in_response_to)}"' if in_response_to is not None else ""
        issuer = f'<saml:Issuer Format="{NAMEID_ENTITY}">{text(self.entity_id)}</saml:Issuer>'

        if "denied" in options.variants:
            status = (
                f'<samlp:Status><samlp:StatusCode Value="{STATUS_RESPONDER}">'
                f'<samlp:StatusCode Value="{STATUS_REQUEST_DENIED}"/></samlp:StatusCode>'
                "<samlp:StatusMessage>Die Anmeldung wurde abgebrochen.</samlp:StatusMessage></samlp:Status>"
            )
            assertion = ""
        else:
            status = f'<samlp:Status><samlp:StatusCode Value="{STATUS_SUCCESS}"/></samlp:Status>'
            attributes = "".join(
                f'<saml:Attribute Name="{oid}" NameFormat="{ATTRNAME_URI}" FriendlyName="{friendly}">'
                f'<saml:AttributeValue xsi:type="xs:string">{text(options.values[oid])}</saml:AttributeValue>'
                "</saml:Attribute>"
                for oid, friendly, _ in ATTRIBUTES
                if oid not in options.omit
            )
            statement = f"<saml:AttributeStatement>{attributes}</saml:AttributeStatement>" if attributes else ""
            # The assertion declares every namespace it uses, so that it stands alone (encrypted).
            assertion = (
                f'<saml:Assertion xmlns:saml="{NS_SAML}" xmlns:xs="{NS_XS}" xmlns:xsi="{NS_XSI}"'
                f' ID="{assertion_id}" Version="2.0" IssueInstant="{saml_time(issued)}">'
                + issuer
                + (signature_template(assertion_id, self.cert_b64) if options.sign_assertion else "")
                + "<saml:Subject>"
                f'<saml:NameID Format="{NAMEID_PERSISTENT}">{text(options.name_id)}</saml:NameID>'
                f'<saml:SubjectConfirmation Method="{BEARER}">'
                f'<saml:SubjectConfirmationData{irt} NotOnOrAfter="{saml_time(confirm_until)}"'
                f' Recipient="{attr(destination)}"/>'
                "</saml:SubjectConfirmation>"
                "</saml:Subject>"
                f'<saml:Conditions NotBefore="{saml_time(not_before)}" NotOnOrAfter="{saml_time(not_after)}">'
                f"<saml:AudienceRestriction><saml:Audience>{text(audience)}</saml:Audience></saml:AudienceRestriction>"
                "</saml:Conditions>"
                f'<saml:AuthnStatement AuthnInstant="{saml_time(issued)}" SessionIndex="{new_id()}">'
                "<saml:AuthnContext>"
                f"<saml:AuthnContextClassRef>{text(level)}</saml:AuthnContextClassRef>"
                "</saml:AuthnContext>"
                "</saml:AuthnStatement>" + statement + "</saml:Assertion>"
            )
            if options.encryption:
                assertion = f"<saml:EncryptedAssertion>{assertion}</saml:EncryptedAssertion>"

        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<samlp:Response xmlns:samlp="{NS_SAMLP}" xmlns:saml="{NS_SAML}"'
            f' ID="{response_id}" Version="2.0" IssueInstant="{saml_time(issued)}"'
            f' Destination="{attr(destination)}"{irt}>'
            + issuer
            + (signature_template(response_id, self.cert_b64) if options.sign_response else "")
            + status
            + assertion
            + "</samlp:Response>"
        )
        sec = self.server.sec
        if assertion and options.sign_assertion:
            xml = sec.sign_statement(xml, f"{NS_SAML}:Assertion", node_id=assertion_id)
        if assertion and options.encryption:
            xml = self.encrypt_assertion(xml, sp_entity_id, options.encryption)
        if options.sign_response:
            xml = sec.sign_statement(xml, f"{NS_SAMLP}:Response", node_id=response_id)
        return xml

    def encrypt_assertion(self, xml, sp_entity_id, data_alg):
        certs = self.sp_certs(sp_entity_id, "encryption")
        if not certs:
            raise Refused(400, "the SP metadata has no encryption certificate")
        cert_b64 = re.sub(r"\s+", "", certs[0])
        cert_file = make_temp(pem_cert(cert_b64), suffix=".pem", decode=False)
        session_key = "aes-256" if data_alg == AES256_CBC else "aes-128"
        xpath = "/*[local-name()='Response']/*[local-name()='EncryptedAssertion']/*[local-name()='Assertion']"
        return self.server.sec.encrypt_assertion(
            xml,
            cert_file.name,
            encryption_template(data_alg, sp_entity_id, cert_b64),
            key_type=session_key,
            node_xpath=xpath,
        )

    # HTTP handlers; each returns (status, headers, body bytes).

    def sso(self, query, raw_query, post):
        message, sp_entity_id = self.parse_authn_request(query, raw_query, post)
        level = self.requested_level(message)
        acs = self.acs_for(message, sp_entity_id)
        options = Options(query)
        xml = self.response_xml(options, acs, sp_entity_id, message.id, level)
        variants = ",".join(sorted(options.variants)) or "default"
        log.info("answering %s of %s to %s (variant %s)", message.id, sp_entity_id, acs, variants)
        return self.form(acs, xml, query.get("RelayState"))

    def sso_unsolicited(self, query):
        sp_entity_id = self.the_sp()
        acs = query.get("acs")
        if not acs:
            services = self.acs_urls(sp_entity_id)
            if not services:
                raise Refused(400, "no acs given and the SP metadata has no HTTP-POST AssertionConsumerService")
            acs = services[0]["location"]
        options = Options(query)
        xml = self.response_xml(options, acs, sp_entity_id, None, UNSOLICITED_LEVEL)
        log.info("unsolicited answer for %s to %s", sp_entity_id, acs)
        return self.form(acs, xml, query.get("RelayState"))

    def form(self, acs, xml, relay_state):
        response = base64.b64encode(xml.encode("utf-8")).decode("ascii")
        relay = (
            f'<input type="hidden" name="RelayState" value="{html.escape(relay_state, quote=True)}">\n'
            if relay_state is not None
            else ""
        )
        page = (
            "<!DOCTYPE html>\n"
            '<html lang="de"><head><meta charset="utf-8"><title>BundID (Test-IdP)</title></head><body>\n'
            f'<form method="post" action="{html.escape(acs, quote=True)}">\n'
            f'<input type="hidden" name="SAMLResponse" value="{response}">\n'
            f"{relay}"
            '<noscript><button type="submit">Weiter</button></noscript>\n'
            "</form>\n"
            "<script>document.forms[0].submit();</script>\n"
            "</body></html>\n"
        )
        return 200, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")], page.encode("utf-8")

    def slo(self, query, raw_query):
        message, sp_entity_id = self.parse_signed_request(
            query, raw_query, False, "LogoutRequest", Server.parse_logout_request
        )
        try:
            services = self.server.metadata.single_logout_service(sp_entity_id, BINDING_HTTP_REDIRECT, "spsso")
        except Exception:
            services = []
        if not services:
            raise Refused(400, "the SP metadata has no SingleLogoutService with HTTP-Redirect")
        destination = services[0].get("response_location") or services[0]["location"]
        response = self.server.create_logout_response(message, [BINDING_HTTP_REDIRECT], sign=False)
        response.destination = destination
        xml = response.to_string({"samlp": NS_SAMLP, "saml": NS_SAML})
        info = self.server.apply_binding(
            BINDING_HTTP_REDIRECT,
            xml.decode("utf-8") if isinstance(xml, bytes) else xml,
            destination,
            query.get("RelayState", ""),
            response=True,
            sign=True,
            sigalg=SIG_RSA_SHA256,
        )
        location = dict(info["headers"])["Location"]
        log.info("logout of %s answered, to %s", message.name_id.text if message.name_id else "?", destination)
        return 302, [("Location", location), ("Cache-Control", "no-store")], b""


class Handler(BaseHTTPRequestHandler):
    server_version = "BundID-Test-IdP"
    idp = None  # set in main

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        log.info("%s", format % args)

    def log_request(self, code="-", size="-"):
        # Without the query: it holds whole SAML messages.
        log.info("%s %s -> %s", self.command, urllib.parse.urlsplit(self.path).path, code)

    def do_GET(self):
        self.handle_request(post=False)

    def do_POST(self):
        self.handle_request(post=True)

    def handle_request(self, post):
        url = urllib.parse.urlsplit(self.path)
        raw_query = url.query
        params = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
        if post:
            length = int(self.headers.get("Content-Length") or 0)
            params += urllib.parse.parse_qsl(self.rfile.read(length).decode("utf-8"), keep_blank_values=True)
        query = {}
        for name, value in params:
            query.setdefault(name, value)
        idp = self.idp
        try:
            if url.path == "/metadata" and not post:
                answer = 200, [("Content-Type", "application/samlmetadata+xml")], idp.metadata.encode("utf-8")
            else:
                with idp.lock:
                    answer = self.dispatch(idp, url.path, query, raw_query, post)
        except Refused as refusal:
            log.warning("%s %s: %d %s", self.command, url.path, refusal.status, refusal.reason)
            answer = refusal.status, [("Content-Type", "text/plain; charset=utf-8")], (refusal.reason + "\n").encode()
        except Exception:
            log.exception("%s %s failed", self.command, url.path)
            answer = 500, [("Content-Type", "text/plain; charset=utf-8")], b"internal error\n"
        status, headers, body = answer
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    @staticmethod
    def dispatch(idp, path, query, raw_query, post):
        if path == "/sso":
            return idp.sso(query, raw_query, post)
        if path == "/sso/unsolicited" and not post:
            return idp.sso_unsolicited(query)
        if path == "/slo" and not post:
            return idp.slo(query, raw_query)
        return 404, [("Content-Type", "text/plain; charset=utf-8")], b"not found\n"


def main():
    parser = argparse.ArgumentParser(description="A test SAML IdP that imitates BundID.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True, help="where the key, certificate and metadata go")
    parser.add_argument("--sp-metadata-url", required=True)
    parser.add_argument("--entity-id", help="default http://127.0.0.1:PORT/idp")
    args = parser.parse_args()

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="saml_idp %(levelname)s %(message)s")
    logging.getLogger("saml2").setLevel(logging.WARNING)

    base = f"http://127.0.0.1:{args.port}"
    os.makedirs(args.dir, exist_ok=True)
    Handler.idp = IdP(args.entity_id or f"{base}/idp", base, args.dir, args.sp_metadata_url)
    ThreadingHTTPServer.request_queue_size = 64
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    httpd.daemon_threads = True

    def stop(signum, _frame):
        log.info("signal %d: stopping", signum)
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()
    log.info("stopped")


if __name__ == "__main__":
    main()
