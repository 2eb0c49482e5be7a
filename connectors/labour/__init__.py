"""The labour register connector (REST/JSON, HTTP Basic), registered as the `hub.connectors`
plugin `labour`."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.agency import AgencyConnector
from connectors.labour.client import LabourClient
from connectors.labour.simulator import LabourSimulator
from hub.plugin import CallPolicy, Operation

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


connector = AgencyConnector(
    name="labour",
    title="Labour register",
    # The register computes standing on request and is slower than the others: 8 s per
    # attempt, and no more than 5 requests per second.
    policy=CallPolicy(
        timeout_s=8.0, backoff_initial_s=0.5, backoff_max_s=8.0, rate_limit_per_s=5.0
    ),
    declared=OPERATIONS,
    make_client=LabourClient,
    make_simulator=LabourSimulator,
)

__all__ = ["LabourClient", "LabourSimulator", "connector"]
