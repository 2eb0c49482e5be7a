"""The Invest Easy and Isnad connectors against their simulators on loopback, on what the
conformance suite cannot see: the portal keeps one decision per application (the same again
is confirmed with the same receipt, a different one is a permanent refusal), Isnad files a
reference once, and both agencies' OpenAPI documents describe the calls the clients make."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from connectors.investeasy import connector as investeasy
from connectors.isnad import connector as isnad
from contracts import CONTRACTS_DIR
from hub.agencies.connector import CallContext, Connector, Endpoint
from hub.agencies.gateway import AgencyGateway, CallLog
from hub.contracts.registry import ContractRegistry
from hub.errors import PermanentAgencyError
from hub.serving import LoopbackServer

CONTRACTS = ContractRegistry.load()


class Served:
    def __init__(self, connector: Connector) -> None:
        self.connector = connector
        self.simulator = connector.simulator(0)
        self.server = LoopbackServer(self.simulator.app).start()

    def call(self, operation: str, request: Mapping[str, Any]) -> Mapping[str, Any]:
        async def run() -> Mapping[str, Any]:
            endpoint = Endpoint(self.server.url, dict(self.simulator.credentials))
            client = self.connector.client(endpoint)
            gateway = AgencyGateway(
                {self.connector.name: self.connector}, {self.connector.name: client}, CONTRACTS
            )
            try:
                ctx = CallContext("case-connector-test", "msg-connector-test")
                return await gateway.call(self.connector.name, operation, request, ctx, CallLog())
            finally:
                await client.aclose()

        return asyncio.run(run())


@pytest.fixture(scope="module")
def portal() -> Iterator[Served]:
    served = Served(investeasy)
    yield served
    served.server.stop()


@pytest.fixture(scope="module")
def board() -> Iterator[Served]:
    served = Served(isnad)
    yield served
    served.server.stop()


def example(contract: str, index: int = 0) -> dict[str, Any]:
    return copy.deepcopy(dict(CONTRACTS.get(contract).examples[index]))


def test_the_portal_keeps_one_decision_per_application(portal: Served) -> None:
    approved = example("urn:muscat-hub:canonical:investeasy-decision-request:1.0")
    approved["application_ref"] = "IE-2026-700001"
    first = portal.call("decision_callback", approved)
    again = portal.call("decision_callback", approved | {"decided_at": "2026-12-08T01:00:00+00:00"})
    assert first["receipt"] == again["receipt"] and first["decision"] == "approved"
    assert first["message_ar"]
    refused = approved | {"decision": "refused", "reasons": [{"code": "x", "en": "no", "ar": "لا"}]}
    refused.pop("licence_no"), refused.pop("fee")
    with pytest.raises(PermanentAgencyError) as caught:
        portal.call("decision_callback", refused)
    assert "409" in caught.value.reason
    assert portal.simulator.decisions["IE-2026-700001"]["decision"] == "APPROVED"
    assert (
        portal.simulator.decisions["IE-2026-700001"]["fees"]["total"]
        == approved["fee"]["total_omr"]
    )
    assert len(portal.simulator.conflicts) == 1


def test_isnad_files_one_reference_once(board: Served) -> None:
    tender = example("urn:muscat-hub:canonical:isnad-tender-filing-request:1.0")
    first = board.call("file_tender", tender)
    again = board.call("file_tender", tender)
    other = board.call("file_tender", tender | {"tender_ref": "MM-TND-2026-0999"})
    assert first["tender_no"] == again["tender_no"] != other["tender_no"]
    assert first["title"]["ar"] == tender["title"]["ar"]


@pytest.mark.parametrize(
    ("agency", "paths"),
    [
        (
            "investeasy",
            [
                "/api/portal/v1/applications/{reference}/decision",
                "/api/portal/v1/applications/{reference}/licence-status",
            ],
        ),
        ("isnad", ["/api/isnad/v1/tenders"]),
    ],
)
def test_the_openapi_document_is_valid_and_describes_the_calls(
    agency: str, paths: list[str]
) -> None:
    path = CONTRACTS_DIR / "agencies" / agency / "openapi.yaml"
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    validate(spec, base_uri=path.as_uri())
    for call in paths:
        responses = spec["paths"][call]["post"]["responses"]
        assert {"200", "401", "500"} <= set(responses)
