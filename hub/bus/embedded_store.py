"""The SQL side of the embedded transport: one SQLite file (WAL) holds the queues, their
messages and the exchange bindings, so every process on the machine sees the same broker.

A message row is visible when `available_at <= now`. That one column serves three purposes:
the enqueue time (FIFO order), the `x-delay` due time, and the lease expiry of a taken message
(SQS's visibility timeout). A consumer killed with SIGKILL never acks, so its lease runs out and
the row becomes visible again; an ack deletes the row.

Consumers wait cheaply (see `MessageStore.change_token`): a message can only become visible
through a commit (seen as a change of `PRAGMA data_version`, or of this connection's own
`total_changes`) or through time passing (`next_due`). While neither happened, no claim is
needed.
Commits also ring a per-file `Doorbell`, so a consumer in the publisher's own process wakes at
once instead of at its next poll.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS exchanges (
        name TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        durable INTEGER NOT NULL,
        auto_delete INTEGER NOT NULL,
        arguments TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS bindings (
        exchange TEXT NOT NULL,
        routing_key TEXT NOT NULL,
        pattern TEXT NOT NULL,
        queue TEXT NOT NULL,
        PRIMARY KEY (exchange, routing_key, queue)
    )""",
    "CREATE INDEX IF NOT EXISTS bindings_by_queue ON bindings (queue)",
    "CREATE TABLE IF NOT EXISTS queues (name TEXT PRIMARY KEY, declared_at REAL NOT NULL)",
    """CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY,
        queue TEXT NOT NULL,
        payload TEXT NOT NULL,
        available_at REAL NOT NULL,
        lease TEXT,
        delivery_count INTEGER NOT NULL DEFAULT 0,
        enqueued_at REAL NOT NULL
    )""",
    # The claim reads the first visible row of one queue: one index seek, whatever the backlog.
    "CREATE INDEX IF NOT EXISTS messages_ready ON messages (queue, available_at, id)",
)

# Oldest visible first; the subquery runs before the UPDATE, inside one write transaction.
_CLAIM = """
    UPDATE messages
    SET available_at = :lease_until, lease = :lease, delivery_count = delivery_count + 1
    WHERE id = (
        SELECT id FROM messages WHERE queue = :queue AND available_at <= :now
        ORDER BY available_at, id LIMIT 1
    )
    RETURNING id, payload, delivery_count
"""
_TAKE = """
    DELETE FROM messages
    WHERE id = (
        SELECT id FROM messages WHERE queue = :queue AND available_at <= :now
        ORDER BY available_at, id LIMIT 1
    )
    RETURNING id, payload, delivery_count + 1
"""
# Waiting = not held by a live lease (ready or delayed): what purge removes and size counts.
_WAITING = "queue = :queue AND (lease IS NULL OR available_at <= :now)"


class StoreError(ValueError):
    """The embedded transport's URL or database cannot be used."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed message: its row, its lease token and how many times it was delivered."""

    message_id: int
    lease: str
    payload: str
    delivery_count: int


@dataclass(frozen=True, slots=True)
class StoredExchange:
    type: str
    durable: bool
    auto_delete: bool
    arguments: dict[str, Any]


class Doorbell:
    """Wakes this process's waiting consumers when any connection here commits to the file:
    in-process delivery then costs no poll interval. Other processes still poll (cheaply)."""

    def __init__(self) -> None:
        self._condition = threading.Condition(threading.Lock())
        self.rings = 0

    def ring(self) -> None:
        with self._condition:
            self.rings += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout_s: float) -> bool:
        """Sleep up to `timeout_s` unless it rang since `seen` was read; True if it rang."""
        with self._condition:
            if self.rings == seen and timeout_s > 0:
                self._condition.wait(timeout_s)
            return self.rings != seen


_doorbells: dict[Path, Doorbell] = {}
_doorbells_lock = threading.Lock()


