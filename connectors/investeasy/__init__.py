"""The Invest Easy connector: the Ministry of Commerce's one-stop portal, called back with the
municipality's decision on each approval request (REST/JSON, an API key in `X-Portal-Key`),
registered as the `hub.connectors` plugin `investeasy`.

The portal's approval requests reach the hub the other way, on the partner endpoint
`POST /api/v1/investeasy/applications` (docs/PARTNERS.md); this package is the hub's side of
the callback and the simulator that plays the portal.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.agency import AgencyConnector
from connectors.investeasy.client import InvestEasyClient
from connectors.investeasy.simulator import InvestEasySimulator
from hub.plugin import CallPolicy, Operation

OPERATIONS: Mapping[str, Operation] = {
    "decision_callback": Operation(
        name="decision_callback",
        description="Tell the portal the municipality's decision on one application; the same "
        "decision again is confirmed again, a different one is refused (409).",
        request_contract="urn:muscat-hub:canonical:investeasy-decision-request:1.0",
        response_contract="urn:muscat-hub:canonical:investeasy-decision-response:1.0",
    ),
    "licence_status": Operation(
        name="licence_status",
        description="Tell the portal that the licence given for an application was suspended "
        "(MOCI cancelled or suspended the CR); idempotent per application and status.",
        request_contract="urn:muscat-hub:canonical:investeasy-licence-status-request:1.0",
        response_contract="urn:muscat-hub:canonical:investeasy-licence-status-response:1.0",
    ),
}

connector = AgencyConnector(
    name="investeasy",
    title="Invest Easy (Ministry of Commerce one-stop portal)",
    # The portal answers callbacks in well under a second; it asks partners to stay under
    # 10 requests per second.
    policy=CallPolicy(rate_limit_per_s=10.0),
    declared=OPERATIONS,
    make_client=InvestEasyClient,
    make_simulator=InvestEasySimulator,
    signs_bodies=True,  # the municipality's decision, signed (docs/PARTNERS.md)
)

__all__ = ["InvestEasyClient", "InvestEasySimulator", "connector"]
