"""The Oman Chamber of Commerce and Industry connector (REST/JSON, API key), registered as the
`hub.connectors` plugin `occi`."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.agency import AgencyConnector
from connectors.occi.client import OcciClient
from connectors.occi.simulator import OcciSimulator
from hub.plugin import CallPolicy, Operation

OPERATIONS: Mapping[str, Operation] = {
    "chamber_membership": Operation(
        name="chamber_membership",
        description="The chamber membership under a CR number: grade and valid-until date.",
        request_contract="urn:muscat-hub:canonical:chamber-membership-request:1.0",
        response_contract="urn:muscat-hub:canonical:chamber-membership-response:1.0",
        reuse_answer_s=3600.0,
    ),
}


connector = AgencyConnector(
    name="occi",
    title="Oman Chamber of Commerce and Industry",
    # The chamber's API is small and quick, and its key allows 5 requests per second.
    policy=CallPolicy(timeout_s=4.0, rate_limit_per_s=5.0),
    declared=OPERATIONS,
    make_client=OcciClient,
    make_simulator=OcciSimulator,
)

__all__ = ["OcciClient", "OcciSimulator", "connector"]
