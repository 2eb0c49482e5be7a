"""The hub's side of Isnad's tender API: HTTP Basic, every reply checked against Isnad's JSON
Schemas (contracts/agencies/isnad), then mapped to the canonical filing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.isnad import mapping
from connectors.rest.client import AgencySchemas, JsonAgencyClient, basic_auth
from connectors.rest.submit import submit
from hub.plugin import CallContext, CallPolicy, Endpoint, Health

AGENCY = "isnad"


class IsnadClient:
    """One Isnad endpoint, authenticated with `username` and `password`."""

    def __init__(self, endpoint: Endpoint, policy: CallPolicy) -> None:
        auth = basic_auth(AGENCY, endpoint)
        self._api = JsonAgencyClient(AGENCY, endpoint, policy, AgencySchemas(AGENCY), auth=auth)

    async def call(
        self, operation: str, request: Mapping[str, Any], ctx: CallContext
    ) -> Mapping[str, Any]:
        """Isnad's filing of the tender, or an AgencyError saying whether to retry."""
        reply = await submit(
            self._api,
            operation,
            mapping.TENDERS_PATH,
            mapping.filing_to_isnad(request),
            schema="tender",
        )
        return mapping.tender_to_canonical(reply)

    async def health(self) -> Health:
        return await self._api.health()

    async def aclose(self) -> None:
        await self._api.aclose()
