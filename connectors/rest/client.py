"""What every REST/JSON agency client shares: one httpx exchange, its failure sorted for the
retry policy, and the raw reply checked against the agency's own JSON Schema before any
mapping reads it. A reply that breaks the agency's schema is an error, never returned."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from connectors.replies import ReplyRejected, exchange_error, judge_status, probe
from contracts import CONTRACTS_DIR
from hub.plugin import (
    AgencyError,
    CallPolicy,
    ConfigurationError,
    Endpoint,
    Health,
    PermanentAgencyError,
    record_reply,
    record_request,
    schema_file_validator,
    stamp_correlation,
)


def basic_auth(agency: str, endpoint: Endpoint) -> httpx.BasicAuth:
    """HTTP Basic from the endpoint's `username` and `password`; a clear configuration error
    when either is missing."""
    try:
        username, password = endpoint.credentials["username"], endpoint.credentials["password"]
    except KeyError:
        raise ConfigurationError(
            f"{agency} endpoint {endpoint.url} needs credentials 'username' and "
            "'password' (HTTP Basic)"
        ) from None
    return httpx.BasicAuth(username, password)


class AgencySchemas:
    """The JSON Schemas of one agency's native replies, `contracts/agencies/<agency>/*.schema.json`
    (the same files its OpenAPI document refers to)."""

    def __init__(self, agency: str, directory: Path | None = None) -> None:
        self.agency = agency
        self.directory = directory or CONTRACTS_DIR / "agencies" / agency

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.schema.json"

    def errors(self, name: str, body: Any) -> list[str]:
        """One line per failing field, `path: reason`; empty when the body satisfies `name`."""
        found = sorted(
            schema_file_validator(self.path(name)).iter_errors(body),
            key=lambda e: list(map(str, e.path)),
        )
        return [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in found]


def judge(
    response: httpx.Response, schemas: AgencySchemas, schema: str, *, expected: int = 200
) -> Any:
    """The JSON body of a reply with status `expected` that satisfies `schema`; otherwise
    `ReplyRejected`, transient for 429 and 5xx (honouring Retry-After), permanent for the rest;
    refused credentials and requests to back off say so (`refusal`)."""
    judge_status(response.status_code, response.headers, expected=expected)
    try:
        body = response.json()
    except ValueError as exc:
        raise ReplyRejected(f"reply is not JSON: {exc}", transient=False) from None
    errors = schemas.errors(schema, body)
    if errors:
        listed = "; ".join(errors[:3])
        raise ReplyRejected(
            f"reply breaks {schemas.agency} {schema}.schema.json: {listed}", transient=False
        )
    return body


class JsonAgencyClient:
    """One REST/JSON agency endpoint: `get` fetches and validates, failures leave as the hub's
    `TransientAgencyError` or `PermanentAgencyError` (`AgencyRateLimited`, `AgencyAuthError`
    when the agency said why), never as httpx exceptions."""

    def __init__(
        self,
        agency: str,
        endpoint: Endpoint,
        policy: CallPolicy,
        schemas: AgencySchemas,
        *,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        health_path: str = "/health",
    ) -> None:
        self.agency = agency
        self.endpoint = endpoint
        self.policy = policy
        self.schemas = schemas
        self.health_path = health_path
        self.http = httpx.AsyncClient(
            base_url=endpoint.url,
            timeout=policy.timeout_s,
            auth=auth,
            headers=dict(headers or {}),
            event_hooks={
                "request": [stamp_correlation, record_request],
                "response": [record_reply],
            },
        )

    async def get(
        self,
        operation: str,
        path: str,
        *,
        schema: str,
        params: Mapping[str, str] | None = None,
        not_found_schema: str | None = None,
    ) -> Any:
        """The validated reply body; None when the agency answers a well-formed 404 that
        satisfies `not_found_schema` (any other 404 is a wrong address: permanent)."""
        try:
            response = await self.http.get(path, params=params)
            if response.status_code == 404 and not_found_schema is not None:
                judge(response, self.schemas, not_found_schema, expected=404)
                return None
            return judge(response, self.schemas, schema)
        except (ReplyRejected, httpx.HTTPError) as exc:
            raise self.classify(operation, exc) from exc

    def classify(self, operation: str, exc: Exception) -> AgencyError:
        """The hub's error class for a failed call (`connectors.replies` decides)."""
        error = exchange_error(self.agency, operation, exc, self.policy.timeout_s)
        return error or PermanentAgencyError(self.agency, operation, f"reply unusable: {exc!r}")

    async def health(self) -> Health:
        """Reachable when the health resource answers 200: a real round trip, no token
        fetched and no side effect."""
        path = self.health_path
        return await probe(
            lambda: self.http.get(path, auth=None),
            self.policy.timeout_s,
            path,
            f"{path} answered 200",
        )

    async def aclose(self) -> None:
        await self.http.aclose()
