"""The national PKI's parts on real certificates: the development CA issues and revokes, the
partner certificate check names each refusal (and fails closed without a usable CRL),
documents render bilingual and sign and verify, and seals verify and catch a change."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from hub.config import load_settings
from hub.documents.desk import DocumentDesk
from hub.documents.render import FONT_FILE
from hub.documents.signing import verify_document
from hub.errors import ConfigurationError
from hub.pki.authority import AuthorityError, CertificateAuthority
from hub.pki.material import PkiFiles
from hub.pki.revocation import PartnerCertificateCheck
from hub.pki.seal import ExchangeSealer, seal_statement


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority.create(tmp_path_factory.mktemp("data") / "pki")


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority.create(tmp_path_factory.mktemp("other") / "pki")


def _der(path: Path) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(Encoding.DER)


def _check(ca: CertificateAuthority, **kwargs: object) -> PartnerCertificateCheck:
    return PartnerCertificateCheck(ca.certificate, ca.folder / "crl.pem", **kwargs)  # type: ignore[arg-type]


def test_a_ca_is_made_once_and_never_replaced(ca: CertificateAuthority) -> None:
    with pytest.raises(AuthorityError, match="never replaced"):
        CertificateAuthority.create(ca.folder)
    assert (ca.folder / "ca-key.pem").stat().st_mode & 0o077 == 0
    kinds = sorted(item.kind for item in ca.index())
    assert kinds[:2] == ["server", "signing"]


def test_nothing_is_generated_without_pki_init(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    files = PkiFiles.from_settings(settings)
    assert files.ca_cert is None and not files.serves_tls
    assert DocumentDesk.from_settings(settings) is None
    with pytest.raises(ConfigurationError, match="HUB_SIGNING_CERT_FILE"):
        files.signing_identity()
    assert not (tmp_path / "pki").exists()
    with pytest.raises(ConfigurationError, match="not found"):
        PkiFiles.from_settings(load_settings(data_dir=tmp_path, pki_ca_file=tmp_path / "x.pem"))


def test_each_refusal_of_a_partner_certificate_is_named(
    ca: CertificateAuthority, stranger: CertificateAuthority
) -> None:
    good = _der(ca.issue("pki-good", "partner"))
    later = datetime.now(UTC) + timedelta(days=3)
    early = _der(ca.issue("pki-early", "partner", not_before=later))
    revoked = _der(ca.issue("pki-revoked", "partner"))
    ca.revoke("pki-revoked")
    foreign = _der(stranger.issue("pki-good", "partner"))
    check = _check(ca)
    assert check.check(good).problem is None and check.check(good).partner == "pki-good"
    assert check.check(early).problem == "certificate-not-yet-valid"
    assert check.check(revoked).problem == "certificate-revoked"
    assert check.check(foreign).problem == "certificate-wrong-ca"
    assert check.check(b"not a certificate").problem == "certificate-unreadable"
    in_two_years = _check(ca, clock=lambda: datetime.now(UTC) + timedelta(days=730))
    assert in_two_years.check(good).problem == "certificate-expired"


def test_without_a_usable_crl_every_certificate_is_refused(
    ca: CertificateAuthority, stranger: CertificateAuthority, tmp_path: Path
) -> None:
    good = _der(ca.issue("pki-crl", "partner"))
    missing = PartnerCertificateCheck(ca.certificate, tmp_path / "none.pem")
    assert missing.check(good).problem == "crl-unavailable"
    foreign_crl = PartnerCertificateCheck(ca.certificate, stranger.folder / "crl.pem")
    assert foreign_crl.check(good).problem == "crl-wrong-ca"
    stale = _check(ca, clock=lambda: datetime.now(UTC) + timedelta(days=8))
    assert stale.check(good).problem == "crl-expired"
    assert PartnerCertificateCheck(ca.certificate, None).check(good).problem == (
        "crl-not-configured"
    )


@pytest.fixture(scope="module")
def licence_pdf(ca: CertificateAuthority) -> bytes:
    desk = DocumentDesk.from_settings(load_settings(data_dir=ca.folder.parent))
    assert desk is not None
    document = desk.trade_licence(
        licence_no="MCT-TL-004217",
        cr_no="1043217",
        name_en="Al Noor Trading LLC",
        name_ar="شركة النور للتجارة",
        activities=[{"code": "471101", "name_en": "General trading"}],
        expiry=datetime(2027, 11, 30).date(),
        renewed=True,
    )
    return document.pdf


def test_a_licence_pdf_is_bilingual_with_an_embedded_arabic_font(licence_pdf: bytes) -> None:
    assert licence_pdf.startswith(b"%PDF-")
    assert b"DejaVuSans" in licence_pdf  # the shipped font, embedded (no system font needed)
    assert FONT_FILE.exists() and (FONT_FILE.parent / "DejaVuSans-LICENSE.txt").exists()
    # The embedded subset's ToUnicode map takes the shaped glyphs back to Arabic letters
    # (shin, ra, kaf, ta marbuta of "شركة"), so the text is searchable and copyable.
    cmap = licence_pdf[licence_pdf.index(b"beginbfchar") : licence_pdf.index(b"endbfchar")]
    assert all(code in cmap for code in (b"<0634>", b"<0631>", b"<0643>", b"<0629>"))


def test_a_signed_document_verifies_and_each_failure_is_named(
    ca: CertificateAuthority, stranger: CertificateAuthority, licence_pdf: bytes
) -> None:
    assert verify_document(licence_pdf, ca.certificate).ok
    altered = bytearray(licence_pdf)
    altered[altered.index(b"/Title") + 8] ^= 0x01
    assert verify_document(bytes(altered), ca.certificate).problems == [
        "the signed content was altered after signing (digest mismatch)"
    ]
    assert verify_document(licence_pdf + b"\n%%x\n", ca.certificate).problems == [
        "content was added after the signature (it does not cover the file)"
    ]
    assert verify_document(licence_pdf, stranger.certificate).problems == [
        "the signing certificate does not chain to the trusted CA"
    ]
    unsigned = verify_document(b"%PDF-1.4\n%%EOF\n", ca.certificate)
    assert not unsigned.ok
    assert (
        "no municipality signature" in verify_document(_unsigned_pdf(), ca.certificate).problems[0]
    )


def _unsigned_pdf() -> bytes:
    from hub.documents.render import DocumentContent, render_pdf

    return render_pdf(DocumentContent("x", "Test", "اختبار", "T-1"))


def test_a_seal_verifies_and_catches_a_change(ca: CertificateAuthority) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    identity = PkiFiles.from_settings(load_settings(data_dir=ca.folder.parent)).signing_identity()
    seal = ExchangeSealer(identity).seal("rop", "vehicle", "reply", "m-1", "نعم".encode())
    record = seal.__dict__
    key = identity.certificate.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    signature = base64.b64decode(seal.signature)
    key.verify(signature, seal_statement(record), ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        key.verify(
            signature, seal_statement(record | {"agency": "moci"}), ec.ECDSA(hashes.SHA256())
        )


def test_ws_security_for_an_agency_needs_the_configured_identity(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    from hub.agencies.exchanges import ws_signing

    signing = ws_signing(load_settings(data_dir=ca.folder.parent))
    assert signing.trust_anchor == ca.certificate
    assert signing.certificate.subject.rfc4514_string().startswith("CN=Muscat Municipality")
    with pytest.raises(ConfigurationError, match="no signing certificate"):
        ws_signing(load_settings(data_dir=tmp_path))


def test_garbage_is_refused_with_a_clear_reason(ca: CertificateAuthority, tmp_path: Path) -> None:
    from hub.audit.bundle_verify import verify_bundle

    assert (
        verify_document(b"not a pdf at all", ca.certificate)
        .problems[0]
        .startswith("not a readable PDF")
    )
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK not really")
    assert verify_bundle(junk).problems[0].startswith("not a readable bundle")


def test_the_pki_commands_issue_and_revoke(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hub.cli.app import app
    from hub.cli.output import CommandFailed

    def hub(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, list(args), env={"HUB_DATA_DIR": str(tmp_path)})
        failure = str(result.exception) if isinstance(result.exception, CommandFailed) else ""
        return (1 if failure else result.exit_code), result.stdout, failure

    assert hub("pki", "issue-partner", "nobody")[0] == 1  # no CA yet
    assert hub("pki", "init")[0] == 0
    code, _, _ = hub("pki", "issue-partner", "moci-cli")
    assert code == 0 and (tmp_path / "pki/partners/moci-cli.pem").exists()
    code, out, _ = hub("pki", "revoke", "moci-cli")
    assert code == 0 and "revoked moci-cli" in out
    code, _, failure = hub("pki", "revoke", "moci-cli")
    assert code == 1 and "no live certificate" in failure
    crl = x509.load_pem_x509_crl((tmp_path / "pki/crl.pem").read_bytes())
    assert len(list(crl)) == 1


def test_a_signed_envelope_is_judged_for_freshness_validity_and_what_it_covers(
    ca: CertificateAuthority,
) -> None:
    from hub.soap.signature import (
        ReplayGuard,
        SignatureRefused,
        WsSigning,
        sign_envelope,
        verify_envelope,
    )

    identity = PkiFiles.from_settings(load_settings(data_dir=ca.folder.parent)).signing_identity()
    signing = WsSigning(identity.key, identity.certificate, ca.certificate)
    envelope = (
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
        b'<s:Body><x:Ask xmlns:x="urn:x">1</x:Ask></s:Body></s:Envelope>'
    )
    signed = sign_envelope(envelope, signing)  # no Header: one is added
    assert verify_envelope(signed, ca.certificate) == identity.certificate

    def reason(data: bytes, **kwargs: object) -> str:
        with pytest.raises(SignatureRefused) as refused:
            verify_envelope(data, ca.certificate, **kwargs)  # type: ignore[arg-type]
        return refused.value.reason

    assert reason(signed, now=datetime.now(UTC) + timedelta(minutes=10)) == "stale"
    assert reason(signed, now=datetime.now(UTC) + timedelta(days=800)) == "expired-certificate"
    # a second Body smuggled beside the signed one (signature wrapping) is refused
    second = b"<s:Body><x:Ask xmlns:x='urn:x'>2</x:Ask></s:Body>"
    wrapped = signed.replace(b"</s:Envelope>", second + b"</s:Envelope>")
    assert reason(wrapped) == "wrongly-signed"
    guard = ReplayGuard(capacity=1)
    verify_envelope(signed, ca.certificate, replays=guard)
    assert reason(signed, replays=guard) == "replayed"
