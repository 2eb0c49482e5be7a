"""The hub's side of MOCI's REST API: OAuth 2.0 client credentials, every reply checked against
MOCI's JSON Schemas (contracts/agencies/moci), then mapped to the canonical registration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.moci import mapping
from connectors.moci.auth import ClientCredentials
from connectors.rest.client import AgencySchemas, JsonAgencyClient
from hub.plugin import (
    CallContext,
    CallPolicy,
    ConfigurationError,
    Endpoint,
    Health,
)

AGENCY = "moci"


def _credentials(endpoint: Endpoint) -> tuple[str, str]:
    try:
        return endpoint.credentials["client_id"], endpoint.credentials["client_secret"]
    except KeyError:
        raise ConfigurationError(
            f"{AGENCY} endpoint {endpoint.url} needs credentials 'client_id' and "
            "'client_secret' (OAuth 2.0 client credentials)"
        ) from None


class MociClient:
    """One MOCI endpoint; the token endpoint is `<url>/oauth/token` unless credentials name a
    `token_url`."""

    def __init__(self, endpoint: Endpoint, policy: CallPolicy) -> None:
        client_id, client_secret = _credentials(endpoint)
        schemas = AgencySchemas(AGENCY)
        token_url = endpoint.credentials.get("token_url") or f"{endpoint.url}/oauth/token"
        self.auth = ClientCredentials(
            token_url, client_id, client_secret, schemas, timeout_s=policy.timeout_s
        )
        self._api = JsonAgencyClient(AGENCY, endpoint, policy, schemas, auth=self.auth)

    async def call(
        self, operation: str, request: Mapping[str, Any], ctx: CallContext
    ) -> Mapping[str, Any]:
        """The canonical reply to `operation` (the gateway only asks declared ones), or an
        AgencyError saying whether to retry."""
        reply = await self._api.get(
            operation,
            mapping.registration_path(request),
            schema="registration",
            not_found_schema="not-found",
        )
        return mapping.registration_to_canonical(reply)

    async def health(self) -> Health:
        return await self._api.health()

    async def aclose(self) -> None:
        await self._api.aclose()
        await self.auth.aclose()
