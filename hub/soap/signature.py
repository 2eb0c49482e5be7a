"""WS-Security XML signatures (XML-DSig) on SOAP 1.1 envelopes, with signxml.

A signed envelope carries, in its wsse:Security header, a wsu:Timestamp and a ds:Signature
(ECDSA or RSA with SHA-256, exclusive c14n) whose references are the soap:Body and the
Timestamp, by wsu:Id, and whose KeyInfo holds the signer's certificate. Verifying it is
"see what is signed": the signature must cover this envelope's one Body and the Timestamp;
the certificate must be issued by the trusted CA and valid now; the Timestamp must be fresh;
and a signature seen before is a replay. Each refusal names its reason.

signxml (pure Python on lxml and cryptography) is preferred to python-xmlsec and to
zeep.wsse.signature (built on xmlsec): those need the libxmlsec1 system library (docs/PKI.md).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml import methods
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidInput
from signxml.exceptions import InvalidSignature as XmlInvalidSignature
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from hub.soap.envelope import SOAP_ENV, WSSE, parse_xml

WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
_ID = f"{{{WSU}}}Id"
_ALGORITHMS = SignatureConfiguration(
    expect_references=2,
    signature_methods=frozenset({SignatureMethod.ECDSA_SHA256, SignatureMethod.RSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
)


class SignatureRefused(Exception):
    """A SOAP message whose signature cannot be accepted; `reason` is one word for the audit
    trail (unsigned, wrongly-signed, wrong-ca, expired-certificate, stale, replayed)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class WsSigning:
    """A signing key with its certificate, and the CA the other side's signatures must chain
    to; `require_signed_replies`: an unsigned reply is refused too."""

    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    certificate: x509.Certificate
    trust_anchor: x509.Certificate
    require_signed_replies: bool = True
    max_age_s: float = 300.0


def sign_envelope(envelope: bytes, signing: WsSigning) -> bytes:
    """The envelope with a Timestamp and a signature over it and the Body."""
    root = parse_xml(envelope)
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if body is None:
        raise ValueError("not a SOAP 1.1 envelope: no Body")
    header = root.find(f"{{{SOAP_ENV}}}Header")
    if header is None:
        header = etree.Element(f"{{{SOAP_ENV}}}Header")
        root.insert(0, header)
    security = header.find(f"{{{WSSE}}}Security")
    if security is None:
        security = etree.SubElement(header, f"{{{WSSE}}}Security", nsmap={"wsse": WSSE})
    body_id, stamp_id = f"Body-{uuid.uuid4().hex}", f"TS-{uuid.uuid4().hex}"
    body.set(_ID, body_id)
    now = datetime.now(UTC)
    stamp = etree.SubElement(security, f"{{{WSU}}}Timestamp", nsmap={"wsu": WSU})
    stamp.set(_ID, stamp_id)
    etree.SubElement(stamp, f"{{{WSU}}}Created").text = _instant(now)
    expires = now + timedelta(seconds=signing.max_age_s)
    etree.SubElement(stamp, f"{{{WSU}}}Expires").text = _instant(expires)
    signer = XMLSigner(
        method=methods.detached,
        signature_algorithm=(
            SignatureMethod.ECDSA_SHA256
            if isinstance(signing.key, ec.EllipticCurvePrivateKey)
            else SignatureMethod.RSA_SHA256
        ),
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signature = signer.sign(
        root,
        key=signing.key,
        cert=[signing.certificate],
        reference_uri=[f"#{body_id}", f"#{stamp_id}"],
    )
    security.append(signature)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ReplayGuard:
    """Signature values seen recently (bounded): the same signed message twice is a replay."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def first_time(self, signature_value: str) -> bool:
        with self._lock:
            if signature_value in self._seen:
                return False
            self._seen[signature_value] = time.monotonic()
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
            return True


def verify_envelope(
    envelope: bytes,
    trust_anchor: x509.Certificate,
    *,
    max_age_s: float = 300.0,
    replays: ReplayGuard | None = None,
    now: datetime | None = None,
) -> x509.Certificate:
    """The signer's certificate when the envelope's signature holds; `SignatureRefused`
    naming why not. `now`: the time to judge validity and freshness at (default: now)."""
    now = now or datetime.now(UTC)
    root = parse_xml(envelope)
    signature = root.find(f"{{{SOAP_ENV}}}Header/{{{WSSE}}}Security/{{{DSIG}}}Signature")
    if signature is None:
        raise SignatureRefused("unsigned", "no WS-Security signature in the message")
    certificate = _signer_certificate(signature)
    _check_certificate(certificate, trust_anchor, now)
    try:
        results = XMLVerifier().verify(root, x509_cert=certificate, expect_config=_ALGORITHMS)
    except (XmlInvalidSignature, InvalidInput, ValueError, TypeError) as exc:
        raise SignatureRefused("wrongly-signed", str(exc)[:200]) from None
    signed: dict[str, etree._Element] = {}
    for result in results if isinstance(results, list) else [results]:
        if isinstance(result.signed_xml, etree._Element):
            signed[etree.QName(result.signed_xml).localname] = result.signed_xml
    bodies = root.findall(f"{{{SOAP_ENV}}}Body")
    signed_body = signed.get("Body")
    if len(bodies) != 1 or signed_body is None or signed_body.get(_ID) != bodies[0].get(_ID):
        raise SignatureRefused("wrongly-signed", "the signature does not cover this Body")
    stamp = signed.get("Timestamp")
    if stamp is None:
        raise SignatureRefused("wrongly-signed", "the signature does not cover a Timestamp")
    _check_fresh(stamp, max_age_s, now)
    value = signature.findtext(f"{{{DSIG}}}SignatureValue") or ""
    if replays is not None and not replays.first_time(value.strip()):
        raise SignatureRefused("replayed", "this signed message was received before")
    return certificate


def _signer_certificate(signature: etree._Element) -> x509.Certificate:
    text = signature.findtext(f".//{{{DSIG}}}X509Certificate")
    if not text:
        raise SignatureRefused("wrongly-signed", "the signature names no certificate")
    pem = "-----BEGIN CERTIFICATE-----\n" + "".join(text.split()) + "\n-----END CERTIFICATE-----\n"
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise SignatureRefused("wrongly-signed", "the signer's certificate is unreadable") from None


def _check_certificate(
    certificate: x509.Certificate, anchor: x509.Certificate, now: datetime
) -> None:
    try:
        if certificate.issuer != anchor.subject:
            raise InvalidSignature
        certificate.verify_directly_issued_by(anchor)
    except (InvalidSignature, ValueError, TypeError):
        raise SignatureRefused(
            "wrong-ca", "the signer's certificate is not from the trusted CA"
        ) from None
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise SignatureRefused("expired-certificate", "the signer's certificate is not valid now")


def _check_fresh(stamp: etree._Element, max_age_s: float, now: datetime) -> None:
    try:
        created = datetime.fromisoformat(
            (stamp.findtext(f"{{{WSU}}}Created") or "").replace("Z", "+00:00")
        )
    except ValueError:
        raise SignatureRefused("stale", "the Timestamp is unreadable") from None
    age = (now - created).total_seconds()
    if age > max_age_s or age < -60:
        raise SignatureRefused("stale", f"the Timestamp is {age:.0f} s old")
