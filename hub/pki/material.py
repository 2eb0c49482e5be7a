"""Certificates and keys named by configuration (HUB_PKI_*, HUB_TLS_*, HUB_SIGNING_*), each
falling back to the development CA's copy under the PKI folder when one exists.

Nothing here creates a key: a production key is configured, a development one is made only
by `hub pki init`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from hub.config import Settings
from hub.errors import ConfigurationError

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
CRL = "crl.pem"
SERVER_CERT = "server.pem"
SERVER_KEY = "server-key.pem"
SIGNING_CERT = "signing.pem"
SIGNING_KEY = "signing-key.pem"

SigningKey = EllipticCurvePrivateKey | RSAPrivateKey


def pki_dir(settings: Settings) -> Path:
    return settings.pki_dir or settings.data_dir / "pki"


def _resolved(configured: Path | None, folder: Path, name: str) -> Path | None:
    """The configured file (which must exist), else the development copy if there is one."""
    if configured is not None:
        if not configured.exists():
            raise ConfigurationError(f"configured PKI file not found: {configured}")
        return configured
    default = folder / name
    return default if default.exists() else None


@dataclass(frozen=True)
class PkiFiles:
    """Where each piece of the hub's PKI material is; None: not configured."""

    ca_cert: Path | None
    crl: Path | None
    tls_cert: Path | None
    tls_key: Path | None
    signing_cert: Path | None
    signing_key: Path | None

    @classmethod
    def from_settings(cls, settings: Settings) -> PkiFiles:
        folder = pki_dir(settings)
        return cls(
            ca_cert=_resolved(settings.pki_ca_file, folder, CA_CERT),
            crl=_resolved(settings.pki_crl_file, folder, CRL),
            tls_cert=_resolved(settings.tls_cert_file, folder, SERVER_CERT),
            tls_key=_resolved(settings.tls_key_file, folder, SERVER_KEY),
            signing_cert=_resolved(settings.signing_cert_file, folder, SIGNING_CERT),
            signing_key=_resolved(settings.signing_key_file, folder, SIGNING_KEY),
        )

    @property
    def serves_tls(self) -> bool:
        return self.tls_cert is not None and self.tls_key is not None

    def signing_identity(self) -> SigningIdentity:
        """The municipality's signing key and certificate; a clear error when not set up."""
        if self.signing_cert is None or self.signing_key is None:
            raise ConfigurationError(
                "no signing certificate: set HUB_SIGNING_CERT_FILE and HUB_SIGNING_KEY_FILE "
                "(or run `hub pki init` for a development CA)"
            )
        chain = [read_certificate(self.ca_cert)] if self.ca_cert is not None else []
        return SigningIdentity(
            read_certificate(self.signing_cert), read_private_key(self.signing_key), chain
        )

    def trust_anchor(self) -> x509.Certificate:
        if self.ca_cert is None:
            raise ConfigurationError("no CA certificate: set HUB_PKI_CA_FILE or run `hub pki init`")
        return read_certificate(self.ca_cert)


@dataclass(frozen=True)
class SigningIdentity:
    """A key with its certificate and the chain up to the CA."""

    certificate: x509.Certificate
    key: SigningKey
    chain: list[x509.Certificate]


def read_certificate(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError:
        raise ConfigurationError(f"{path} is not a PEM certificate") from None


def read_private_key(path: Path) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        raise ConfigurationError(f"{path} is not a readable PEM private key") from None
    if not isinstance(key, EllipticCurvePrivateKey | RSAPrivateKey):
        raise ConfigurationError(f"{path}: only EC and RSA keys can sign documents")
    return key


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)
