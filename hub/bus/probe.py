"""Short, bounded looks at the broker for /readyz and the queue-lag gauge: they must answer
within a couple of seconds whatever the broker does, and never create anything."""

from __future__ import annotations

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
