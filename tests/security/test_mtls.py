"""Partners authenticated by certificates of the national CA, over real TLS on loopback: REST
(httpx) and SOAP (zeep over requests) with a client certificate; revoked, expired and
wrong-CA certificates refused with their reason, audited, nothing else changed; partners
with keys keep working on the same port; the grant model is unchanged."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import requests
import zeep
from zeep.exceptions import Fault
from zeep.transports import Transport

from hub.api.grants import LICENCES_READ, soap_grant
from hub.pki.authority import CertificateAuthority
from tests.integration.partner_hub import PartnerHub, licence

LICENCE_NO = "MCT-TL-700001"
REST_PATH = f"/api/v1/licences/{LICENCE_NO}"
SOAP_GRANT = soap_grant("MunicipalRecords", "GetLicence")


@dataclass(frozen=True)
class World:
    hub: PartnerHub
    ca: CertificateAuthority
    certs: dict[str, tuple[str, str]]  # who -> (cert file, key file)
    sessions: list[requests.Session]  # closed at the end, so the server stops at once

    @property
    def ca_file(self) -> str:
        return str(self.ca.folder / "ca.pem")

    def client(self, who: str | None) -> httpx.Client:
        context = ssl.create_default_context(cafile=self.ca_file)
        if who is not None:
            context.load_cert_chain(*self.certs[who])
        return httpx.Client(base_url=self.hub.url, verify=context, timeout=10)


def _pair(path: Path) -> tuple[str, str]:
    return str(path), str(path.with_name(path.stem + "-key.pem"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("mtls")
    ca = CertificateAuthority.create(root / "pki")
    certs = {
        who: _pair(ca.issue(who, "partner"))
        for who in ("mtls-medc", "mtls-revoked", "mtls-ungranted", "mtls-unregistered")
    }
    long_ago = datetime.now(UTC) - timedelta(days=30)
    certs["mtls-expired"] = _pair(ca.issue("mtls-expired", "partner", days=1, not_before=long_ago))
    ca.revoke("mtls-revoked")
    stranger = CertificateAuthority.create(root / "stranger")
    certs["mtls-foreign"] = _pair(stranger.issue("mtls-medc", "partner"))
    with PartnerHub(root) as hub:
        hub.insert(licence(LICENCE_NO, name_ar="شركة النور للتجارة"))
        for name in ("mtls-medc", "mtls-revoked", "mtls-expired"):
            hub.registry.add(name, [LICENCES_READ, SOAP_GRANT])
        hub.registry.add("mtls-ungranted", ["building-permits.read"])
        world = World(hub, ca, certs, [])
        yield world
        for session in world.sessions:
            session.close()


def test_a_partner_with_a_certificate_reads_over_rest(world: World) -> None:
    assert world.hub.url.startswith("https://")
    with world.client("mtls-medc") as client:
        reply = client.get(REST_PATH)
    assert reply.status_code == 200, reply.text
    assert reply.json()["name_ar"] == "شركة النور للتجارة"
    admitted = world.hub.audit("partner.call", partner="mtls-medc")
    assert admitted and admitted[-1].detail["channel"] == "rest"
    assert len(admitted[-1].detail["certificate"]["sha256"]) == 64


def _soap_client(world: World, who: str) -> zeep.Client:
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE replaces `verify` on every request
    session.cert = world.certs[who]
    session.verify = world.ca_file
    world.sessions.append(session)
    transport = Transport(session=session, timeout=10, operation_timeout=10)
    return zeep.Client(f"{world.hub.url}/soap/MunicipalRecords?wsdl", transport=transport)


def test_a_partner_with_a_certificate_calls_soap_without_a_username_token(world: World) -> None:
    reply = _soap_client(world, "mtls-medc").service.GetLicence(LicenceNo=LICENCE_NO)
    assert reply["Found"] is True
    assert reply["Licence"]["NameAr"] == "شركة النور للتجارة"
    admitted = world.hub.audit("partner.call", partner="mtls-medc")
    assert any(entry.detail["channel"] == "soap" for entry in admitted)


@pytest.mark.parametrize(
    ("who", "reason"),
    [
        ("mtls-revoked", "certificate-revoked"),
        ("mtls-expired", "certificate-expired"),
        ("mtls-unregistered", "certificate-unknown-partner"),
    ],
)
def test_a_refused_certificate_is_named_and_audited_over_rest_and_soap(
    world: World, who: str, reason: str
) -> None:
    before = len(world.hub.audit("partner.call"))
    with world.client(who) as client:
        reply = client.get(REST_PATH)
    assert reply.status_code == 401
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reason in reply.json()["detail"]
    with pytest.raises(Fault, match=reason):
        _soap_client(world, who).service.GetLicence(LicenceNo=LICENCE_NO)
    denied = [e for e in world.hub.audit("partner.denied") if e.detail.get("reason") == reason]
    assert {e.detail["channel"] for e in denied} == {"rest", "soap"}
    assert all(e.detail["claimed_partner"] == who for e in denied)
    assert len(world.hub.audit("partner.call")) == before  # nothing admitted


def test_a_certificate_from_another_ca_is_refused_in_the_handshake(world: World) -> None:
    with world.client("mtls-foreign") as client, pytest.raises(httpx.TransportError):
        client.get(REST_PATH)


def test_a_certificate_does_not_widen_the_grants(world: World) -> None:
    with world.client("mtls-ungranted") as client:
        reply = client.get(REST_PATH)
    assert reply.status_code == 403
    denied = world.hub.audit("partner.denied", partner="mtls-ungranted")
    assert denied[-1].detail["reason"] == "not-granted"


def test_partners_with_keys_still_work_beside_certificates(world: World) -> None:
    _, secret = world.hub.partner(LICENCES_READ)
    with world.client(None) as client:
        keyed = client.get(REST_PATH, headers={"X-Api-Key": secret})
        bare = client.get(REST_PATH)
    assert keyed.status_code == 200
    assert bare.status_code == 401


def test_a_revocation_takes_effect_on_the_next_call(world: World) -> None:
    world.ca.issue("mtls-late", "partner")
    world.hub.registry.add("mtls-late", [LICENCES_READ])
    late = _pair(world.ca.folder / "partners" / "mtls-late.pem")
    with World(world.hub, world.ca, {"mtls-late": late}, []).client("mtls-late") as client:
        first = client.get(REST_PATH)
        world.ca.revoke("mtls-late")
        second = client.get(REST_PATH)
    assert (first.status_code, second.status_code) == (200, 401)
    assert "certificate-revoked" in second.json()["detail"]