def doorbell(path: Path) -> Doorbell:
    """The one doorbell of this process for the database file at `path`."""
    key = path.resolve()
    with _doorbells_lock:
        return _doorbells.setdefault(key, Doorbell())


class MessageStore:
    """One sqlite3 connection (per kombu channel), serialised by a lock so that acks from
    another thread are safe; every write takes the database write lock up front
    (BEGIN IMMEDIATE) so busy_timeout applies instead of a snapshot conflict."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 10.0, synchronous: str = "NORMAL"):
        if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise StoreError(f"sqlite_synchronous must be NORMAL or FULL, got {synchronous!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self.doorbell = doorbell(path)
        self._db = sqlite3.connect(
            path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        self._create_schema()

    def _create_schema(self) -> None:
        if self._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        with self._write() as db:
            for statement in SCHEMA:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _write(self) -> _WriteTransaction:
        return _WriteTransaction(self._db, self._lock, self._committed)

    def _committed(self) -> None:
        self.doorbell.ring()

    def change_token(self) -> tuple[int, int]:
        """Changes whenever anyone changes a row: `PRAGMA data_version` moves on another
        connection's commit (any process; it reads the WAL index, no write lock, ~5 us),
        `total_changes` on this connection's own (an empty claim changes nothing, so a
        consumer finding nothing does not wake itself). Equal tokens: no new row, lease or
        release since."""
        with self._lock:
            row = self._db.execute("PRAGMA data_version").fetchone()
            return int(row[0]), self._db.total_changes

    def next_due(self, queues: list[str]) -> float | None:
        """When the first row of `queues` becomes visible without any commit (a delay ending or
        a lease running out), as time.time(); None when the queues hold no row at all."""
        if not queues:
            return None
        marks = ", ".join("?" for _ in queues)
        with self._lock:
            row = self._db.execute(
                f"SELECT min(available_at) FROM messages WHERE queue IN ({marks})", queues
            ).fetchone()
        return None if row[0] is None else float(row[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # Messages -------------------------------------------------------------------------------

    def put(self, queues: list[str], payload: str, *, delay_s: float = 0.0) -> None:
        """Store one copy per queue, all in one transaction, committed before this returns."""
        now = time.time()
        rows = [(queue, payload, now + max(delay_s, 0.0), now) for queue in queues]
        with self._write() as db:
            db.executemany(
                "INSERT INTO messages (queue, payload, available_at, enqueued_at)"
                " VALUES (?, ?, ?, ?)",
                rows,
            )

    def claim(self, queue: str, *, lease_s: float, no_ack: bool = False) -> Delivery | None:
        """Lease the oldest visible message of `queue` (or take it for good with `no_ack`)."""
        now = time.time()
        lease = uuid.uuid4().hex
        params = {"queue": queue, "now": now, "lease_until": now + lease_s, "lease": lease}
        with self._write() as db:
            rows = db.execute(_TAKE if no_ack else _CLAIM, params).fetchall()
        if not rows:
            return None
        row = rows[0]
        return Delivery(message_id=row[0], lease=lease, payload=row[1], delivery_count=row[2])

    def ack(self, message_id: int, lease: str) -> bool:
        """Delete the row if this lease still holds it; False if the lease lapsed meanwhile
        and another consumer took the message (the holder's ack then decides)."""
        with self._write() as db:
            cursor = db.execute(
                "DELETE FROM messages WHERE id = ? AND lease = ?", (message_id, lease)
            )
        return cursor.rowcount == 1

    def release(self, message_id: int, lease: str) -> bool:
        """Make a leased message visible now, behind the ones already waiting."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE messages SET available_at = ?, lease = NULL WHERE id = ? AND lease = ?",
                (time.time(), message_id, lease),
            )
        return cursor.rowcount == 1

    def size(self, queue: str) -> int:
        with self._lock:
            row = self._db.execute(
                f"SELECT count(*) FROM messages WHERE {_WAITING}",
                {"queue": queue, "now": time.time()},
            ).fetchone()
        return int(row[0])

    def purge(self, queue: str) -> int:
        """Delete waiting messages (ready and delayed); leased ones stay, as unacked do in AMQP."""
        with self._write() as db:
            cursor = db.execute(
                f"DELETE FROM messages WHERE {_WAITING}", {"queue": queue, "now": time.time()}
            )
        return cursor.rowcount

    # Queues, exchanges, bindings ------------------------------------------------------------

    def declare_queue(self, queue: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO queues (name, declared_at) VALUES (?, ?)",
                (queue, time.time()),
            )

    def has_queue(self, queue: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM queues WHERE name = ?", (queue,)).fetchone()
        return row is not None

    def delete_queue(self, queue: str) -> None:
        """Drop the queue with its bindings and every message, leased or not (as AMQP does)."""
        with self._write() as db:
            db.execute("DELETE FROM bindings WHERE queue = ?", (queue,))
            db.execute("DELETE FROM messages WHERE queue = ?", (queue,))
            db.execute("DELETE FROM queues WHERE name = ?", (queue,))

    def declare_exchange(
        self, name: str, type_: str, durable: bool, auto_delete: bool, arguments: dict[str, Any]
    ) -> StoredExchange:
        """Create the exchange unless it exists; return what is stored (to compare)."""
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO exchanges (name, type, durable, auto_delete, arguments)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, type_, int(durable), int(auto_delete), json.dumps(arguments)),
            )
            row = db.execute(
                "SELECT type, durable, auto_delete, arguments FROM exchanges WHERE name = ?",
                (name,),
            ).fetchone()
        return StoredExchange(row[0], bool(row[1]), bool(row[2]), json.loads(row[3]))

    def exchange_type(self, name: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT type FROM exchanges WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def delete_exchange(self, name: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM bindings WHERE exchange = ?", (name,))
            db.execute("DELETE FROM exchanges WHERE name = ?", (name,))

    def bind(self, exchange: str, routing_key: str, pattern: str | None, queue: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO bindings (exchange, routing_key, pattern, queue)"
                " VALUES (?, ?, ?, ?)",
                (exchange, routing_key, pattern or "", queue),
            )

    def unbind(self, exchange: str, routing_key: str, queue: str) -> None:
        with self._write() as db:
            db.execute(
                "DELETE FROM bindings WHERE exchange = ? AND routing_key = ? AND queue = ?",
                (exchange, routing_key, queue),
            )

    def table(self, exchange: str) -> list[tuple[str, str | None, str]]:
        """The exchange's bindings in kombu's routing-table form: (routing_key, pattern, queue)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT routing_key, pattern, queue FROM bindings WHERE exchange = ?", (exchange,)
            ).fetchall()
        return [(key, pattern or None, queue) for key, pattern, queue in rows]

    def bindings(self) -> list[tuple[str, str, str]]:
        """Every binding as (queue, exchange, routing_key)."""
        with self._lock:
            rows = self._db.execute("SELECT queue, exchange, routing_key FROM bindings").fetchall()
        return [(queue, exchange, key) for queue, exchange, key in rows]


class _WriteTransaction:
    """`with` block running BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) under the lock;
    `on_commit` runs after a successful COMMIT that changed a row (still under the lock)."""

    def __init__(
        self, db: sqlite3.Connection, lock: threading.Lock, on_commit: Callable[[], None]
    ) -> None:
        self._db = db
        self._lock = lock
        self._on_commit = on_commit
        self._changes = 0

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._changes = self._db.total_changes
        except BaseException:
            self._lock.release()
            raise
        return self._db

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        try:
            if exc_type is None:
                try:
                    self._db.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
                if self._db.total_changes != self._changes:
                    self._on_commit()
            else:
                self._rollback()
        finally:
            self._lock.release()

    def _rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
