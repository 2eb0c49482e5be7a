"""The exchanges and queues the hub uses, declared the same way on every transport."""

from __future__ import annotations

from typing import Any

from kombu.entity import Exchange, Queue

IN_EXCHANGE_NAME = "municipal.in"
OUT_EXCHANGE_NAME = "municipal.out"
INBOUND_QUEUE_NAME = "hub.inbound"
CONTENT_TYPE = "application/cloudevents+json"

IN_EXCHANGE = Exchange(IN_EXCHANGE_NAME, type="topic", durable=True)
OUT_EXCHANGE = Exchange(OUT_EXCHANGE_NAME, type="topic", durable=True)


def is_amqp(url: str) -> bool:
    return url.split("://", 1)[0] in {"amqp", "amqps", "pyamqp", "librabbitmq"}


def inbound_queue(broker_url: str) -> Queue:
    """The hub's work queue: every type on `municipal.in`; a quorum queue on RabbitMQ."""
    arguments = {"x-queue-type": "quorum"} if is_amqp(broker_url) else None
    return Queue(
        INBOUND_QUEUE_NAME,
        exchange=IN_EXCHANGE,
        routing_key="#",
        durable=True,
        queue_arguments=arguments,
    )


def declare_topology(channel: Any, broker_url: str) -> None:
    """Exchanges, the work queue and its binding, declared before the hub says it is serving:
    a message published to `municipal.in` before its queue is bound would be dropped."""
    for exchange in (IN_EXCHANGE, OUT_EXCHANGE):
        exchange(channel).declare()
    inbound_queue(broker_url)(channel).declare()


def results_queue(name: str, broker_url: str, routing_key: str = "#") -> Queue:
    """A queue on `municipal.out`, as a municipal backend (or a test, or the demo) binds one."""
    arguments = {"x-queue-type": "quorum"} if is_amqp(broker_url) else None
    return Queue(
        name,
        exchange=OUT_EXCHANGE,
        routing_key=routing_key,
        durable=True,
        queue_arguments=arguments,
    )
