"""Run a worker (consumer, outbox relay, redelivery) in a background thread of this process."""

from __future__ import annotations

import threading

from hub.bus.outbox import OutboxRelay
from hub.bus.publisher import Publisher
from hub.bus.redelivery import RedeliveryScheduler
from hub.bus.topology import declare_topology
from hub.bus.worker import Worker
from hub.runtime import HubRuntime


class WorkerThread:
    """A started worker; `stop()` finishes the delivery in hand, then returns."""

    def __init__(self, runtime: HubRuntime) -> None:
        self._stop = threading.Event()
        self._broker_url = runtime.broker_url
        self.publisher = Publisher(runtime.broker_url)
        self.worker = Worker(
            runtime.broker_url,
            runtime.pipeline(),
            OutboxRelay(runtime.sessions, self.publisher),
            RedeliveryScheduler(self.publisher, runtime.broker_url),
            loop=runtime.loop,
            prefetch=runtime.settings.prefetch,
            transport_options=runtime.settings.broker_transport_options,
            stop=self._stop,
        )
        self._thread = threading.Thread(target=self.worker.run, name="hub-worker", daemon=True)

    @staticmethod
    def declare_topology(runtime: HubRuntime) -> None:
        """Exchanges, queue and binding, before anything may be published to them."""
        with Publisher(runtime.broker_url) as publisher:
            declare_topology(publisher.producer.channel, runtime.broker_url)

    def start(self) -> WorkerThread:
        declare_topology(self.publisher.producer.channel, self._broker_url)
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
        self.worker.close()
        self.publisher.close()
