"""Limits every partner request lives within: a body-size ceiling (413) and a time limit
(503, or a soap:Server fault under /soap). Each refusal speaks the caller's protocol: a
problem document for REST, a SOAP fault for SOAP."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.api.problems import problem_response
from hub.soap import SoapFault, fault_response

SOAP_PREFIX = "/soap/"


def _refusal(scope: Scope, status: int, detail: str) -> Response:
    request = Request(scope)
    if request.url.path.startswith(SOAP_PREFIX):
        fault = SoapFault.client(detail) if status < 500 else SoapFault.server(detail)
        fault.status_code = status
        return fault_response(fault)
    kind = "body-too-large" if status == 413 else "timeout"
    return problem_response(request, status, detail, kind=kind)


class _OverLimit(Exception):
    """Raised from `receive` when the streamed body passes the limit; caught by the limiter
    alone (an endpoint's own size check must not answer it in its own way)."""


class _Tracked:
    """A `send` that remembers whether the response has begun (then it cannot be replaced)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)


class BodySizeLimit:
    """Refuse a body over `max_bytes`: at once when Content-Length says so, else as soon as
    the streamed bytes pass it, so nothing larger is ever buffered."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = f"the request body is over {self.max_bytes} bytes"
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _refusal(scope, 413, detail)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _OverLimit
            return message

        tracked = _Tracked(send)
        try:
            await self.app(scope, counted, tracked)
        except _OverLimit:
            if tracked.started:
                raise
            await _refusal(scope, 413, detail)(scope, receive, send)


class RequestTimeout:
    """Answer a request that takes longer than `seconds` (a slow upload included) instead of
    holding a connection for it; a call already waiting on the store in a worker thread is
    answered when that wait ends (threads cannot be interrupted)."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracked = _Tracked(send)
        try:
            async with asyncio.timeout(self.seconds):
                await self.app(scope, receive, tracked)
        except TimeoutError:
            if tracked.started:
                raise
            detail = f"the request took longer than {self.seconds:g} s"
            await _refusal(scope, 503, detail)(scope, receive, send)
