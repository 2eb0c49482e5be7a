"""Sending a body to a REST agency (a callback, a filing) rather than reading from it: the same
verdicts as `JsonAgencyClient.get`, the reply checked against the agency's schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from connectors.replies import ReplyRejected
from connectors.rest.client import JsonAgencyClient, judge


async def submit(
    api: JsonAgencyClient, operation: str, path: str, body: Mapping[str, Any], *, schema: str
) -> Any:
    """POST `body` as JSON; the validated reply, or the hub's error class for the failure
    (a refusal such as a conflict is permanent, an outage transient)."""
    try:
        response = await api.http.post(path, json=dict(body))
        return judge(response, api.schemas, schema)
    except (ReplyRejected, httpx.HTTPError) as exc:
        raise api.classify(operation, exc) from exc
