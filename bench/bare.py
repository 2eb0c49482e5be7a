"""The bare pipeline's consumer: kombu on RabbitMQ, one message at a time, ack after the work.

python -m bench.bare BROKER_URL DATABASE_URL ROP_URL    (the benchmark starts it)
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

from kombu import Connection, Consumer, Queue

from bench.bare_work import BareParkingWork
from hub.bus.topology import IN_EXCHANGE

QUEUE = Queue(
    "bench.bare.inbound",
    exchange=IN_EXCHANGE,
    routing_key="#",
    durable=True,
    queue_arguments={"x-queue-type": "quorum"},  # as the hub's own work queue
)
PREFETCH = 8  # the hub's default HUB_PREFETCH


def run(broker_url: str, database_url: str, rop_url: str) -> None:
    work = BareParkingWork(broker_url, database_url, rop_url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def on_message(body: Any, message: Any) -> None:
        work.process(message.body)
        message.ack()

    with Connection(broker_url) as connection:
        channel = connection.channel()
        channel.basic_qos(0, PREFETCH, False)
        with Consumer(channel, [QUEUE], callbacks=[on_message], accept=None):
            print("bare pipeline consuming", flush=True)
            while not stop.is_set():
                try:
                    connection.drain_events(timeout=0.5)
                except TimeoutError:
                    continue
    work.close()


def declare(broker_url: str) -> None:
    """The bare pipeline's queue, bound before anything is published."""
    with Connection(broker_url) as connection:
        QUEUE(connection.default_channel).declare()


if __name__ == "__main__":
    run(*sys.argv[1:4])
