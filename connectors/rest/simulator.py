"""What every REST/JSON agency simulator shares: a Starlette app on loopback that answers from
the simulated world (`connectors.world`), with the fault modes of `hub.connectors.FAULT_MODES`
switchable at run time (`set_fault`, or POST /_sim/fault {"mode": ...}), a GET /health
resource, and a record of the X-Correlation-ID each call carried."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from hub.connectors import CORRELATION_HEADER, FAULT_MODES

AgencyReply = tuple[int, Any]  # HTTP status and JSON body, as the agency would answer
Handler = Callable[[Request], Awaitable[AgencyReply]]


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """UTF-8 JSON with Arabic left as it is (no \\u escapes), as the agencies send it."""
    content = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return Response(content, status, dict(headers or {}), media_type="application/json")


class RestAgencySimulator:
    """Base of the REST agency simulators; a subclass provides its routes (wrapped with `api`),
    how it authenticates, its error body and how a careless release breaks its contract."""

    agency = "agency"

    def __init__(
        self,
        seed: int = 0,
        *,
        credentials: Mapping[str, str],
        today: date | None = None,
        latency_s: float = 1.5,
        stall_s: float = 30.0,
    ) -> None:
        self.seed = seed
        self.today = today
        self.latency_s = latency_s
        self.stall_s = stall_s
        self._credentials = dict(credentials)
        self._fault = "none"
        # The X-Correlation-ID of recent calls, so tests can see the case travel to the agency.
        self.seen_correlation_ids: deque[str] = deque(maxlen=1000)
        self._app = Starlette(
            routes=[
                *self.routes(),
                Route("/health", self.open(self._health)),
                Route("/_sim/fault", self._fault_admin, methods=["GET", "POST"]),
            ]
        )

    @property
    def app(self) -> ASGIApp:
        return self._app

    @property
    def credentials(self) -> Mapping[str, str]:
        return dict(self._credentials)

    @property
    def fault(self) -> str:
        return self._fault

    def set_fault(self, mode: str) -> None:
        """Switch the fault mode for every following request (thread-safe: one assignment)."""
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}; one of {', '.join(FAULT_MODES)}")
        self._fault = mode

    # What a subclass says about its agency.

    def routes(self) -> list[Route]:
        raise NotImplementedError

    def authorised(self, request: Request) -> bool:
        raise NotImplementedError

    def error_body(self, code: str, message_en: str, message_ar: str) -> Any:
        raise NotImplementedError

    def break_contract(self, reply: AgencyReply) -> AgencyReply:
        """The reply as a careless release would send it: well-formed JSON, wrong shape."""
        raise NotImplementedError

    # The wrapping every route gets.

    def open(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """An endpoint that suffers the network's faults only (health, token issuing)."""

        async def endpoint(request: Request) -> Response:
            refused = await self._transport_fault(request)
            if refused is not None:
                return refused
            status, body = await handler(request)
            return json_response(status, body)

        return endpoint

    def api(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """A business endpoint: network faults, authentication, then the agency's own faults."""

        async def endpoint(request: Request) -> Response:
            refused = await self._transport_fault(request)
            if refused is not None:
                return refused
            if CORRELATION_HEADER.lower() in request.headers:
                self.seen_correlation_ids.append(request.headers[CORRELATION_HEADER.lower()])
            if not self.authorised(request):
                body = self.error_body(
                    "UNAUTHORIZED", "Invalid credentials", "بيانات اعتماد غير صالحة"
                )
                return json_response(401, body)
            if self._fault == "error":
                body = self.error_body(
                    "INTERNAL_ERROR", "Service temporarily unavailable", "الخدمة غير متاحة مؤقتاً"
                )
                return json_response(500, body)
            reply = await handler(request)
            if self._fault == "contract-break":
                reply = self.break_contract(reply)
            response = json_response(*reply)
            if self._fault == "malformed":
                whole = bytes(response.body)
                return Response(whole[: len(whole) // 2], reply[0], media_type="application/json")
            return response

        return endpoint

    async def _health(self, request: Request) -> AgencyReply:
        return 200, {"status": "UP"}

    async def _stall(self, request: Request) -> None:
        """Hold the request without answering until the caller gives up or `stall_s` passes."""

        async def until_disconnect() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until_disconnect(), self.stall_s)

    async def _transport_fault(self, request: Request) -> Response | None:
        """The faults that strike before the service reads the request (network, gateway)."""
        mode = self._fault
        if mode == "latency":
            await asyncio.sleep(self.latency_s)
        elif mode == "timeout":
            await self._stall(request)
            return Response(status_code=504)
        elif mode == "outage":
            return Response("Service Unavailable", status_code=503)
        elif mode == "rate-limit":
            body = self.error_body("RATE_LIMITED", "Too many requests", "طلبات كثيرة جداً")
            return json_response(429, body, {"Retry-After": "1"})
        return None

    async def _fault_admin(self, request: Request) -> Response:
        """GET: the current mode. POST {"mode": ...}: switch it (400 names the valid modes)."""
        if request.method == "POST":
            try:
                payload = await request.json()
                self.set_fault(str(payload["mode"]))
            except (ValueError, KeyError, TypeError):
                return JSONResponse(
                    {"error": 'send {"mode": MODE}', "modes": list(FAULT_MODES)}, status_code=400
                )
        return JSONResponse({"mode": self._fault})
