"""Verify's worker processes reading the trail themselves, on PostgreSQL: each reads a range of
sequence numbers on its own connection, in the verifying transaction's snapshot, hashes it and
sends back a few strings instead of receiving thousands of rows.

Shipping rows from the reading process to the hashing ones cost more CPU than reading
them; here the rows never leave the process that read them. The walk in the main process only
chains the ranges' reports; a range that is not intact (a gap, a hash that differs, a reader
that could not connect) is read and checked again there, row by row (hub/audit/verify.py).
"""

from __future__ import annotations

import bisect
import itertools
import multiprocessing.util
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor
from typing import Any, NamedTuple

import psycopg
from psycopg import IsolationLevel, sql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hub.audit.entry import COLUMNS
from hub.audit.rehash import first_mismatch
from hub.store.engine import make_engine

# Below every seq: the first range reads from here, so rows numbered 0 or less are seen too.
FLOOR = -(2**63)
_QUERY = (
    f"SELECT {', '.join('detail::text' if name == 'detail' else name for name in COLUMNS)}"
    " FROM audit_entries WHERE seq > %s AND seq <= %s ORDER BY seq"
)

_reader: psycopg.Connection[tuple[Any, ...]] | None = None  # this worker's, if it has one


class SharedSnapshot(NamedTuple):
    """What a worker needs to read what the verifying transaction sees."""

    url: str  # the store's URL, password included (it only goes to forked or spawned workers)
    snapshot: str  # pg_export_snapshot() of the verifying transaction


class RangeReport(NamedTuple):
    """One range read and checked in a worker, when it is intact: its rows are numbered
    `first`..`last` with none missing, every row's content gives its stored hash and every
    row links to the one before it. The walk still checks the link into the range."""

    first_prev: str  # the prev_hash of the range's first row
    last_hash: str  # the entry_hash of its last row
    vouched: dict[int, str]  # the entry_hash at each seq of the range the worker was asked about


def export_snapshot(session: Session) -> SharedSnapshot | None:
    """The session's snapshot, for worker processes to read in; None off PostgreSQL."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return None
    snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
    return SharedSnapshot(connection.engine.url.render_as_string(hide_password=False), snapshot)


def open_reader(shared: SharedSnapshot) -> None:
    """Worker start: one connection in the verifying transaction's snapshot, closed when the
    worker exits. Without it (no connection to spare), every range is left to the walk."""
    global _reader
    try:
        connection = make_engine(shared.url, pool_size=1).raw_connection().driver_connection
    except (DBAPIError, psycopg.Error):  # wrapped by SQLAlchemy or not, as it connected
        return
    if not isinstance(connection, psycopg.Connection):  # another driver: the walk reads
        return
    try:
        connection.isolation_level = IsolationLevel.REPEATABLE_READ
        connection.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(shared.snapshot))
    except psycopg.Error:
        connection.close()
        return
    _reader = connection
    multiprocessing.util.Finalize(None, close_reader, exitpriority=10)


def close_reader() -> None:
    """Worker exit: the connection closed (PostgreSQL sees a goodbye, not a lost client)."""
    global _reader
    if _reader is not None:
        _reader.close()
        _reader = None


class RangeReads:
    """The trail from seq 1 to `total` in ranges of `size`, read and checked by the worker
    processes in order, `ahead` of them at a time: submitted from the start, so the workers
    read while this process still checks the checkpoints' signatures (also theirs to do)."""

    def __init__(
        self, pool: ProcessPoolExecutor, ahead: int, size: int, total: int, asked: Sequence[int]
    ) -> None:
        self._pool, self._ahead, self._size, self._total = pool, ahead, size, total
        self._asked = sorted(asked)
        self._starts = iter(range(1, total + 1, size))
        self._pending: deque[tuple[int, Future[RangeReport | None]]] = deque()
        self._submit()

    def __iter__(self) -> Iterator[tuple[int, RangeReport | None]]:
        """(last seq, its report or None when not intact or not read) of each range, in order."""
        while self._pending:
            last, future = self._pending.popleft()
            self._submit()
            try:
                yield last, future.result()
            except BrokenExecutor:  # a worker died (killed, out of memory)
                yield last, None

    def close(self) -> None:
        """Cancel what was submitted and not yet started: the walk goes on without it."""
        while self._pending:
            self._pending.popleft()[1].cancel()

    def _submit(self) -> None:
        for first in itertools.islice(self._starts, self._ahead - len(self._pending)):
            last = min(first + self._size - 1, self._total)
            low = bisect.bisect_left(self._asked, first)
            asked = self._asked[low : bisect.bisect_right(self._asked, last)]
            floor = FLOOR if first == 1 else first - 1
            try:
                future = self._pool.submit(read_range, floor, first, last, asked)
            except BrokenExecutor:  # a worker died: the walk reads what is left itself
                self._starts = iter(())
                return
            self._pending.append((last, future))


def read_range(after: int, first: int, last: int, asked: Sequence[int]) -> RangeReport | None:
    """Read the rows numbered above `after` up to `last` and report them if they are intact
    (numbered `first`..`last`); None when they are not, or when they could not be read here."""
    if _reader is None:
        return None
    try:
        rows = _reader.execute(_QUERY, (after, last)).fetchall()
    except psycopg.Error:
        return None
    if [row[0] for row in rows] != list(range(first, last + 1)):
        return None
    if first_mismatch(rows) != (len(rows), None):
        return None
    hashes = [row[8] for row in rows]
    if [row[7] for row in rows[1:]] != hashes[:-1]:
        return None
    return RangeReport(rows[0][7], hashes[-1], {seq: hashes[seq - first] for seq in asked})
