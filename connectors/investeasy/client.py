"""The hub's side of the Invest Easy portal's callback API: an API key, every reply checked
against the portal's JSON Schemas (contracts/agencies/investeasy), then mapped to the
canonical confirmation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.investeasy import mapping
from connectors.rest.client import AgencySchemas, JsonAgencyClient
from connectors.rest.submit import submit
from hub.plugin import CallContext, CallPolicy, ConfigurationError, Endpoint, Health

AGENCY = "investeasy"
KEY_HEADER = "X-Portal-Key"


class InvestEasyClient:
    """One Invest Easy endpoint, authenticated with the `api_key` the portal issued."""

    def __init__(self, endpoint: Endpoint, policy: CallPolicy) -> None:
        try:
            key = endpoint.credentials["api_key"]
        except KeyError:
            raise ConfigurationError(
                f"{AGENCY} endpoint {endpoint.url} needs the credential 'api_key'"
            ) from None
        self._api = JsonAgencyClient(
            AGENCY, endpoint, policy, AgencySchemas(AGENCY), headers={KEY_HEADER: key}
        )

    async def call(
        self, operation: str, request: Mapping[str, Any], ctx: CallContext
    ) -> Mapping[str, Any]:
        """The portal's confirmation, or an AgencyError saying whether to retry (a different
        decision already held is a permanent 409)."""
        if operation == "licence_status":
            reply = await submit(
                self._api,
                operation,
                mapping.licence_status_path(request),
                mapping.licence_status_to_portal(request),
                schema="licence-status-receipt",
            )
            return mapping.licence_receipt_to_canonical(reply)
        reply = await submit(
            self._api,
            operation,
            mapping.decision_path(request),
            mapping.decision_to_portal(request),
            schema="receipt",
        )
        return mapping.receipt_to_canonical(reply)

    async def health(self) -> Health:
        return await self._api.health()

    async def aclose(self) -> None:
        await self._api.aclose()
