"""The hub's side of the Invest Easy portal's callback API: an API key, every reply checked
against the portal's JSON Schemas (contracts/agencies/investeasy), then mapped to the
canonical confirmation. With the municipality's signing identity on the endpoint, every body
sent carries a detached JWS over its exact bytes (`X-JWS-Signature`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from connectors.investeasy import mapping
from connectors.rest.client import AgencySchemas, JsonAgencyClient
from connectors.rest.submit import submit
from hub.plugin import (
    CallContext,
    CallPolicy,
    ConfigurationError,
    Endpoint,
    Health,
    WsSigning,
    sign_detached,
)

AGENCY = "investeasy"
KEY_HEADER = "X-Portal-Key"
SIGNATURE_HEADER = "X-JWS-Signature"


def body_signer(signing: WsSigning) -> Callable[[httpx.Request], Awaitable[None]]:
    """An httpx request hook: the municipality's detached JWS over the exact body sent (run
    after the body is encoded, so it covers the bytes on the wire, retries included)."""

    async def sign(request: httpx.Request) -> None:
        if request.content:
            signature = sign_detached(request.content, signing.key, signing.certificate)
            request.headers[SIGNATURE_HEADER] = signature

    return sign


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
        if endpoint.ws_signing is not None:  # the decision signed by the municipality
            hooks = self._api.http.event_hooks
            hooks["request"] = [*hooks["request"], body_signer(endpoint.ws_signing)]
            self._api.http.event_hooks = hooks

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
