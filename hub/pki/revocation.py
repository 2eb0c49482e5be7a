"""Whether a partner's client certificate may stand for the partner: issued by the CA,
within its validity, not on the CA's revocation list. The TLS handshake already checked the
chain; this check runs per call so a revocation takes effect without a restart, and each
refusal has a reason the audit trail can name.

Fails closed: an unreadable, foreign or expired CRL refuses every certificate.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class CertificateVerdict:
    """Who the certificate names, and the reason it is refused (None: accepted)."""

    partner: str | None
    serial: str
    fingerprint: str
    problem: str | None


def _utcnow() -> datetime:
    return datetime.now(UTC)


def common_name(certificate: x509.Certificate) -> str | None:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else None
    return value if isinstance(value, str) else None


def signed_by(
    certificate: x509.Certificate | x509.CertificateRevocationList, issuer: x509.Certificate
) -> bool:
    """Whether `issuer`'s key made the signature on a certificate or CRL."""
    if certificate.issuer != issuer.subject:
        return False
    if isinstance(certificate, x509.CertificateRevocationList):
        return certificate.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


class PartnerCertificateCheck:
    """Checks client certificates against one CA and its CRL file (re-read when it changes)."""

    def __init__(
        self,
        ca: x509.Certificate,
        crl_path: Path | None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        key = ca.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise ValueError("the CA key must be EC or RSA")
        self._ca = ca
        self._crl_path = crl_path
        self._clock = clock
        self._lock = threading.Lock()
        self._crl: tuple[float, x509.CertificateRevocationList | None, str | None] | None = None

    def check(self, der: bytes) -> CertificateVerdict:
        fingerprint = hashlib.sha256(der).hexdigest()
        try:
            certificate = x509.load_der_x509_certificate(der)
        except ValueError:
            return CertificateVerdict(None, "", fingerprint, "certificate-unreadable")
        verdict = CertificateVerdict(
            common_name(certificate), format(certificate.serial_number, "x"), fingerprint, None
        )
        problem = self._problem(certificate)
        return (
            verdict
            if problem is None
            else CertificateVerdict(verdict.partner, verdict.serial, fingerprint, problem)
        )

    def _problem(self, certificate: x509.Certificate) -> str | None:
        if not signed_by(certificate, self._ca):
            return "certificate-wrong-ca"
        now = self._clock()
        if now > certificate.not_valid_after_utc:
            return "certificate-expired"
        if now < certificate.not_valid_before_utc:
            return "certificate-not-yet-valid"
        crl, crl_problem = self._current_crl()
        if crl is None:
            return crl_problem or "crl-unavailable"
        if crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None:
            return "certificate-revoked"
        if common_name(certificate) is None:
            return "certificate-without-name"
        return None

    def _current_crl(self) -> tuple[x509.CertificateRevocationList | None, str | None]:
        if self._crl_path is None:
            return None, "crl-not-configured"
        try:
            mtime = self._crl_path.stat().st_mtime
        except OSError:
            return None, "crl-unavailable"
        with self._lock:
            if self._crl is None or self._crl[0] != mtime:
                self._crl = (mtime, *self._load(self._crl_path))
            _, crl, problem = self._crl
        if crl is not None and crl.next_update_utc is not None:
            if self._clock() > crl.next_update_utc:
                return None, "crl-expired"
        return crl, problem

    def _load(self, path: Path) -> tuple[x509.CertificateRevocationList | None, str | None]:
        try:
            crl = x509.load_pem_x509_crl(path.read_bytes())
        except (OSError, ValueError):
            return None, "crl-unavailable"
        if not signed_by(crl, self._ca):
            return None, "crl-wrong-ca"
        return crl, None
