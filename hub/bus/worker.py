"""The consuming side: kombu's ConsumerMixin (reconnects on broker loss) hands each delivery to
the pipeline on the runtime's event loop, up to `prefetch` at once, and acknowledges each only
after its outcome is committed and its results published (or, failing that, left to the
outbox sweep).

Threads: kombu's channel is used by this consumer thread alone (deliveries, acks, requeues);
the pipeline runs on the loop's thread (`LoopThread`); results and redeliveries are published
on a connection of their own, so waiting for a confirm never re-enters the consumer.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog
from kombu.connection import Connection
from kombu.exceptions import OperationalError as KombuOperationalError
from kombu.message import Message as KombuMessage
from kombu.messaging import Consumer
from kombu.mixins import ConsumerMixin
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_random_exponential

from hub.bus.outbox import OutboxRelay
from hub.bus.publisher import DEFAULT_HEARTBEAT_S
from hub.bus.redelivery import RedeliveryScheduler
from hub.bus.topology import inbound_queue, is_amqp
from hub.contracts.envelope import structured_body
from hub.messages.marker import ReplayMarker
from hub.messages.outcome import Handled, Outcome
from hub.metrics import count_reconnection, forget_link, link_down, link_up
from hub.pipeline import Pipeline

log = structlog.get_logger("hub.worker")
# A crashed delivery (the store down: unexpected errors in a flow are the pipeline's to count)
# is held this long, unacknowledged, before it goes back; the consumer thread never sleeps.
CRASH_BACKOFF_S = 1.0
# How long the consumer waits for the broker before it looks at finished deliveries again:
# short while deliveries are in flight (their acks wait on it), long when idle.
BUSY_WAIT_S = 0.005
IDLE_WAIT_S = 1.0
DRAIN_ON_STOP_S = 8.0
CONNECT_TIMEOUT_S = 4.0
RECONNECT_MAX_WAIT_S = 15.0  # backoff between reconnection attempts: jittered, capped, forever


@dataclass
class _Finished:
    message: KombuMessage
    handled: Handled | None  # None: the delivery crashed (store down, or a bug)


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
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
    ) -> None:
        self._heartbeat_s = heartbeat_s if is_amqp(broker_url) else 0.0
        self.connection = Connection(
            broker_url,
            heartbeat=self._heartbeat_s or None,
            connect_timeout=CONNECT_TIMEOUT_S,
            transport_options=transport_options or {},
        )
        self._broker_url = broker_url
        self._pipeline = pipeline
        self._relay = relay
        self._redelivery = redelivery
        self._prefetch = prefetch
        self._stop = stop or threading.Event()
        self._loop = loop  # the runtime's, running in its own thread: agency clients live on it
        self._in_flight = 0
        self._finished: queue.SimpleQueue[_Finished] = queue.SimpleQueue()
        self._requeue_at: list[tuple[float, KombuMessage]] = []  # crashed, in due order
        self._last_beat = 0.0
        self._connects = 0
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

    def run(self, _tokens: int = 1, **kwargs: Any) -> None:
        """Consume until stopped, reconnecting for ever after a lost connection (one log line
        each); the outbox relay marks and sweeps in its own thread meanwhile."""
        errors = (
            *self.connection.connection_errors,
            *self.connection.channel_errors,
            KombuOperationalError,
        )
        self._relay.start()
        try:
            while not self.should_stop:
                try:
                    for _ in self.consume(limit=None, **kwargs):
                        pass
                except errors as exc:
                    link_down("consumer", type(exc).__name__, self)
                    log.warning("broker.connection_lost", connection="consumer", error=_say(exc))
        finally:
            self._relay.stop()
            forget_link("consumer", self)

    @contextmanager
    def establish_connection(self) -> Iterator[Connection]:
        """A fresh connection, tried with capped, jittered backoff until it opens or the
        worker stops; one warning per failed attempt, no traceback. A connection that failed
        is dropped without a close handshake: on a silent one that would wait for ever."""
        conn = self.create_connection()
        try:
            retrying = Retrying(
                retry=retry_if_exception_type(Exception),
                wait=wait_random_exponential(multiplier=0.5, max=RECONNECT_MAX_WAIT_S),
                stop=lambda _state: self.should_stop,
                sleep=self._pause,
                before_sleep=self._log_connect_retry,
                reraise=True,
            )
            retrying(conn.ensure_connection, max_retries=0, timeout=CONNECT_TIMEOUT_S)
            yield conn
        except BaseException:
            conn.collect()
            raise
        conn.release()

    def _log_connect_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        wait_s = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning(
            "broker.unreachable",
            connection="consumer",
            attempt=state.attempt_number,
            retry_in_s=round(wait_s, 1),
            error=_say(exc) if exc is not None else "",
        )
        link_down("consumer", type(exc).__name__ if exc is not None else "unreachable", self)

    def _pause(self, seconds: float) -> None:
        self._stop.wait(seconds)  # a stop ends the wait at once

    def on_connection_revived(self) -> None:
        self._connects += 1
        if self._connects > 1:
            count_reconnection("consumer")
            log.info("broker.reconnected", connection="consumer")
        link_up("consumer", self)

    def _beat(self, conn: Connection) -> None:
        """Send our heartbeat and check the broker's, whatever the loop is doing; a silent
        connection raises here within twice the heartbeat."""
        now = time.monotonic()
        if self._heartbeat_s and now - self._last_beat >= self._heartbeat_s / 4:
            self._last_beat = now
            conn.heartbeat_check(rate=2)

    def consume(  # type: ignore[override]
        self, limit: int | None = None, timeout: float | None = None, **kwargs: Any
    ) -> Iterator[None]:
        """ConsumerMixin's loop, waiting briefly while deliveries are in flight so each is
        acknowledged soon after it finishes; on stop, lets those in flight finish first."""
        with self.consumer_context(**kwargs) as (conn, _channel, consumers):
            while not self.should_stop:
                self.on_iteration()
                self._beat(conn)
                try:
                    conn.drain_events(timeout=BUSY_WAIT_S if self._in_flight else IDLE_WAIT_S)
                except TimeoutError:
                    pass
                except OSError:
                    if not self.should_stop:
                        raise
                else:
                    yield
            for consumer in consumers:
                consumer.cancel()  # no new deliveries; the unstarted ones go back to the queue
            self._settle_in_flight(DRAIN_ON_STOP_S)

    def on_iteration(self) -> None:
        self._settle_finished()

    def _on_message(self, message: KombuMessage) -> None:
        body = message.body if isinstance(message.body, bytes) else message.body.encode("utf-8")
        try:
            marker = ReplayMarker.from_headers(message.headers)  # set by `hub replay run`
        except Exception:
            log.exception("delivery.bad_replay_marker")
            marker = None
        redelivered = bool(message.delivery_info.get("redelivered"))
        # A binary-mode CloudEvent's attributes are application properties: the pipeline
        # decodes them; a retry is redelivered whole, in structured mode.
        properties = dict(message.headers or {}), message.content_type
        self._in_flight += 1
        future = asyncio.run_coroutine_threadsafe(
            self._process(body, marker, redelivered, properties), self._loop
        )
        future.add_done_callback(lambda done: self._finished.put(_outcome(message, done)))

    async def _process(
        self,
        body: bytes,
        marker: ReplayMarker | None,
        redelivered: bool,
        properties: tuple[dict[str, Any], str | None] = ({}, None),
    ) -> Handled:
        """Handle one delivery, then do what must happen before it is acknowledged."""
        headers, content_type = properties
        handled = await self._pipeline.handle(
            body, marker, redelivered=redelivered, headers=headers, content_type=content_type
        )
        if handled.outcome is Outcome.RETRY and handled.retry_in_s is not None:
            again = structured_body(body, headers, content_type)
            await asyncio.to_thread(self._redelivery.schedule, again, handled.retry_in_s)
        if handled.emitted and not handled.published:  # a rejection's, or a failed publish
            try:
                await asyncio.to_thread(self._relay.publish, handled.emitted, mark_now=False)
            except Exception:  # committed already: the sweep publishes it later
                log.exception("outbox.publish_failed", message_id=handled.message_id)
        return handled

    def _settle_finished(self) -> None:
        """Acknowledge (or give back) the deliveries that finished; consumer thread only."""
        self._requeue_due()
        while True:
            try:
                finished = self._finished.get_nowait()
            except queue.Empty:
                return
            self._in_flight -= 1
            try:
                if finished.handled is None:
                    # Held, not slept on: acks of everything else go on meanwhile.
                    deadline = time.monotonic() + CRASH_BACKOFF_S
                    self._requeue_at.append((deadline, finished.message))
                    continue
                finished.message.ack()
            except Exception:
                # The channel it came on is gone (broker restart): the broker gives the
                # message again, and the inbox recognises it.
                log.warning("delivery.ack_lost", exc_info=True)
                continue
            self.handled += 1

    def _requeue_due(self, *, all_now: bool = False) -> None:
        """Give back the crashed deliveries whose pause is over (flagged redelivered)."""
        now = time.monotonic()
        while self._requeue_at and (all_now or self._requeue_at[0][0] <= now):
            _, message = self._requeue_at.pop(0)
            try:
                message.requeue()
            except Exception:  # its channel is gone: the broker gives it again anyway
                log.warning("delivery.requeue_lost", exc_info=True)

    def _settle_in_flight(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self._in_flight and time.monotonic() < deadline:
            try:
                finished = self._finished.get(timeout=0.05)
            except queue.Empty:
                continue
            self._finished.put(finished)
            self._settle_finished()
        self._requeue_due(all_now=True)
        if self._in_flight:
            log.warning("worker.stopped_with_deliveries_in_flight", count=self._in_flight)
        self._relay.mark_sent_safely()

    def close(self) -> None:
        self.connection.release()


def _say(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


def _outcome(message: KombuMessage, done: Future[Handled]) -> _Finished:
    if done.cancelled():
        return _Finished(message, None)
    exc = done.exception()
    if exc is not None:
        log.error("delivery.crashed", exc_info=exc)
        return _Finished(message, None)
    return _Finished(message, done.result())


class LoopThread:
    """Runs an asyncio loop in a thread of its own, so deliveries can be handed to it from
    the consumer thread and overlap; store transactions go to the loop's executor."""

    def __init__(self, loop: asyncio.AbstractEventLoop, executor_threads: int) -> None:
        self._loop = loop
        self._loop.set_default_executor(
            ThreadPoolExecutor(max_workers=executor_threads, thread_name_prefix="hub-store")
        )
        self._thread = threading.Thread(target=self._run, name="hub-loop", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def start(self) -> LoopThread:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the loop (it stays open: the runtime closes its clients on it afterwards)."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout_s)
