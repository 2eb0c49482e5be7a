"""Publishing on a connection of its own: waiting for a publisher confirm on the consuming
connection would re-enter the consumer mid-wait (py-amqp drains the next delivery).

A connection that failed in any way (dropped, silent past its heartbeat, a confirm that did
not come in time) is thrown away with its channel and producer, never reused: the next
publish opens a fresh one. A publish that could not be confirmed raises `PublishFailed`; the
caller's rows stay in the outbox and the relay's sweep sends them once the broker is back.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

import structlog
from kombu.connection import Connection
from kombu.entity import Exchange, Queue
from kombu.messaging import Producer
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_random_exponential

from hub.bus.topology import CONTENT_TYPE, IN_EXCHANGE, OUT_EXCHANGE, is_amqp
from hub.metrics import (
    count_reconnection,
    forget_link,
    link_down,
    link_up,
    published_confirmed,
)

log = structlog.get_logger("hub.publisher")

DEFAULT_HEARTBEAT_S = 30.0
DEFAULT_CONFIRM_TIMEOUT_S = 10.0
RETRY_BUDGET_S = 6.0  # one publish call tries this long; the outbox sweep tries again later
CONNECT_TIMEOUT_S = 4.0


class PublishFailed(ConnectionError):
    """The broker did not confirm in time (down, silent, blocked); nothing is known sent."""


class Publisher:
    """A confirmed, retrying producer for raw CloudEvent bytes; one publish at a time, so
    threads may share it (a kombu connection may not be used by two threads at once).

    On RabbitMQ a keeper thread reads the server's heartbeats and sends ours between
    publishes, so a silent connection is noticed within twice the heartbeat even when idle."""

    def __init__(
        self,
        broker_url: str,
        *,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
        confirm_timeout_s: float = DEFAULT_CONFIRM_TIMEOUT_S,
        retry_budget_s: float = RETRY_BUDGET_S,
        kind: str = "publisher",
    ) -> None:
        self._url = broker_url
        self._amqp = is_amqp(broker_url)
        self._heartbeat_s = heartbeat_s if self._amqp else 0.0
        self._confirm_timeout_s = confirm_timeout_s if self._amqp else None
        self._retry_budget_s = retry_budget_s
        self._kind = kind
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._lock = threading.RLock()
        self._closed = threading.Event()
        self._keeper: threading.Thread | None = None
        self._connects = 0
        self.blocked = False  # RabbitMQ's flow control (a memory or disk alarm) holds us

    # -- connection ---------------------------------------------------------------------
    def _open(self) -> Connection:
        options: dict[str, Any] = {}
        if self._amqp:
            options = {
                "confirm_publish": True,
                "on_blocked": self._on_blocked,
                "on_unblocked": self._on_unblocked,
            }
        connection = Connection(
            self._url,
            heartbeat=self._heartbeat_s or None,
            connect_timeout=CONNECT_TIMEOUT_S,
            transport_options=options,
        )
        connection.ensure_connection(max_retries=1, timeout=CONNECT_TIMEOUT_S)
        return connection

    @property
    def producer(self) -> Producer:
        """The live producer, opening a fresh connection when there is none."""
        with self._lock:
            if self._producer is None:
                connection = self._open()
                try:
                    producer = Producer(connection.default_channel)
                    for exchange in (IN_EXCHANGE, OUT_EXCHANGE):
                        exchange(producer.channel).declare()
                except Exception:
                    _forget(connection)
                    raise
                self._connection, self._producer = connection, producer
                self._connects += 1
                if self._connects > 1:
                    count_reconnection(self._kind)
                    log.info("broker.reconnected", connection=self._kind)
                link_up(self._kind, self)
                self._start_keeper()
            return self._producer

    def _discard(self, reason: BaseException) -> None:
        """Throw the connection away with everything made on it; the next use opens anew."""
        with self._lock:
            connection, self._connection, self._producer = self._connection, None, None
            self.blocked = False
        if connection is not None:
            link_down(self._kind, type(reason).__name__, self)
            log.warning("broker.connection_lost", connection=self._kind, error=_describe(reason))
            _forget(connection)

    @property
    def connected(self) -> bool:
        return self._producer is not None

    # -- publishing ---------------------------------------------------------------------
    def publish(
        self,
        body: bytes | str,
        *,
        exchange: Exchange | str,
        routing_key: str,
        headers: dict[str, Any] | None = None,
    ) -> None:
        """Send and (on RabbitMQ) wait for the broker's confirm, within `confirm_timeout_s`;
        retries on fresh connections for `retry_budget_s`, then raises `PublishFailed`."""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        with self._lock:
            self._retrying(lambda: self._publish(raw, exchange, routing_key, headers))
        published_confirmed()

    def _retrying(self, attempt: Any) -> None:
        if self._closed.is_set():
            raise PublishFailed("the publisher is closed")
        try:
            for trial in Retrying(
                retry=retry_if_exception_type(Exception),
                wait=wait_random_exponential(multiplier=0.2, max=2.0),
                stop=stop_after_delay(self._retry_budget_s),
                reraise=True,
            ):
                with trial:
                    try:
                        attempt()
                    except Exception as exc:
                        self._discard(exc)
                        raise
        except Exception as exc:
            raise PublishFailed(f"broker did not confirm: {_describe(exc)}") from exc

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
            timeout=self._confirm_timeout_s,
            confirm_timeout=self._confirm_timeout_s,
        )

    def declare(self, queue: Queue) -> None:
        """Declare a queue on this connection (between publishes, never during one)."""
        with self._lock:
            self._retrying(lambda: queue.bind(self.producer.channel).queue_declare())

    # -- heartbeats and flow control ----------------------------------------------------
    def _start_keeper(self) -> None:
        if self._heartbeat_s and (self._keeper is None or not self._keeper.is_alive()):
            self._keeper = threading.Thread(
                target=self._keep, name=f"hub-{self._kind}-heartbeat", daemon=True
            )
            self._keeper.start()

    def _keep(self) -> None:
        """Between publishes: read what the broker sent (its heartbeats), send ours, and
        reconnect (with backoff) a connection found dead, so readiness tells the truth."""
        every = max(self._heartbeat_s / 4, 0.25)
        failures = 0
        while not self._closed.wait(every if not failures else min(2.0**failures, 30.0)):
            if not self._lock.acquire(timeout=every):
                continue  # a publish is running: that is traffic enough
            try:
                if self._connection is None:
                    _ = self.producer
                else:
                    try:
                        self._connection.drain_events(timeout=0.01)
                    except TimeoutError:
                        pass
                    self._connection.heartbeat_check(rate=2)
                failures = 0
            except Exception as exc:
                failures = min(failures + 1, 5)
                if self._connection is not None:
                    self._discard(exc)
            finally:
                self._lock.release()

    def _on_blocked(self, reason: str) -> None:
        self.blocked = True
        link_down(self._kind, "blocked", self)
        log.warning("broker.blocked", connection=self._kind, reason=reason)

    def _on_unblocked(self) -> None:
        self.blocked = False
        link_up(self._kind, self)
        log.info("broker.unblocked", connection=self._kind)

    def close(self) -> None:
        self._closed.set()
        forget_link(self._kind, self)
        with self._lock:
            connection, self._connection, self._producer = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # already gone; nothing to release
                _forget(connection)
        if self._keeper is not None and self._keeper is not threading.current_thread():
            self._keeper.join(5)

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _forget(connection: Connection) -> None:
    """Drop a connection without talking to the broker (it may be silent: no close
    handshake to wait on)."""
    try:
        connection.collect()
    except Exception:  # nothing more can be freed
        pass


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:200]
