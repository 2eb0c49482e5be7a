"""Mutual TLS for partners: the partner server's TLS settings, the certificate check the gate
uses, and the client certificate of the connection a request came on."""

from __future__ import annotations

import ssl

from starlette.requests import HTTPConnection

from hub.config import Settings
from hub.pki.material import PkiFiles, read_certificate
from hub.pki.revocation import PartnerCertificateCheck
from hub.serving import ServerTls


def server_tls(settings: Settings) -> ServerTls | None:
    """HTTPS when a server certificate is configured; client certificates asked for when a CA
    is too (optional, so partners with keys keep working)."""
    files = PkiFiles.from_settings(settings)
    if files.tls_cert is None or files.tls_key is None:
        return None
    return ServerTls(files.tls_cert, files.tls_key, files.ca_cert)


def partner_certificates(settings: Settings) -> PartnerCertificateCheck | None:
    """The gate's check of client certificates: the CA and its CRL (None: no CA configured)."""
    files = PkiFiles.from_settings(settings)
    if files.ca_cert is None:
        return None
    return PartnerCertificateCheck(read_certificate(files.ca_cert), files.crl)


def client_certificate(connection: HTTPConnection) -> bytes | None:
    """The DER client certificate of the TLS connection (hub.serving's TLS extension)."""
    tls = connection.scope.get("extensions", {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    return ssl.PEM_cert_to_DER_cert(chain[0]) if chain else None
