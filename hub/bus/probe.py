"""Short, bounded looks at the broker for /readyz and the queue-lag gauge: they must answer
within a couple of seconds whatever the broker does, and never create anything.

`BrokerProbe` keeps its last look for a few seconds (HUB_HEALTH_PROBE_CACHE_S): an orchestrator
polling /readyz and Prometheus scraping /metrics then cost one broker connection per period
between them, not one per request (a flood of either cannot flood the broker)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kombu.connection import Connection

from hub.bus.topology import INBOUND_QUEUE_NAME

PROBE_TIMEOUT_S = 2.0


def inbound_depth(broker_url: str, timeout_s: float = PROBE_TIMEOUT_S) -> int:
    """Messages waiting in hub.inbound, by a passive declare; raises if the broker is away."""
    conn = Connection(broker_url, connect_timeout=timeout_s, transport_options={})
    try:
        conn.ensure_connection(max_retries=1, timeout=timeout_s)
        ok = conn.default_channel.queue_declare(queue=INBOUND_QUEUE_NAME, passive=True)
        return int(ok.message_count)
    finally:
        conn.release()


def broker_reachable(broker_url: str, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """True when a connection to the broker opens within `timeout_s`."""
    conn = Connection(broker_url, connect_timeout=timeout_s, transport_options={})
    try:
        conn.ensure_connection(max_retries=1, timeout=timeout_s)
        return True
    except Exception:
        return False
    finally:
        conn.release()


@dataclass(frozen=True)
class BrokerLook:
    """One look: did a connection open, and how deep hub.inbound was (None: unknown)."""

    reachable: bool
    depth: int | None


def look(broker_url: str, timeout_s: float = PROBE_TIMEOUT_S) -> BrokerLook:
    """Reachability and queue depth over one connection."""
    conn = Connection(broker_url, connect_timeout=timeout_s, transport_options={})
    try:
        try:
            conn.ensure_connection(max_retries=1, timeout=timeout_s)
        except Exception:
            return BrokerLook(False, None)
        try:
            ok = conn.default_channel.queue_declare(queue=INBOUND_QUEUE_NAME, passive=True)
            return BrokerLook(True, int(ok.message_count))
        except Exception:
            return BrokerLook(True, None)
    finally:
        conn.release()


class BrokerProbe:
    """The broker as /readyz and /metrics see it, looked at most once per `ttl_s` (0: every
    time); concurrent askers wait for the one look in progress instead of opening their own."""

    def __init__(
        self,
        broker_url: str,
        ttl_s: float = 5.0,
        *,
        timeout_s: float = PROBE_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = broker_url
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last: tuple[float, BrokerLook] | None = None

    def look(self) -> BrokerLook:
        with self._lock:
            now = self._clock()
            if self._last is not None and now - self._last[0] < self._ttl_s:
                return self._last[1]
            seen = look(self._url, self._timeout_s)
            self._last = (self._clock(), seen)
            return seen

    def reachable(self) -> bool:
        return self.look().reachable

    def depth(self) -> int:
        """Messages waiting in hub.inbound; raises when unknown (the gauge then says -1)."""
        seen = self.look()
        if seen.depth is None:
            raise ConnectionError("broker unreachable or hub.inbound missing")
        return seen.depth
