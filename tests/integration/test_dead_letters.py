"""Nothing the broker gives up on is dropped unseen: on RabbitMQ the work queue dead-letters
into `hub.dead-letter`, whose queue keeps the message with the broker's reason; the embedded
transport accepts the same topology."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kombu.connection import Connection
from kombu.messaging import Producer

from hub.bus.topology import (
    DEAD_LETTER_EXCHANGE_NAME,
    IN_EXCHANGE,
    dead_letter_queue,
    declare_topology,
    inbound_queue,
)

pytestmark = pytest.mark.timeout(60)


def poll(get: Callable[[], Any], timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = get()
        if found is not None:
            return found
        time.sleep(0.05)
    return None


@pytest.fixture
def rabbit(rabbitmq_url: str) -> Iterator[Connection]:
    with Connection(rabbitmq_url) as conn:
        yield conn


def test_the_work_queue_declares_its_dead_letter_exchange(rabbitmq_url: str) -> None:
    arguments = inbound_queue(rabbitmq_url).queue_arguments
    assert arguments == {
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE_NAME,
    }


def test_a_message_the_broker_dead_letters_lands_in_the_dead_letter_queue(
    rabbit: Connection, rabbitmq_url: str
) -> None:
    channel = rabbit.default_channel
    declare_topology(channel, rabbitmq_url)
    declare_topology(channel, rabbitmq_url)  # a second start declares the same, unchanged
    body = f"dead-letter-{uuid.uuid4()}".encode()
    Producer(channel).publish(
        body, exchange=IN_EXCHANGE, routing_key="permit.test", content_type="text/plain"
    )
    inbound = inbound_queue(rabbitmq_url)(channel)

    def mine() -> Any:
        message = inbound.get(no_ack=False)
        if message is None:
            return None
        if message.body != body:  # another test's, in this session's vhost: leave it
            message.requeue()
            return None
        return message

    delivered = poll(mine)
    assert delivered is not None
    delivered.reject(requeue=False)  # the broker gives up on it
    dead = poll(lambda: dead_letter_queue(rabbitmq_url)(channel).get(no_ack=True))
    assert dead is not None and dead.body == body
    headers = dead.headers or {}
    assert headers.get("x-first-death-reason") == "rejected"
    assert headers.get("x-first-death-queue") == inbound.name


def test_the_embedded_transport_accepts_the_dead_letter_topology(tmp_path: Path) -> None:
    url = f"embedded+sqlite:///{tmp_path / 'broker.sqlite3'}"
    with Connection(url) as conn:
        declare_topology(conn.default_channel, url)
        declare_topology(conn.default_channel, url)
        queue = dead_letter_queue(url)(conn.default_channel)
        assert queue.get(no_ack=True) is None  # declared, and empty
