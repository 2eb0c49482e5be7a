"""The Ministry of Commerce and Industry connector (REST/JSON, OAuth 2.0 client credentials),
registered as the `hub.connectors` plugin `moci`."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.agency import AgencyConnector
from connectors.moci.client import MociClient
from connectors.moci.simulator import MociSimulator
from hub.plugin import CallPolicy, Operation

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


connector = AgencyConnector(
    name="moci",
    title="Ministry of Commerce and Industry",
    # MOCI's API gateway allows about 10 requests per second per client and answers
    # within a second or two on a normal day.
    policy=CallPolicy(rate_limit_per_s=10.0),
    declared=OPERATIONS,
    make_client=MociClient,
    make_simulator=MociSimulator,
)

__all__ = ["MociClient", "MociSimulator", "connector"]
