"""A certificate authority kept in a folder (the development national CA of `hub pki init`):
its key and certificate, an index of what it issued, and its revocation list.

ECDSA P-256 throughout: fast to sign and verify, accepted by TLS 1.3, PAdES and XML-DSig.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hub.errors import ConfigurationError, HubError
from hub.pki.material import (
    CA_CERT,
    CA_KEY,
    CRL,
    SERVER_CERT,
    SERVER_KEY,
    SIGNING_CERT,
    SIGNING_KEY,
    pem,
    read_certificate,
    read_private_key,
)

INDEX = "index.json"
PARTNERS = "partners"
Kind = Literal["server", "signing", "partner"]
ORGANISATION = "Muscat Municipality"
CRL_VALID_FOR = timedelta(days=7)


class AuthorityError(HubError):
    """The CA cannot do what was asked (already made, unknown certificate, bad name)."""


@dataclass(frozen=True)
class Issued:
    """One certificate the CA issued, as its index keeps it."""

    serial: int
    subject: str
    kind: str
    not_after: str
    revoked_at: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


class CertificateAuthority:
    """The CA in `folder`; `create` makes one, the constructor opens an existing one."""

    def __init__(self, folder: Path) -> None:
        if not (folder / CA_KEY).exists():
            raise AuthorityError(f"no CA in {folder}: run `hub pki init` first")
        self.folder = folder
        self.certificate = read_certificate(folder / CA_CERT)
        self._key = read_private_key(folder / CA_KEY)

    @classmethod
    def create(
        cls, folder: Path, *, name: str = "Oman National CA (development)", days: int = 3650
    ) -> CertificateAuthority:
        """A new CA with the hub's server and signing certificates; refuses to overwrite."""
        if (folder / CA_KEY).exists():
            raise AuthorityError(f"a CA already exists in {folder}; it is never replaced")
        folder.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "OM"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
                x509.NameAttribute(NameOID.COMMON_NAME, name),
            ]
        )
        now = _now()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        _write_private(folder / CA_KEY, key)
        (folder / CA_CERT).write_bytes(pem(certificate))
        (folder / INDEX).write_text("[]", encoding="utf-8")
        ca = cls(folder)
        ca.issue("hub.localhost", "server", cert_path=folder / SERVER_CERT)
        ca.issue(ORGANISATION, "signing", cert_path=folder / SIGNING_CERT)
        ca.write_crl()
        return ca

    def issue(
        self,
        subject: str,
        kind: Kind,
        *,
        days: int = 365,
        cert_path: Path | None = None,
        not_before: datetime | None = None,
    ) -> Path:
        """Issue a certificate with a fresh key, both written beside each other; returns the
        certificate's path. Partners' certificates carry their partner name as common name."""
        if not subject or "/" in subject or subject.startswith("."):
            raise AuthorityError(f"invalid subject name {subject!r}")
        if cert_path is None:
            (self.folder / PARTNERS).mkdir(exist_ok=True)
            cert_path = self.folder / PARTNERS / f"{subject}.pem"
        key_path = cert_path.with_name(cert_path.stem + "-key.pem")
        if kind == "server":
            key_path = self.folder / SERVER_KEY
        elif kind == "signing":
            key_path = self.folder / SIGNING_KEY
        key = ec.generate_private_key(ec.SECP256R1())
        start = not_before or _now() - timedelta(minutes=5)
        builder = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COUNTRY_NAME, "OM"),
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION)
                        if kind != "partner"
                        else x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Partner agency"),
                        x509.NameAttribute(NameOID.COMMON_NAME, subject),
                    ]
                )
            )
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), False
            )
        )
        builder = _usage(builder, kind, subject)
        certificate = builder.sign(self._key, hashes.SHA256())
        _write_private(key_path, key)
        cert_path.write_bytes(pem(certificate))
        self._record(Issued(certificate.serial_number, subject, kind, start.isoformat()))
        return cert_path

    def revoke(self, subject_or_serial: str) -> list[Issued]:
        """Revoke every live certificate of a subject (or the one with that serial), then
        publish a new CRL."""
        index = self.index()
        hits = [
            item
            for item in index
            if item.revoked_at is None
            and (item.subject == subject_or_serial or str(item.serial) == subject_or_serial)
        ]
        if not hits:
            raise AuthorityError(f"no live certificate for {subject_or_serial!r}")
        when = _now().isoformat()
        revoked = {item.serial for item in hits}
        updated = [
            Issued(i.serial, i.subject, i.kind, i.not_after, when) if i.serial in revoked else i
            for i in index
        ]
        self._save(updated)
        self.write_crl()
        return [i for i in updated if i.serial in revoked]

    def write_crl(self) -> Path:
        now = _now()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(now)
            .next_update(now + CRL_VALID_FOR)
        )
        for item in self.index():
            if item.revoked_at is not None:
                builder = builder.add_revoked_certificate(
                    x509.RevokedCertificateBuilder()
                    .serial_number(item.serial)
                    .revocation_date(datetime.fromisoformat(item.revoked_at))
                    .build()
                )
        crl = builder.sign(self._key, hashes.SHA256())
        path = self.folder / CRL
        scratch = path.with_suffix(".tmp")
        scratch.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        scratch.replace(path)  # readers never see half a CRL
        return path

    def index(self) -> list[Issued]:
        try:
            rows = json.loads((self.folder / INDEX).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ConfigurationError(f"the CA index {self.folder / INDEX} is unreadable") from None
        return [Issued(**row) for row in rows]

    def _record(self, issued: Issued) -> None:
        self._save([*self.index(), issued])

    def _save(self, items: list[Issued]) -> None:
        rows = [item.__dict__ for item in items]
        (self.folder / INDEX).write_text(json.dumps(rows, indent=1), encoding="utf-8")


def _usage(builder: x509.CertificateBuilder, kind: Kind, subject: str) -> x509.CertificateBuilder:
    signing = kind == "signing"
    builder = builder.add_extension(
        x509.KeyUsage(
            digital_signature=True,
            content_commitment=signing,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    )
    if kind == "server":
        names: list[x509.GeneralName] = [
            x509.DNSName("localhost"),
            x509.DNSName(subject),
            x509.IPAddress(ip_address("127.0.0.1")),
        ]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        usage = [ExtendedKeyUsageOID.SERVER_AUTH]
    elif kind == "partner":
        usage = [ExtendedKeyUsageOID.CLIENT_AUTH]
    else:
        return builder
    return builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
