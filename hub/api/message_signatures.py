"""WS-Security signatures on partners' SOAP messages: checked whenever a message carries one
(and a CA is configured), required when HUB_SOAP_SIGNATURES_REQUIRED is set. The verdict
travels with the credentials to the gate, which refuses and audits it by reason."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from hub.config import Settings
from hub.pki.material import PkiFiles, read_certificate
from hub.pki.revocation import common_name
from hub.soap.signature import ReplayGuard, SignatureRefused, verify_envelope


@dataclass(frozen=True)
class SignatureVerdict:
    """Who signed (the certificate's common name) or why the signature is refused."""

    signer: str | None = None
    problem: str | None = None


class InboundSignatures:
    """Checks the signatures of partners' SOAP messages against the national CA."""

    def __init__(self, trust_anchor: x509.Certificate, *, required: bool) -> None:
        self._anchor = trust_anchor
        self._required = required
        self._replays = ReplayGuard()

    @classmethod
    def from_settings(cls, settings: Settings) -> InboundSignatures | None:
        files = PkiFiles.from_settings(settings)
        if files.ca_cert is None:
            return None
        return cls(read_certificate(files.ca_cert), required=settings.soap_signatures_required)

    def check(self, envelope: bytes) -> SignatureVerdict:
        try:
            certificate = verify_envelope(envelope, self._anchor, replays=self._replays)
        except SignatureRefused as exc:
            if exc.reason == "unsigned" and not self._required:
                return SignatureVerdict()
            return SignatureVerdict(problem=f"signature-{exc.reason}")
        except ValueError:  # unreadable XML: the SOAP endpoint refuses it with its own fault
            return SignatureVerdict()
        return SignatureVerdict(signer=common_name(certificate))
