"""The consuming side: kombu's ConsumerMixin (reconnects on broker loss) feeding each delivery
to the pipeline, then publishing its results and acknowledging only after the commit."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import structlog
from kombu.connection import Connection
from kombu.message import Message as KombuMessage
from kombu.messaging import Consumer
from kombu.mixins import ConsumerMixin

from hub.bus.outbox import OutboxRelay
from hub.bus.redelivery import RedeliveryScheduler
from hub.bus.topology import inbound_queue
from hub.pipeline import Outcome, Pipeline
from hub.replay.marker import ReplayMarker

log = structlog.get_logger("hub.worker")
SWEEP_EVERY_S = 5.0
CRASH_BACKOFF_S = 1.0


class Worker(ConsumerMixin):
    """One consumer of `hub.inbound`; run several (threads, processes, machines) to compete."""

    def __init__(
        self,
        broker_url: str,
        pipeline: Pipeline,
        relay: OutboxRelay,
        redelivery: RedeliveryScheduler,
        *,
        loop: asyncio.AbstractEventLoop,
        prefetch: int = 8,
        stop: threading.Event | None = None,
        transport_options: dict[str, Any] | None = None,
    ) -> None:
        self.connection = Connection(broker_url, transport_options=transport_options or {})
        self._broker_url = broker_url
        self._pipeline = pipeline
        self._relay = relay
        self._redelivery = redelivery
        self._prefetch = prefetch
        self._stop = stop or threading.Event()
        self._loop = loop  # the runtime's: agency clients live on it
        self._last_sweep = 0.0
        self.handled = 0

    @property
    def should_stop(self) -> bool:  # ConsumerMixin polls this between deliveries
        return self._stop.is_set()

    @should_stop.setter
    def should_stop(self, value: bool) -> None:
        if value:
            self._stop.set()

    def get_consumers(self, consumer_cls: type[Consumer], channel: Any) -> list[Consumer]:
        return [
            consumer_cls(  # type: ignore[call-arg]  # ConsumerMixin binds the channel
                queues=[inbound_queue(self._broker_url)],
                on_message=self._on_message,
                prefetch_count=self._prefetch,
            )
        ]

    def on_iteration(self) -> None:
        if time.monotonic() - self._last_sweep >= SWEEP_EVERY_S:
            self._last_sweep = time.monotonic()
            try:
                self._relay.sweep()
            except Exception:  # the store or broker may be down; the next sweep tries again
                log.exception("outbox.sweep_failed")

    def _on_message(self, message: KombuMessage) -> None:
        body = message.body if isinstance(message.body, bytes) else message.body.encode("utf-8")
        try:
            marker = ReplayMarker.from_headers(message.headers)  # set by `hub replay run`
            handled = self._loop.run_until_complete(self._pipeline.handle(body, marker))
        except Exception:
            # The store is unreachable or the hub has a bug: keep the message, slow down.
            log.exception("delivery.crashed")
            time.sleep(CRASH_BACKOFF_S)
            message.requeue()
            return
        if handled.outcome is Outcome.RETRY and handled.retry_in_s is not None:
            self._redelivery.schedule(body, handled.retry_in_s)
        try:
            self._relay.publish(handled.emitted)
        except Exception:  # committed already: the sweep publishes it later
            log.exception("outbox.publish_failed", message_id=handled.message_id)
        message.ack()
        self.handled += 1

    def close(self) -> None:
        self.connection.release()
