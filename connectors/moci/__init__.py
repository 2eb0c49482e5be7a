"""The Ministry of Commerce and Industry connector (REST/JSON, OAuth 2.0 client credentials),
registered as the `hub.connectors` plugin `moci`."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.moci.client import MociClient
from connectors.moci.simulator import MociSimulator
from hub.plugin import CallPolicy, Endpoint, Operation

OPERATIONS: Mapping[str, Operation] = {
    "commercial_registration": Operation(
        name="commercial_registration",
        description="The commercial registration behind a CR number: status, expiry, "
        "activities, owners.",
        request_contract="urn:muscat-hub:canonical:commercial-registration-request:1.0",
        response_contract="urn:muscat-hub:canonical:commercial-registration-response:1.0",
        reuse_answer_s=3600.0,
    ),
}


class MociConnector:
    """What the core knows of MOCI: its operations, call policy, client and simulator."""

    def __init__(self, policy: CallPolicy | None = None) -> None:
        self.name = "moci"
        self.title = "Ministry of Commerce and Industry"
        # MOCI's API gateway allows about 10 requests per second per client and answers
        # within a second or two on a normal day.
        self.policy = policy or CallPolicy(
            timeout_s=5.0,
            attempts=3,
            backoff_initial_s=0.2,
            backoff_max_s=5.0,
            rate_limit_per_s=10.0,
        )

    def operations(self) -> Mapping[str, Operation]:
        return OPERATIONS

    def client(self, endpoint: Endpoint) -> MociClient:
        return MociClient(endpoint, self.policy)

    def simulator(self, seed: int = 0) -> MociSimulator:
        return MociSimulator(seed)


connector = MociConnector()

__all__ = ["MociClient", "MociConnector", "MociSimulator", "connector"]
