"""The hub's side of the labour register's REST API: HTTP Basic, every reply checked against
the register's JSON Schemas (contracts/agencies/labour), then mapped to the canonical standing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.labour import mapping
from connectors.rest.client import AgencySchemas, JsonAgencyClient, basic_auth
from hub.plugin import (
    CallContext,
    CallPolicy,
    Endpoint,
    Health,
)

AGENCY = "labour"


class LabourClient:
    """One labour register endpoint, authenticated with `username` and `password`."""

    def __init__(self, endpoint: Endpoint, policy: CallPolicy) -> None:
        auth = basic_auth(AGENCY, endpoint)
        self._api = JsonAgencyClient(AGENCY, endpoint, policy, AgencySchemas(AGENCY), auth=auth)

    async def call(
        self, operation: str, request: Mapping[str, Any], ctx: CallContext
    ) -> Mapping[str, Any]:
        """The canonical reply to `operation` (the gateway only asks declared ones), or an
        AgencyError saying whether to retry."""
        reply = await self._api.get(
            operation,
            mapping.standing_path(request),
            schema="standing",
            not_found_schema="not-found",
        )
        return mapping.standing_to_canonical(reply)

    async def health(self) -> Health:
        return await self._api.health()

    async def aclose(self) -> None:
        await self._api.aclose()
