"""The Oman Chamber of Commerce and Industry connector (REST/JSON, API key), registered as the
`hub.connectors` plugin `occi`."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.occi.client import OcciClient
from connectors.occi.simulator import OcciSimulator
from hub.plugin import CallPolicy, Endpoint, Operation

OPERATIONS: Mapping[str, Operation] = {
    "chamber_membership": Operation(
        name="chamber_membership",
        description="The chamber membership under a CR number: grade and valid-until date.",
        request_contract="urn:muscat-hub:canonical:chamber-membership-request:1.0",
        response_contract="urn:muscat-hub:canonical:chamber-membership-response:1.0",
        reuse_answer_s=3600.0,
    ),
}


class OcciConnector:
    """What the core knows of OCCI: its operations, call policy, client and simulator."""

    def __init__(self, policy: CallPolicy | None = None) -> None:
        self.name = "occi"
        self.title = "Oman Chamber of Commerce and Industry"
        # The chamber's API is small and quick, and its key allows 5 requests per second.
        self.policy = policy or CallPolicy(
            timeout_s=4.0,
            attempts=3,
            backoff_initial_s=0.2,
            backoff_max_s=5.0,
            rate_limit_per_s=5.0,
        )

    def operations(self) -> Mapping[str, Operation]:
        return OPERATIONS

    def client(self, endpoint: Endpoint) -> OcciClient:
        return OcciClient(endpoint, self.policy)

    def simulator(self, seed: int = 0) -> OcciSimulator:
        return OcciSimulator(seed)


connector = OcciConnector()

__all__ = ["OcciClient", "OcciConnector", "OcciSimulator", "connector"]
