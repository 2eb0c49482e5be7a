"""The labour register connector (REST/JSON, HTTP Basic), registered as the `hub.connectors`
plugin `labour`."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.labour.client import LabourClient
from connectors.labour.simulator import LabourSimulator
from hub.plugin import CallPolicy, Endpoint, Operation

OPERATIONS: Mapping[str, Operation] = {
    "labour_standing": Operation(
        name="labour_standing",
        description="An establishment's standing by CR number: workers, Omanisation ratio, "
        "clearance and its reason.",
        request_contract="urn:muscat-hub:canonical:labour-standing-request:1.0",
        response_contract="urn:muscat-hub:canonical:labour-standing-response:1.0",
        reuse_answer_s=3600.0,
    ),
}


class LabourConnector:
    """What the core knows of the labour register: operations, call policy, client, simulator."""

    def __init__(self, policy: CallPolicy | None = None) -> None:
        self.name = "labour"
        self.title = "Labour register"
        # The register computes standing on request and is slower than the others: 8 s per
        # attempt, and no more than 5 requests per second.
        self.policy = policy or CallPolicy(
            timeout_s=8.0,
            attempts=3,
            backoff_initial_s=0.5,
            backoff_max_s=8.0,
            rate_limit_per_s=5.0,
        )

    def operations(self) -> Mapping[str, Operation]:
        return OPERATIONS

    def client(self, endpoint: Endpoint) -> LabourClient:
        return LabourClient(endpoint, self.policy)

    def simulator(self, seed: int = 0) -> LabourSimulator:
        return LabourSimulator(seed)


connector = LabourConnector()

__all__ = ["LabourClient", "LabourConnector", "LabourSimulator", "connector"]
