"""Signed SOAP messages from partners over mutual TLS (HUB_SOAP_SIGNATURES_REQUIRED): a push
signed with the partner's certificate is accepted; unsigned, wrongly signed, expired-
certificate, wrong-CA, replayed and someone else's signatures are each refused with their
reason as a soap:Client fault, audited, and nothing is published."""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from hub.api.grants import soap_grant
from hub.pki.authority import CertificateAuthority
from hub.pki.material import read_certificate, read_private_key
from hub.soap.signature import WsSigning, sign_envelope
from tests.integration.partner_hub import PartnerHub

PARTNER = "medc-signed"
GRANT = soap_grant("ElectricityNotifications", "ConnectionCompleted")


@dataclass(frozen=True)
class World:
    hub: PartnerHub
    tls: ssl.SSLContext
    signers: dict[str, WsSigning]

    def post(self, envelope: bytes) -> httpx.Response:
        with httpx.Client(verify=self.tls, timeout=10) as client:
            return client.post(
                f"{self.hub.url}/soap/ElectricityNotifications",
                content=envelope,
                headers={"Content-Type": "text/xml; charset=utf-8"},
            )


def _signing(
    ca: CertificateAuthority, name: str, file: str | None = None, **kwargs: object
) -> tuple[Path, WsSigning]:
    path = ca.folder / f"{file or name}.pem"
    cert = ca.issue(name, "partner", cert_path=path, **kwargs)  # type: ignore[arg-type]
    key = cert.with_name(cert.stem + "-key.pem")
    return cert, WsSigning(read_private_key(key), read_certificate(cert), ca.certificate)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("signed")
    ca = CertificateAuthority.create(root / "pki")
    stranger = CertificateAuthority.create(root / "stranger")
    cert, own = _signing(ca, PARTNER)
    long_ago = datetime.now(UTC) - timedelta(days=30)
    signers = {
        "own": own,
        "expired": _signing(ca, PARTNER, "expired", days=1, not_before=long_ago)[1],
        "foreign": _signing(stranger, PARTNER)[1],
        "other-partner": _signing(ca, "someone-else")[1],
    }
    tls = ssl.create_default_context(cafile=str(ca.folder / "ca.pem"))
    tls.load_cert_chain(str(cert), str(cert.with_name(cert.stem + "-key.pem")))
    with PartnerHub(root, soap_signatures_required=True) as hub:
        hub.registry.add(PARTNER, [GRANT])
        yield World(hub, tls, signers)


def _notification() -> bytes:
    number = f"NC-2026-{uuid.uuid4().int % 1_000_000:06d}"
    return (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header/>'
        "<soap:Body>"
        '<m:ConnectionCompletedNotification xmlns:m="urn:medc.om:services:1">'
        f"<m:RequestNumber>{number}</m:RequestNumber>"
        "<m:BuildingPermitNumber>MCT-BP-2026-001234</m:BuildingPermitNumber>"
        "<m:MeterNumber>MTR-88120457</m:MeterNumber>"
        "<m:ConnectedAt>2026-11-28T09:15:00Z</m:ConnectedAt>"
        "</m:ConnectionCompletedNotification></soap:Body></soap:Envelope>"
    ).encode()


def _accepted(world: World) -> int:
    return len(world.hub.audit("partner.push.accepted"))


def test_a_push_signed_with_the_partners_certificate_is_accepted(world: World) -> None:
    before = _accepted(world)
    reply = world.post(sign_envelope(_notification(), world.signers["own"]))
    assert reply.status_code == 200, reply.text
    assert _accepted(world) == before + 1


def _tampered(world: World) -> bytes:
    signed = sign_envelope(_notification(), world.signers["own"])
    return signed.replace(b"MTR-88120457", b"MTR-00000001")


def _signed_by(who: str) -> object:
    return lambda world: sign_envelope(_notification(), world.signers[who])


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda world: _notification(), "signature-unsigned"),
        (_tampered, "signature-wrongly-signed"),
        (_signed_by("expired"), "signature-expired-certificate"),
        (_signed_by("foreign"), "signature-wrong-ca"),
        (_signed_by("other-partner"), "signature-not-the-partner"),
    ],
    ids=["unsigned", "wrongly-signed", "expired-certificate", "wrong-ca", "not-the-partner"],
)
def test_each_bad_signature_is_refused_by_reason_and_audited(
    world: World, make: object, reason: str
) -> None:
    before = (_accepted(world), world.hub.outbox_count())
    reply = world.post(make(world))  # type: ignore[operator]
    assert reply.status_code == 500
    assert b"<faultcode>soap:Client</faultcode>" in reply.content
    assert f"message signature refused: {reason}".encode() in reply.content
    denied = world.hub.audit("partner.denied", partner=PARTNER)
    assert denied[-1].detail["reason"] == reason
    assert (_accepted(world), world.hub.outbox_count()) == before


def test_a_replayed_signed_push_is_refused(world: World) -> None:
    signed = sign_envelope(_notification(), world.signers["own"])
    first, again = world.post(signed), world.post(signed)
    assert first.status_code == 200
    assert again.status_code == 500
    assert b"message signature refused: signature-replayed" in again.content
    assert world.hub.audit("partner.denied", partner=PARTNER)[-1].detail["reason"] == (
        "signature-replayed"
    )
