"""The embedded default transport: a kombu virtual transport on one SQLite file, so the hub
needs no broker, works across processes on one machine and keeps every accepted message
across a `kill -9` of any of them.

URL: ``embedded+sqlite:////abs/path/broker.sqlite3`` (four slashes: ``sqlite:///`` followed by
an absolute path). kombu splits the ``embedded+`` prefix off and hands the rest
(``sqlite:////abs/...``) to this transport as ``hostname``. The parent folder and the schema are
created on first use. ``import hub.bus`` registers the ``embedded`` alias with kombu.

Transport options:
    visibility_timeout  seconds a taken message stays leased before another consumer may take
                        it (default 60); a consumer killed without acking loses its lease then.
    polling_interval    longest wait, in seconds, between two looks at an idle database
                        (default 0.02): bounds the delivery delay after a long quiet spell.
    min_polling_interval  shortest such wait (default 0.001), used right after activity; the
                        wait grows with the quiet time (2% of it) up to polling_interval.
    busy_timeout        seconds a writer waits for another process's write lock (default 10).
    sqlite_synchronous  NORMAL (default: survives any process crash) or FULL (also power loss).

Message headers:
    x-delay             (set by the publisher) milliseconds before the message becomes
                        visible, RabbitMQ's delayed-message convention.
    x-delivery-count    (set on delivery) how many earlier deliveries of this message were not
                        acked, as RabbitMQ quorum queues do: absent on the first delivery.
``delivery_info["delivery_count"]`` is this delivery's number (1 on the first delivery).

Waiting: `drain_events` only claims (a write transaction) when something may have changed: the
database's change token (`PRAGMA data_version`, moved by any process's commit) differs from the
one seen when every consumed queue was last found empty, or a delayed row or a lapsed lease has
come due. Otherwise it sleeps on the process's doorbell (rung by commits made in this process)
for the adaptive interval above, never past the caller's timeout.

Semantics as in SQS: a get leases the row, `ack` deletes it, `reject(requeue=True)` (and
channel close or recover) makes it visible at once, `reject()` deletes it. Exchanges, queues and
bindings live in the database, as the redis transport keeps them in Redis.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import virtual
from kombu.transport.virtual.base import NOT_EQUIVALENT_FMT, NotEquivalentError
from kombu.utils.json import dumps, loads

from hub.bus.embedded_store import MessageStore, StoreError, doorbell

URL_FORM = "embedded+sqlite:////absolute/path/broker.sqlite3"
DEFAULT_VISIBILITY_TIMEOUT_S = 60.0
DEFAULT_POLLING_INTERVAL_S = 0.02
DEFAULT_MIN_POLLING_INTERVAL_S = 0.001
BACKOFF_SHARE = 0.02  # the wait after a quiet spell of t seconds: t * 2%, within the bounds
DEFAULT_BUSY_TIMEOUT_S = 10.0
_SQLITE_PREFIX = "sqlite:///"


def database_path(hostname: str | None) -> Path:
    """The database file named by the URL; anything but an absolute SQLite path is an error,
    since a relative one would silently split the broker between working directories."""
    if not hostname or not hostname.startswith(_SQLITE_PREFIX):
        raise StoreError(f"embedded transport URL must look like {URL_FORM}, got {hostname!r}")
    path = hostname[len(_SQLITE_PREFIX) :]
    if not path.startswith("/") or path.rstrip("/") == "" or "?" in path:
        raise StoreError(
            f"embedded transport needs an absolute file path ({URL_FORM}), got {path!r}"
        )
    return Path(path)


def _delay_s(headers: dict[str, Any] | None) -> float:
    """The `x-delay` header in seconds; a missing or malformed one means no delay."""
    try:
        return max(float((headers or {}).get("x-delay") or 0) / 1000.0, 0.0)
    except (TypeError, ValueError):
        return 0.0


def _seconds(options: dict[str, Any], key: str, default: float) -> float:
    """A positive number of seconds from the transport options; anything else is an error
    (zero would spin a core, a negative one would be taken for zero by the wait)."""
    value = options.get(key)
    if value is None:
        return default
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise StoreError(f"{key} must be a number of seconds, got {value!r}") from None
    if not seconds > 0:
        raise StoreError(f"{key} must be above 0 seconds, got {value!r}")
    return seconds


class Channel(virtual.Channel):
    """A virtual channel whose queues, leases and bindings are rows in the shared database."""

    def __init__(self, connection: Transport, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        options = connection.options
        self.visibility_timeout = float(
            options.get("visibility_timeout", DEFAULT_VISIBILITY_TIMEOUT_S)
        )
        self._noack_queues: set[str] = set()
        # Change token and due time seen when every consumed queue was last found empty.
        self._idle_token: tuple[int, int] | None = None
        self._due_at: float | None = None
        self.store = MessageStore(
            connection.database_path,
            busy_timeout_s=float(options.get("busy_timeout", DEFAULT_BUSY_TIMEOUT_S)),
            synchronous=str(options.get("sqlite_synchronous", "NORMAL")),
        )

    # Exchanges and bindings: in the database, so another process routes with them ----------

    def exchange_declare(
        self,
        exchange: str | None = None,
        type: str = "direct",
        durable: bool = False,
        auto_delete: bool = False,
        arguments: dict[str, Any] | None = None,
        nowait: bool = False,
        passive: bool = False,
    ) -> None:
        type = type or "direct"
        name = exchange or f"amq.{type}"
        if passive:
            if self.store.exchange_type(name) is None:
                raise ChannelError(
                    f"NOT_FOUND - no exchange {name!r}", (50, 10), "Channel.exchange_declare", "404"
                )
            return
        stored = self.store.declare_exchange(name, type, durable, auto_delete, arguments or {})
        if (stored.type, stored.durable, stored.auto_delete, stored.arguments) != (
            type,
            durable,
            auto_delete,
            arguments or {},
        ):
            raise NotEquivalentError(NOT_EQUIVALENT_FMT.format(name, "/"))

    def exchange_delete(self, exchange: str, if_unused: bool = False, nowait: bool = False) -> None:
        self.store.delete_exchange(exchange)

    def typeof(self, exchange: str, default: str = "direct") -> Any:
        return self.exchange_types[self.store.exchange_type(exchange) or default]

    def get_table(self, exchange: str) -> list[tuple[str, str | None, str]]:
        return self.store.table(exchange)

    def queue_bind(
        self,
        queue: str,
        exchange: str | None = None,
        routing_key: str = "",
        arguments: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        exchange = exchange or "amq.direct"
        if self.store.exchange_type(exchange) is None:
            raise ChannelError(
                f"NOT_FOUND - no exchange {exchange!r}", (50, 10), "Channel.queue_bind", "404"
            )
        bind = self.typeof(exchange).prepare_bind
        key, pattern, _ = bind(queue, exchange, routing_key, arguments)
        self.store.bind(exchange, key, pattern, queue)

    def queue_unbind(
        self,
        queue: str,
        exchange: str | None = None,
        routing_key: str = "",
        arguments: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.store.unbind(exchange or "amq.direct", routing_key, queue)

    def list_bindings(self) -> list[tuple[str, str, str]]:
        return self.store.bindings()

    def queue_delete(
        self, queue: str, if_unused: bool = False, if_empty: bool = False, **kwargs: Any
    ) -> None:
        if if_empty and self._size(queue):
            return
        self.store.delete_queue(queue)

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        self.store.declare_queue(queue)

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        return self.store.has_queue(queue)

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        self.store.delete_queue(queue)

    def _size(self, queue: str) -> int:
        return self.store.size(queue)

    def _purge(self, queue: str) -> int:
        return self.store.purge(queue)

    # Publishing: every matching queue gets its row in one transaction ----------------------

    def basic_publish(
        self, message: dict[str, Any], exchange: str, routing_key: str, **kwargs: Any
    ) -> None:
        self._inplace_augment_message(message, exchange, routing_key)
        queues = [queue for queue in self._lookup(exchange, routing_key) if queue]
        if queues:
            self.store.put(queues, dumps(message), delay_s=_delay_s(message.get("headers")))

    def _put(self, queue: str, message: dict[str, Any], **kwargs: Any) -> None:
        self.store.put([queue], dumps(message), delay_s=_delay_s(message.get("headers")))

    # Consuming: a get is a lease; ack deletes, requeue releases ----------------------------

    def basic_consume(
        self, queue: str, no_ack: bool, callback: Any, consumer_tag: str, **kwargs: Any
    ) -> Any:
        if no_ack:
            self._noack_queues.add(queue)
        self._idle_token = None  # a new queue to look at
        return super().basic_consume(queue, no_ack, callback, consumer_tag, **kwargs)

    def basic_cancel(self, consumer_tag: str) -> Any:
        queue = self._tag_to_queue.get(consumer_tag)
        self._noack_queues.discard(queue)
        self._idle_token = None
        return super().basic_cancel(consumer_tag)

    def drain_events(self, timeout: float | None = None, callback: Any = None) -> Any:
        """Deliver one message, or raise Empty; skip the claims (write transactions) while
        nothing was committed and nothing came due since the queues were last found empty."""
        if not (self._consumers and self.qos.can_consume()):
            raise Empty()
        self.connection.claimable = True  # a consumer with room: worth a short wait
        token = self.store.change_token()  # read before the claims: a later commit moves it
        if token == self._idle_token and (self._due_at is None or time.time() < self._due_at):
            raise Empty()
        try:
            return super().drain_events(timeout=timeout, callback=callback)
        except Empty:
            self._idle_token = token
            self._due_at = self.store.next_due(list(self._active_queues))
            raise

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any) -> Any:
        try:
            message = self.Message(self._take(queue, no_ack=no_ack), channel=self)
        except Empty:
            return None
        if not no_ack:
            self.qos.append(message, message.delivery_tag)
        return message

    def _get(self, queue: str, timeout: float | None = None) -> dict[str, Any]:
        return self._take(queue, no_ack=queue in self._noack_queues)

    def _take(self, queue: str, *, no_ack: bool) -> dict[str, Any]:
        delivery = self.store.claim(queue, lease_s=float(self.visibility_timeout), no_ack=no_ack)
        if delivery is None:
            raise Empty()
        payload: dict[str, Any] = loads(delivery.payload)
        properties = payload["properties"]
        properties["delivery_tag"] = delivery.lease  # unique per delivery, not per message
        properties.setdefault("delivery_info", {}).update(
            embedded_message_id=delivery.message_id,
            embedded_lease=delivery.lease,
            delivery_count=delivery.delivery_count,
            redelivered=delivery.delivery_count > 1,
        )
        if delivery.delivery_count > 1:
            payload["headers"] = dict(payload.get("headers") or {})
            payload["headers"]["x-delivery-count"] = delivery.delivery_count - 1
        return payload

    def _lease_of(self, delivery_tag: str) -> tuple[int, str] | None:
        try:
            info = self.qos.get(delivery_tag).delivery_info
            return int(info["embedded_message_id"]), str(info["embedded_lease"])
        except KeyError:
            return None

    def basic_ack(self, delivery_tag: str, multiple: bool = False) -> None:
        lease = self._lease_of(delivery_tag)
        if lease is not None:
            self.store.ack(*lease)
        super().basic_ack(delivery_tag, multiple=multiple)

    def basic_reject(self, delivery_tag: str, requeue: bool = False) -> None:
        if not requeue:  # dropped for good; with requeue the QoS calls _restore below
            lease = self._lease_of(delivery_tag)
            if lease is not None:
                self.store.ack(*lease)
        super().basic_reject(delivery_tag, requeue=requeue)

    def _restore(self, message: Any) -> None:
        """Release the lease instead of re-publishing a copy: the row is still there."""
        info = message.delivery_info
        if "embedded_message_id" in info:
            self.store.release(int(info["embedded_message_id"]), str(info["embedded_lease"]))

    def close(self) -> None:
        try:
            super().close()  # releases unacked leases while the database is still open
        finally:
            self.store.close()


class Transport(virtual.Transport):
    """kombu transport for ``embedded+sqlite:////abs/path/broker.sqlite3``."""

    Channel = Channel
    can_parse_url = True  # the path is ours to parse; kombu's parser drops the leading slash
    polling_interval = DEFAULT_POLLING_INTERVAL_S
    driver_type = "sqlite"
    driver_name = "sqlite3"
    # "database is locked" past busy_timeout: kombu's retry and reconnect logic applies.
    # (kombu infers a one-element tuple type from its own default.)
    connection_errors = (  # type: ignore[assignment]
        *virtual.Transport.connection_errors,
        sqlite3.OperationalError,
    )
    implements = virtual.Transport.implements.extend(
        exchange_type=frozenset(["direct", "topic", "fanout"])
    )

    def __init__(self, client: Any, **kwargs: Any) -> None:
        self.database_path = database_path(client.hostname)
        self.options: dict[str, Any] = dict(client.transport_options or {})
        super().__init__(client, **kwargs)
        self.polling_interval = _seconds(
            self.options, "polling_interval", DEFAULT_POLLING_INTERVAL_S
        )
        self.min_polling_interval = min(
            _seconds(self.options, "min_polling_interval", DEFAULT_MIN_POLLING_INTERVAL_S),
            self.polling_interval,
        )
        self._doorbell = doorbell(self.database_path)
        self._last_delivery = time.monotonic()
        self.claimable = False  # set by a channel that could take a message this round

    def drain_events(self, connection: Any, timeout: float | None = None, **_: Any) -> None:
        """kombu's polling loop, with waits that adapt to the quiet time, end early when this
        process commits, and never run past `timeout` (kombu's can overshoot it)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        cycle = self.cycle
        assert cycle is not None  # made in virtual.Transport.__init__
        while True:
            rung = self._doorbell.rings  # before looking: a ring after it cuts the wait short
            self.claimable = False
            try:
                cycle.get(self._deliver, timeout=timeout)
            except Empty:
                pass
            else:
                self._last_delivery = time.monotonic()
                return
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise TimeoutError()
            # Every consumer at its prefetch limit: only an ack (a commit here, which rings)
            # can change that, so there is no point looking again soon.
            wait = (
                self.wait_s(now - self._last_delivery) if self.claimable else self.polling_interval
            )
            self._doorbell.wait(rung, wait if deadline is None else min(wait, deadline - now))

    def wait_s(self, quiet_s: float) -> float:
        """The pause before the next look after `quiet_s` without a delivery: short right after
        activity, 2% of the quiet time later on, never above `polling_interval`."""
        return min(self.polling_interval, max(self.min_polling_interval, quiet_s * BACKOFF_SHARE))

    def driver_version(self) -> str:
        return sqlite3.sqlite_version
