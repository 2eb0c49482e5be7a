"""The Isnad connector: the Tender Board's e-tendering system, with which the hub files the
municipality's tenders (REST/JSON, HTTP Basic), registered as the `hub.connectors` plugin
`isnad`.

Isnad's status changes reach the hub the other way, as pushes on the partner endpoint
`POST /api/v1/push/isnad/tender-status` (docs/PARTNERS.md); the simulator plays both sides.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.agency import AgencyConnector
from connectors.isnad.client import IsnadClient
from connectors.isnad.simulator import IsnadSimulator
from hub.plugin import CallPolicy, Operation

OPERATIONS: Mapping[str, Operation] = {
    "file_tender": Operation(
        name="file_tender",
        description="File a municipal tender; Isnad gives its tender number (filing the same "
        "reference again returns the same number).",
        request_contract="urn:muscat-hub:canonical:isnad-tender-filing-request:1.0",
        response_contract="urn:muscat-hub:canonical:isnad-tender-filing-response:1.0",
    ),
}

connector = AgencyConnector(
    name="isnad",
    title="Isnad (Tender Board e-tendering)",
    # Filing validates the tender against the Board's rules: allow 8 s, 5 requests per second.
    policy=CallPolicy(timeout_s=8.0, rate_limit_per_s=5.0),
    declared=OPERATIONS,
    make_client=IsnadClient,
    make_simulator=IsnadSimulator,
)

__all__ = ["IsnadClient", "IsnadSimulator", "connector"]
