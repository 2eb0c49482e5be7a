"""What every REST/JSON agency simulator shares: a Starlette app on loopback that answers from
the simulated world (`connectors.world`), with the fault modes of
`hub.agencies.connector.FAULT_MODES`
switchable at run time (`set_fault`, or POST /_sim/fault {"mode": ...}), a GET /health
resource, and a record of the X-Correlation-ID each call carried."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from connectors.faults import FaultSwitch

AgencyReply = tuple[int, Any]  # HTTP status and JSON body, as the agency would answer
Handler = Callable[[Request], Awaitable[AgencyReply]]
Held = TypeVar("Held")


@dataclass(frozen=True)
class Refusal:
    """An agency's error in both languages; each agency wraps it in its own body shape."""

    code: str
    message_en: str
    message_ar: str


UNAUTHORISED = Refusal("UNAUTHORIZED", "Invalid credentials", "بيانات اعتماد غير صالحة")
UNAVAILABLE = Refusal("INTERNAL_ERROR", "Service temporarily unavailable", "الخدمة غير متاحة مؤقتاً")
RATE_LIMITED = Refusal("RATE_LIMITED", "Too many requests", "طلبات كثيرة جداً")


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """UTF-8 JSON with Arabic left as it is (no \\u escapes), as the agencies send it."""
    content = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return Response(content, status, dict(headers or {}), media_type="application/json")


class RestAgencySimulator(FaultSwitch):
    """Base of the REST agency simulators; a subclass provides its routes (wrapped with `api`),
    how it authenticates, its error body and how a careless release breaks its contract."""

    agency = "agency"
    default_credentials: ClassVar[Mapping[str, str]] = {}
    """What a client must send when the caller names no credentials of its own."""

    def __init__(
        self,
        seed: int = 0,
        *,
        credentials: Mapping[str, str] | None = None,
        today: date | None = None,
        latency_s: float = 1.5,
        stall_s: float = 30.0,
    ) -> None:
        super().__init__(latency_s, stall_s)
        self.seed = seed
        self.today = today
        self._credentials = dict(credentials or self.default_credentials)
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

    # What the routes answer with.

    def refused(self, status: int, refusal: Refusal) -> AgencyReply:
        """`refusal` in this agency's error body."""
        return status, self.error_body(refusal.code, refusal.message_en, refusal.message_ar)

    def answer(
        self, held: Held | None, body: Callable[[Held], Any], missing: Refusal
    ) -> AgencyReply:
        """What a lookup resource sends: 200 with the body of what the agency holds, else 404
        with its own words for having nothing under that key."""
        if held is None:
            return self.refused(404, missing)
        return 200, body(held)

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
            self.note_correlation(request)
            if not self.authorised(request):
                return json_response(*self.refused(401, UNAUTHORISED))
            if self._fault == "error":
                return json_response(*self.refused(500, UNAVAILABLE))
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

    def unavailable(self) -> Response:
        return Response("Service Unavailable", status_code=503)

    def rate_limited(self) -> Response:
        status, body = self.refused(429, RATE_LIMITED)
        return json_response(status, body, {"Retry-After": "1"})
