"""A sixth agency that exists only in the tests: the Social Protection Fund (REST/JSON, API
key), answering the hub's canonical labour-standing question from its insured-persons records.

It proves the plugin contract: installed through a `hub.connectors` entry point of its own
(see test_sixth_connector.py), it is discovered and passes the conformance suite with no edit
to the core.
"""

from __future__ import annotations

from collections.abc import Mapping

from hub.plugin import CallPolicy, Endpoint, Operation
from tests.conformance.sixth.agency import SpfClient, SpfSimulator

OPERATIONS: Mapping[str, Operation] = {
    "labour_standing": Operation(
        name="labour_standing",
        description="Insured workers and contribution standing of an employer by CR number.",
        request_contract="urn:muscat-hub:canonical:labour-standing-request:1.0",
        response_contract="urn:muscat-hub:canonical:labour-standing-response:1.0",
    ),
}


class SpfConnector:
    name = "spf"
    title = "Social Protection Fund (test plugin)"

    def __init__(self) -> None:
        self.policy = CallPolicy(timeout_s=5.0, attempts=3)

    def operations(self) -> Mapping[str, Operation]:
        return OPERATIONS

    def client(self, endpoint: Endpoint) -> SpfClient:
        return SpfClient(endpoint, self.policy)

    def simulator(self, seed: int = 0) -> SpfSimulator:
        return SpfSimulator(seed)


connector = SpfConnector()
