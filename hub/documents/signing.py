"""PAdES signatures on the municipality's documents (pyHanko), and the check of one.

A document verifies when: it has the municipality's signature, the signed bytes are intact,
the signature covers the whole file (nothing was appended after it), and the signing
certificate chains to the configured CA. Each failure is named in the verdict, for
`hub documents verify` and for the evidence bundle's offline check.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from io import BytesIO

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning

with warnings.catch_warnings():  # pyHanko imports DSA support the hub never uses
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields, signers
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore

from hub.pki.material import SigningIdentity

FIELD_NAME = "MunicipalitySignature"


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def sign_document(pdf: bytes, identity: SigningIdentity, *, reason: str) -> bytes:
    """`pdf` with the municipality's PAdES signature (B-B: the certificate in the CMS)."""
    key = identity.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signer = signers.SimpleSigner(
        signing_cert=_asn1(identity.certificate),
        signing_key=asn1_keys.PrivateKeyInfo.load(key),
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [_asn1(c) for c in identity.chain]
        ),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location="Muscat",
        name="Muscat Municipality",
    )
    output = BytesIO()
    signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)), meta, signer=signer, output=output)
    return output.getvalue()


@dataclass(frozen=True)
class DocumentVerdict:
    """The outcome of checking a signed document; `problems` empty: it verifies."""

    signer: str | None
    signed_at: str | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_document(pdf: bytes, trust_anchor: x509.Certificate) -> DocumentVerdict:
    """Check the municipality's signature on `pdf` against the CA, offline."""
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        return DocumentVerdict(None, None, [f"not a readable PDF: {exc}"])
    ours = [sig for sig in signatures if sig.field_name == FIELD_NAME]
    if not ours:
        return DocumentVerdict(None, None, ["the document carries no municipality signature"])
    context = ValidationContext(
        trust_roots=[_asn1(trust_anchor)], allow_fetching=False, revocation_mode="soft-fail"
    )
    try:
        status = validate_pdf_signature(ours[0], context)
    except Exception as exc:  # pyHanko raises many kinds for a mangled signature
        return DocumentVerdict(None, None, [f"the signature cannot be read: {exc}"])
    problems: list[str] = []
    if not status.intact:
        problems.append("the signed content was altered after signing (digest mismatch)")
    elif not status.valid:
        problems.append("the signature does not match the signing certificate")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        problems.append("content was added after the signature (it does not cover the file)")
    if status.intact and not status.trusted:  # an altered signature cannot be trusted anyway
        problems.append("the signing certificate does not chain to the trusted CA")
    subject = status.signing_cert.subject.human_friendly if status.signing_cert else None
    signed_at = status.signer_reported_dt.isoformat() if status.signer_reported_dt else None
    return DocumentVerdict(subject, signed_at, problems)
