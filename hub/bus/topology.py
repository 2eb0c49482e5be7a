"""The exchanges and queues the hub uses, declared the same way on every transport."""

from __future__ import annotations

from typing import Any

from kombu.entity import Exchange, Queue

IN_EXCHANGE_NAME = "municipal.in"
OUT_EXCHANGE_NAME = "municipal.out"
INBOUND_QUEUE_NAME = "hub.inbound"
DEAD_LETTER_EXCHANGE_NAME = "hub.dead-letter"
DEAD_LETTER_QUEUE_NAME = "hub.dead-letters"
CONTENT_TYPE = "application/cloudevents+json"

IN_EXCHANGE = Exchange(IN_EXCHANGE_NAME, type="topic", durable=True)
OUT_EXCHANGE = Exchange(OUT_EXCHANGE_NAME, type="topic", durable=True)
# Whatever the broker itself gives up on (a message rejected without requeue, a delivery
# limit, a length limit) lands here, with the broker's x-death header saying why, instead of
# being dropped unseen. Fanout: a dead letter keeps its routing key, whatever it was.
DEAD_LETTER_EXCHANGE = Exchange(DEAD_LETTER_EXCHANGE_NAME, type="fanout", durable=True)


def is_amqp(url: str) -> bool:
    return url.split("://", 1)[0] in {"amqp", "amqps", "pyamqp", "librabbitmq"}


def inbound_queue(broker_url: str) -> Queue:
    """The hub's work queue: every type on `municipal.in`; a quorum queue on RabbitMQ, its
    dead letters to `hub.dead-letter`. No `x-delivery-limit` of our own: the hub acknowledges
    what it gives up on (failed, dead) and requeues only through outages of its store, which
    must not use up a message's deliveries; where the broker applies a limit anyway
    (RabbitMQ 4's default of 20), what passes it is dead-lettered, not dropped."""
    arguments = (
        {"x-queue-type": "quorum", "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE_NAME}
        if is_amqp(broker_url)
        else None
    )
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
    for exchange in (IN_EXCHANGE, OUT_EXCHANGE, DEAD_LETTER_EXCHANGE):
        exchange(channel).declare()
    dead_letter_queue(broker_url)(channel).declare()
    inbound_queue(broker_url)(channel).declare()


def dead_letter_queue(broker_url: str) -> Queue:
    """Where the broker's dead letters wait for an operator (nothing consumes it)."""
    arguments = {"x-queue-type": "quorum"} if is_amqp(broker_url) else None
    return Queue(
        DEAD_LETTER_QUEUE_NAME,
        exchange=DEAD_LETTER_EXCHANGE,
        routing_key="#",
        durable=True,
        queue_arguments=arguments,
    )


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
