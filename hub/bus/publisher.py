"""Publishing on a connection of its own: waiting for a publisher confirm on the consuming
connection would re-enter the consumer mid-wait (py-amqp drains the next delivery)."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from kombu.connection import Connection
from kombu.entity import Exchange, Queue
from kombu.messaging import Producer

from hub.bus.topology import CONTENT_TYPE, IN_EXCHANGE, OUT_EXCHANGE, is_amqp

RETRY_POLICY = {"max_retries": 5, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 3}


class Publisher:
    """A confirmed, retrying producer for raw CloudEvent bytes; one publish at a time, so
    threads may share it (a kombu connection may not be used by two threads at once)."""

    def __init__(self, broker_url: str) -> None:
        options: dict[str, Any] = {"confirm_publish": True} if is_amqp(broker_url) else {}
        self._connection = Connection(broker_url, transport_options=options)
        self._producer: Producer | None = None
        self._lock = threading.RLock()

    @property
    def producer(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(self._connection.default_channel)
            for exchange in (IN_EXCHANGE, OUT_EXCHANGE):
                exchange(self._producer.channel).declare()
        return self._producer

    def publish(
        self,
        body: bytes | str,
        *,
        exchange: Exchange | str,
        routing_key: str,
        headers: dict[str, Any] | None = None,
    ) -> None:
        """Send and (on RabbitMQ) wait for the broker's confirm; retries a lost connection."""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        with self._lock:
            self._publish(raw, exchange, routing_key, headers)

    def _publish(
        self,
        raw: bytes,
        exchange: Exchange | str,
        routing_key: str,
        headers: dict[str, Any] | None,
    ) -> None:
        self.producer.publish(
            raw,
            exchange=exchange,
            routing_key=routing_key,
            content_type=CONTENT_TYPE,
            content_encoding="utf-8",
            headers=headers or {},
            delivery_mode=2,
            retry=True,
            retry_policy=RETRY_POLICY,
        )

    def declare(self, queue: Queue) -> None:
        """Declare a queue on this connection (between publishes, never during one)."""
        with self._lock:
            queue.bind(self.producer.channel).queue_declare()

    def close(self) -> None:
        self._producer = None
        self._connection.release()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
