"""The partner server's defences against slow and greedy clients, as uvicorn options.

uvicorn has an idle keep-alive timeout but no deadline for reading a request's head: a client
that opens connections and sends a header line every few seconds (slowloris) holds them
forever. `head_timeout_protocol` is uvicorn's h11 protocol with that deadline: the request
line and headers must arrive within `seconds` of the connection opening, or of the first
byte of the next request on a kept-alive connection; else the connection is closed. Request
bodies are bounded by the app's own request timeout and body limit (hub.api.limits).

Behind a reverse proxy (the production set-up, docs/SECURITY.md), the proxy's own client
timeouts and connection limits come first; these hold when the hub is reached directly.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from hub.config import Settings
from hub.serving import PeerCertificateH11


class _HeadTimeoutH11(PeerCertificateH11):
    head_timeout_s = 10.0

    _head_timer: asyncio.TimerHandle | None = None
    _head_cycle: object = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()  # a new request begins on a kept-alive connection
        super().data_received(data)
        if self._head_timer is not None and self.cycle is not self._head_cycle:
            self._disarm()  # its head is complete

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._head_cycle = self.cycle
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_expired)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_expired(self) -> None:
        self._head_timer = None
        if self.cycle is self._head_cycle and not self.transport.is_closing():
            self.transport.close()


def head_timeout_protocol(seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol closing connections whose request head is not in by `seconds`."""
    return type("HeadTimeoutH11", (_HeadTimeoutH11,), {"head_timeout_s": seconds})


def partner_server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.Config options for the partner server (HUB_HTTP_* settings)."""
    return {
        "http": head_timeout_protocol(settings.http_header_timeout_s),
        "timeout_keep_alive": max(1, round(settings.http_keep_alive_timeout_s)),
        "limit_concurrency": settings.http_max_connections,
        "h11_max_incomplete_event_size": settings.http_max_header_bytes,
    }
