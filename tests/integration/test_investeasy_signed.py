"""Issue 26's signed decisions: with the municipality's signing certificate on the endpoint,
the Invest Easy client sends each decision with a detached JWS over its exact bytes, and the
portal simulator, told to require it, confirms a signed decision and refuses an unsigned one,
one signed by a certificate of another CA, or a body changed after signing (422); the hub
sees each refusal as a permanent agency error, and the portal records nothing."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.investeasy import connector as investeasy
from connectors.investeasy.client import SIGNATURE_HEADER
from connectors.investeasy.mapping import decision_path, decision_to_portal
from connectors.investeasy.simulator import InvestEasySimulator
from hub.agencies.connector import CallContext, Endpoint
from hub.agencies.exchanges import body_signing
from hub.agencies.gateway import AgencyGateway, CallLog
from hub.config import load_settings
from hub.contracts.registry import ContractRegistry
from hub.errors import PermanentAgencyError
from hub.pki.authority import CertificateAuthority
from hub.plugin import WsSigning, sign_detached
from hub.serving import LoopbackServer

CONTRACTS = ContractRegistry.load()
DECISION = "urn:muscat-hub:canonical:investeasy-decision-request:1.0"


def _signing(data_dir: Path) -> WsSigning:
    CertificateAuthority.create(data_dir / "pki")  # what `hub pki init` makes
    signing = body_signing(load_settings(data_dir=data_dir))
    assert signing is not None
    return signing


class Portal:
    """The portal simulator on loopback, requiring the municipality's CA's signatures."""

    def __init__(self, municipality: WsSigning, stranger: WsSigning) -> None:
        self.municipality, self.stranger = municipality, stranger
        self.simulator = investeasy.simulator(0)
        assert isinstance(self.simulator, InvestEasySimulator)
        self.simulator.require_signatures(municipality.trust_anchor)
        self.server = LoopbackServer(self.simulator.app).start()

    def call(self, request: Mapping[str, Any], signing: WsSigning | None) -> Mapping[str, Any]:
        """The decision callback through the gateway, as the flow makes it."""

        async def run() -> Mapping[str, Any]:
            credentials = dict(self.simulator.credentials)
            client = investeasy.client(Endpoint(self.server.url, credentials, signing))
            gateway = AgencyGateway({"investeasy": investeasy}, {"investeasy": client}, CONTRACTS)
            try:
                ctx = CallContext("case-signed-decision", "msg-signed-decision")
                return await gateway.call(
                    "investeasy", "decision_callback", request, ctx, CallLog()
                )
            finally:
                await client.aclose()

        return asyncio.run(run())


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    municipality = _signing(tmp_path_factory.mktemp("municipality"))
    stranger = _signing(tmp_path_factory.mktemp("stranger"))
    served = Portal(municipality, stranger)
    yield served
    served.server.stop()


def _decision(reference: str) -> dict[str, Any]:
    decision = copy.deepcopy(dict(CONTRACTS.get(DECISION).examples[0]))
    decision["application_ref"] = reference
    return decision


def test_a_signed_decision_is_confirmed(portal: Portal) -> None:
    confirmed = portal.call(_decision("IE-2026-710001"), portal.municipality)
    assert confirmed["decision"] == "approved" and confirmed["receipt"].startswith("IE-RCPT-")
    assert portal.simulator.decisions["IE-2026-710001"]["decision"] == "APPROVED"
    assert portal.simulator.signature_refusals == []


@pytest.mark.parametrize(
    ("reference", "who", "reason"),
    [("IE-2026-710002", None, "unsigned"), ("IE-2026-710003", "stranger", "wrong-ca")],
)
def test_an_unsigned_or_foreign_decision_is_a_permanent_refusal(
    portal: Portal, reference: str, who: str | None, reason: str
) -> None:
    signing = portal.stranger if who == "stranger" else None
    with pytest.raises(PermanentAgencyError) as caught:
        portal.call(_decision(reference), signing)
    assert "422" in caught.value.reason  # never retried: the same body would fail the same way
    assert portal.simulator.signature_refusals[-1] == reason
    assert reference not in portal.simulator.decisions


def test_a_decision_changed_after_signing_is_refused(portal: Portal) -> None:
    reference = "IE-2026-710004"
    signed = json.dumps(decision_to_portal(_decision(reference)), ensure_ascii=False).encode()
    signature = sign_detached(signed, portal.municipality.key, portal.municipality.certificate)
    changed = signed.replace(b'"APPROVED"', b'"REFUSED"')
    key = {"X-Portal-Key": portal.simulator.credentials["api_key"]}
    url = f"{portal.server.url}{decision_path({'application_ref': reference})}"
    for body, expected in ((changed, 422), (signed, 200)):
        reply = httpx.post(
            url,
            content=body,
            headers=key | {SIGNATURE_HEADER: signature, "Content-Type": "application/json"},
        )
        assert reply.status_code == expected, reply.text
    assert portal.simulator.signature_refusals[-1] == "wrongly-signed"
    assert portal.simulator.decisions[reference]["decision"] == "APPROVED"  # the signed one


def test_bodies_are_signed_only_when_a_signing_certificate_is_configured(tmp_path: Path) -> None:
    assert body_signing(load_settings(data_dir=tmp_path)) is None
