"""The hub's side of OCCI's REST API: an API key header, every reply checked against OCCI's
JSON Schemas (contracts/agencies/occi), then mapped to the canonical chamber membership."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.occi import mapping
from connectors.rest.client import AgencySchemas, JsonAgencyClient
from hub.plugin import (
    CallContext,
    CallPolicy,
    ConfigurationError,
    Endpoint,
    Health,
)

AGENCY = "occi"
API_KEY_HEADER = "X-API-Key"


class OcciClient:
    """One OCCI endpoint, authenticated by the `api_key` credential."""

    def __init__(self, endpoint: Endpoint, policy: CallPolicy) -> None:
        api_key = endpoint.credentials.get("api_key")
        if not api_key:
            raise ConfigurationError(
                f"{AGENCY} endpoint {endpoint.url} needs the credential 'api_key' "
                f"(sent as {API_KEY_HEADER})"
            )
        self._api = JsonAgencyClient(
            AGENCY, endpoint, policy, AgencySchemas(AGENCY), headers={API_KEY_HEADER: api_key}
        )

    async def call(
        self, operation: str, request: Mapping[str, Any], ctx: CallContext
    ) -> Mapping[str, Any]:
        """The canonical reply to `operation` (the gateway only asks declared ones), or an
        AgencyError saying whether to retry."""
        reply = await self._api.get(
            operation,
            "/v1/memberships",
            params=mapping.membership_query(request),
            schema="membership",
            not_found_schema="not-found",
        )
        return mapping.membership_to_canonical(reply)

    async def health(self) -> Health:
        return await self._api.health()

    async def aclose(self) -> None:
        await self._api.aclose()
