"""Detached JWS (RFC 7515 appendix F) with the municipality's certificate: a signature over
the exact bytes of a JSON body sent to a partner, which travels beside the body (an HTTP
header) so the body stays the partner's own format. The header names the signer by its
certificate (`x5c`), so the partner needs only the national CA to check it. joserfc does the
JWS; the certificate is judged here (issued by the CA, valid now). docs/PARTNERS.md says why
a detached JWS."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from hub.pki.material import SigningKey

ALGORITHMS = ("ES256", "PS256")  # the municipality signs with P-256 or RSA keys
HEADER_LIMIT = 8192  # the header carries the certificate (x5c); joserfc's default is 512


def _registry(alg: str) -> jws.JWSRegistry:
    registry = jws.JWSRegistry(algorithms=[alg])
    registry.max_header_length = HEADER_LIMIT
    return registry


class JwsRefused(Exception):
    """A detached signature that does not hold; `reason` is one word for the refusal."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def sign_detached(payload: bytes, key: SigningKey, certificate: x509.Certificate) -> str:
    """`header..signature`: the compact JWS over `payload`, without the payload."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    jwk: ECKey | RSAKey
    if isinstance(key, ec.EllipticCurvePrivateKey):
        alg, jwk = "ES256", ECKey.import_key(pem)
    else:
        alg, jwk = "PS256", RSAKey.import_key(pem)
    der = certificate.public_bytes(serialization.Encoding.DER)
    protected = {"alg": alg, "x5c": [base64.b64encode(der).decode()]}
    signed = jws.serialize_compact(protected, payload, jwk, registry=_registry(alg))
    return jws.detach_content(signed)


def verify_detached(
    signature: str | None,
    payload: bytes,
    trust_anchor: x509.Certificate,
    *,
    now: datetime | None = None,
) -> x509.Certificate:
    """The signer's certificate when `signature` is the CA's certificate's signature over
    exactly `payload`; else JwsRefused: unsigned, malformed, wrong-ca, expired-certificate,
    wrongly-signed."""
    if not signature:
        raise JwsRefused("unsigned")
    certificate, alg = _signer(signature)
    try:
        certificate.verify_directly_issued_by(trust_anchor)
    except (ValueError, TypeError, InvalidSignature):
        raise JwsRefused("wrong-ca", certificate.subject.rfc4514_string()) from None
    moment = now or datetime.now(UTC)
    if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
        raise JwsRefused("expired-certificate", certificate.subject.rfc4514_string())
    public = certificate.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk = ECKey.import_key(public) if alg == "ES256" else RSAKey.import_key(public)
    try:
        jws.deserialize_compact(signature, jwk, registry=_registry(alg), payload=payload)
    except (JoseError, ValueError) as exc:
        raise JwsRefused("wrongly-signed", type(exc).__name__) from None
    return certificate


def _signer(signature: str) -> tuple[x509.Certificate, str]:
    """The certificate and algorithm the protected header names (nothing trusted yet)."""
    parts = signature.split(".")
    if len(parts) != 3 or parts[1] != "":
        raise JwsRefused("malformed", "not a detached compact JWS (header..signature)")
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
        alg = str(header["alg"])
        certificate = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise JwsRefused("malformed", type(exc).__name__) from None
    if alg not in ALGORITHMS:
        raise JwsRefused("malformed", f"algorithm {alg!r} is not accepted")
    return certificate, alg
