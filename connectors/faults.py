"""The fault modes every agency simulator can be switched to at run time, whatever protocol it
speaks: the REST and SOAP simulator bases both build on this."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.plugin import CORRELATION_HEADER, FAULT_MODES


class FaultSwitch:
    """Current fault mode, the faults that strike before the service reads a request, the
    /_sim/fault admin endpoint, and a record of the X-Correlation-ID of recent calls."""

    def __init__(self, latency_s: float, stall_s: float) -> None:
        self.latency_s = latency_s
        self.stall_s = stall_s
        self._fault = "none"
        # The X-Correlation-ID of recent calls, so tests can see the case travel to the agency.
        self.seen_correlation_ids: deque[str] = deque(maxlen=1000)

    @property
    def fault(self) -> str:
        return self._fault

    def set_fault(self, mode: str) -> None:
        """Switch the fault mode for every following request (thread-safe: one assignment)."""
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}; one of {', '.join(FAULT_MODES)}")
        self._fault = mode

    def note_correlation(self, request: Request) -> None:
        if CORRELATION_HEADER.lower() in request.headers:
            self.seen_correlation_ids.append(request.headers[CORRELATION_HEADER.lower()])

    def unavailable(self) -> Response:
        """What the agency's gateway answers during an outage."""
        return Response(status_code=503)

    def rate_limited(self) -> Response:
        """What the agency's gateway answers when the caller goes too fast."""
        return Response("rate limit exceeded", status_code=429, headers={"Retry-After": "1"})

    async def _stall(self, request: Request) -> None:
        """Hold the request without answering, until the caller gives up or `stall_s` passes;
        waiting on the disconnect lets the server stop promptly after the client's timeout."""

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
            return self.unavailable()
        elif mode == "rate-limit":
            return self.rate_limited()
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
