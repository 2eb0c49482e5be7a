"""A SOAP 1.1 endpoint for Starlette: read, authenticate, dispatch by the Body element, answer.

Services (the simulators, the hub's own SOAP faces) supply only their operations and how a
caller is authenticated; the order of checks and the fault each refusal gets live here once.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping

import structlog
from lxml import etree
from starlette.requests import Request
from starlette.responses import Response

from hub.soap.envelope import (
    CONTENT_TYPE,
    WSSE_SECURITY,
    SoapFault,
    SoapMessage,
    fault_envelope,
    read_envelope,
    reply_envelope,
)

log = structlog.get_logger("hub.soap")

Handler = Callable[[SoapMessage, str], Awaitable[etree._Element]]
"""An operation: the parsed request and the authenticated caller -> the reply payload."""

Authenticator = Callable[[SoapMessage], str | Awaitable[str]]
"""Who is calling (raise a soap:Client `SoapFault` to refuse); may be a coroutine, so that a
check against a store runs off the event loop."""

DEFAULT_MAX_BODY_BYTES = 1_048_576


def reply_response(payload: etree._Element, status_code: int = 200) -> Response:
    """An HTTP reply carrying `payload` in a SOAP 1.1 envelope."""
    return Response(reply_envelope(payload), status_code=status_code, media_type=CONTENT_TYPE)


def fault_response(fault: SoapFault) -> Response:
    """An HTTP 500 reply carrying `fault`, as SOAP 1.1 over HTTP requires."""
    return Response(
        fault_envelope(fault),
        status_code=fault.status_code,
        media_type=CONTENT_TYPE,
        headers=fault.headers,
    )


class BodyTooLarge(Exception):
    """The request body is over the endpoint's limit (answered with HTTP 413, not a fault)."""


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, refused as soon as it grows past `max_bytes` (no unbounded buffering)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class SoapEndpoint:
    """POST handling for one SOAP 1.1 service: operations keyed by payload QName (Clark form)."""

    def __init__(
        self,
        operations: Mapping[str, Handler],
        authenticate: Authenticator,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.operations = dict(operations)
        self.authenticate = authenticate
        self.max_body_bytes = max_body_bytes

    async def handle(self, request: Request) -> Response:
        """The reply to one POST: a payload, or a fault naming what was wrong."""
        try:
            body = await read_body(request, self.max_body_bytes)
        except BodyTooLarge:
            return Response("request body too large", status_code=413, media_type="text/plain")
        try:
            message = read_envelope(body, understood_headers=(WSSE_SECURITY,))
            checked = self.authenticate(message)
            caller = await checked if inspect.isawaitable(checked) else checked
            handler = self.operations.get(message.operation)
            if handler is None:
                name = etree.QName(message.payload).localname
                raise SoapFault.client(f"unknown operation {name}")
            payload = await handler(message, caller)
        except SoapFault as fault:
            return fault_response(fault)
        except Exception:
            log.exception("soap.operation_failed")
            return fault_response(SoapFault.server("internal error"))
        return reply_response(payload)
