"""Run a worker (consumer, outbox relay, redelivery) in background threads of this process:
the consumer's, and the event loop's that handles its deliveries."""

from __future__ import annotations

import gc
import threading
from functools import partial

from hub.bus.outbox import OutboxRelay
from hub.bus.publisher import Publisher
from hub.bus.redelivery import RedeliveryScheduler
from hub.bus.topology import declare_topology
from hub.bus.worker import LoopThread, Worker
from hub.runtime.build import HubRuntime
from hub.runtime.payment_sweep import PaymentSweeper
from hub.runtime.reminders import ReminderSweeper
from hub.runtime.waiting import wait_for


class WorkerThread:
    """A started worker; `stop()` lets the deliveries in flight finish, then returns."""

    def __init__(self, runtime: HubRuntime) -> None:
        self._stop = threading.Event()
        self._runtime = runtime
        self._broker_url = runtime.broker_url
        self._startup_wait_s = runtime.settings.startup_wait_s
        settings = runtime.settings
        self.publisher = Publisher(
            runtime.broker_url,
            heartbeat_s=settings.broker_heartbeat_s,
            confirm_timeout_s=settings.broker_confirm_timeout_s,
        )
        relay = OutboxRelay(runtime.sessions, self.publisher)
        # SMS parking reminders, published as soon as they are queued (the relay marks them)
        self.reminders = ReminderSweeper(runtime, partial(relay.publish, mark_now=False))
        self.payments = PaymentSweeper(runtime, partial(relay.publish, mark_now=False))
        self.worker = Worker(
            runtime.broker_url,
            runtime.pipeline(after_commit=partial(relay.publish, mark_now=False)),
            relay,
            RedeliveryScheduler(self.publisher, runtime.broker_url),
            loop=runtime.loop,
            prefetch=runtime.settings.prefetch,
            transport_options=runtime.settings.broker_transport_options,
            stop=self._stop,
            heartbeat_s=settings.broker_heartbeat_s,
        )
        self._thread = threading.Thread(target=self.worker.run, name="hub-worker", daemon=True)
        # One store thread per delivery in flight, and two for the relay and redelivery.
        self._loop = LoopThread(runtime.loop, executor_threads=runtime.settings.prefetch + 2)

    @staticmethod
    def declare_topology(runtime: HubRuntime) -> None:
        """Exchanges, queue and binding, before anything may be published to them."""
        with Publisher(runtime.broker_url) as publisher:
            wait_for(
                "broker",
                lambda: declare_topology(publisher.producer.channel, runtime.broker_url),
                runtime.settings.startup_wait_s,
            )

    def start(self) -> WorkerThread:
        wait_for(
            "broker",
            lambda: declare_topology(self.publisher.producer.channel, self._broker_url),
            self._startup_wait_s,
        )
        # What start-up built (WSDLs, schemas, table metadata: about 150,000 objects) lives as
        # long as the process. Kept out of the collector's reach, a full collection takes under
        # a millisecond instead of pausing every delivery in flight for about 80 ms.
        gc.freeze()
        self._loop.start()
        self._thread.start()
        self._runtime.open_channels()  # the telcos' SMPP sessions, in the loop just started
        self.reminders.start()
        self.payments.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Let the deliveries in flight finish (up to `timeout_s`), then stop."""
        self._stop.set()
        self.reminders.stop(timeout_s)
        self.payments.stop(timeout_s)
        self._thread.join(timeout_s)
        self._loop.stop()
        self.worker.close()
        self.publisher.close()
