"""Delayed redelivery, the second retry tier: the message goes back to the hub's queue after
the ladder's delay, through the broker, so no worker holds it in memory while it waits."""

from __future__ import annotations

from kombu.entity import Queue

from hub.bus.publisher import Publisher
from hub.bus.topology import INBOUND_QUEUE_NAME, is_amqp


class RedeliveryScheduler:
    """RabbitMQ: one TTL queue per delay that dead-letters into the work queue.
    Embedded transport: the message is stored with a not-before time (`x-delay`)."""

    def __init__(self, publisher: Publisher, broker_url: str) -> None:
        self._publisher = publisher
        self._amqp = is_amqp(broker_url)
        self._declared: set[str] = set()

    def _delay_queue(self, delay_ms: int) -> str:
        name = f"{INBOUND_QUEUE_NAME}.delay.{delay_ms}"
        if name not in self._declared:
            self._publisher.declare(
                Queue(
                    name,
                    durable=True,
                    queue_arguments={
                        "x-message-ttl": delay_ms,
                        "x-dead-letter-exchange": "",
                        "x-dead-letter-routing-key": INBOUND_QUEUE_NAME,
                    },
                )
            )
            self._declared.add(name)
        return name

    def schedule(self, body: bytes, delay_s: float) -> None:
        delay_ms = max(int(delay_s * 1000), 1)
        if self._amqp:
            self._publisher.publish(body, exchange="", routing_key=self._delay_queue(delay_ms))
        else:
            self._publisher.publish(
                body, exchange="", routing_key=INBOUND_QUEUE_NAME, headers={"x-delay": delay_ms}
            )
