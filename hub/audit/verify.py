"""`verify_chain`: walk the trail in sequence order, a batch per query, recompute each hash,
check each link and each signed checkpoint, and name the first thing that is wrong.

On a long trail the hashes (and checkpoint signatures) are recomputed in worker processes:
on PostgreSQL each reads ranges of the trail itself, in this transaction's snapshot
(hub/audit/verify_ranges.py); elsewhere, or past a range that is not intact, this process reads
the batches and sends them. The batches are still checked here one after the other, so the
problems found and their order are those of a walk in one process."""

from __future__ import annotations

import bisect
import functools
import gc
import itertools
import marshal
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.anchors import Anchor, Verdicts, collect_anchors
from hub.audit.checkpoint import Checkpoint, signature_problems
from hub.audit.diagnosis import RADIUS, Break, diagnose
from hub.audit.entry import COLUMNS, GENESIS_HASH, StoredEntry
from hub.audit.findings import Problem, ProblemKind, VerifyResult
from hub.audit.journal import CheckpointJournal
from hub.audit.keys import verify_key
from hub.audit.rehash import Mismatch, RawRow, first_mismatch, packed_mismatch
from hub.audit.verify_ranges import RangeReads, SharedSnapshot, export_snapshot, open_reader
from hub.config import Settings
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.tables import AuditCheckpoint, AuditEntry, AuditHead

BATCH_SIZE = 5000
PARALLEL_FROM = 20_000  # entries from which hashes are recomputed in worker processes
MAX_WORKERS = 4
Progress = Callable[[int, int], None]  # (entries checked, entries on the chain)

_T = AuditEntry.__table__.c
_COLUMNS = tuple(_T[name] for name in COLUMNS)
_C = AuditCheckpoint.__table__.c
_CHECKPOINTS = select(_C.seq, _C.head_hash, _C.signed_at, _C.key_id, _C.signature).order_by(_C.seq)


@dataclass
class _WalkEnd:
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    broken: tuple[int, Break] | None = None


def verify_chain(
    sessions: sessionmaker[Session],
    *,
    public_key: Ed25519PublicKey | None,
    journal: CheckpointJournal | None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    workers: int | None = None,
) -> VerifyResult:
    """Check the whole trail; `result.first` names the first problem (seq, kind, detail).

    `workers`: processes recomputing hashes beside the walk; None picks by the trail's length
    (`default_workers`), 0 keeps everything in this process. The result is the same either way.
    """
    started = time.perf_counter()
    result = VerifyResult()
    # The file is read before the database snapshot: its lines are written after their
    # commit, so every line read here names a checkpoint the snapshot holds.
    external = journal.read() if journal is not None else None
    with sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        head = session.get(AuditHead, 1)
        head_seq, head_hash = (head.seq, head.entry_hash) if head else (0, GENESIS_HASH)
        stored = [Checkpoint(*row) for row in session.execute(_CHECKPOINTS)]
        if workers is None:
            workers = default_workers(head_seq)
        shared = export_snapshot(session) if workers > 0 else None
        with _workers(workers, shared) as pool, _no_cycle_collection():
            ranges = None
            if pool is not None and shared is not None:
                signed = [*stored, *(external.checkpoints if external is not None else [])]
                asked = {cp.seq for cp in signed}  # the anchors will be among these
                ranges = RangeReads(pool, 2 * workers, batch_size, head_seq, list(asked))
            verdicts = None if pool is None else _signature_verdicts(pool, workers)
            anchors = collect_anchors(stored, external, public_key, result, verdicts)
            walk = _Walk(anchors, result)
            end = _walk(session, walk, batch_size, head_seq, progress, pool, workers, ranges)
        if end.broken is not None:
            at, found = end.broken
            window = session.execute(
                select(*_COLUMNS)
                .where(_T.seq >= at - RADIUS)
                .order_by(_T.seq)
                .limit(3 * RADIUS + 1)
            ).all()
            result.problems.append(diagnose([StoredEntry(*row) for row in window], at, found))
        else:
            _check_tail(end, anchors, head_seq, head_hash, result)
            _unsealed_window(session, result, end.last_seq)
    result.elapsed_s = time.perf_counter() - started
    return result


class _Hashed(Protocol):
    """A batch's hash check, done now or in a worker process (a Future)."""

    def result(self) -> Mismatch: ...


class _InProcess:
    """The check of one batch, run when asked for (small trails: no worker processes)."""

    def __init__(self, rows: Sequence[RawRow]) -> None:
        self._rows = rows

    def result(self) -> Mismatch:
        return first_mismatch(self._rows)


def default_workers(entries: int) -> int:
    """Worker processes for a trail of `entries`: none below PARALLEL_FROM, on one core, or
    when the cores are all busy already (measured on a shared 2-core machine: extra processes
    then mostly add the cost of shipping rows, and verify was as often slower as faster)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if entries < PARALLEL_FROM or not cores or cores < 2:
        return 0
    if hasattr(os, "getloadavg") and os.getloadavg()[0] >= cores:
        return 0  # every core busy already (over the last minute)
    return min(cores, MAX_WORKERS)


@contextmanager
def _workers(workers: int, shared: SharedSnapshot | None) -> Iterator[ProcessPoolExecutor | None]:
    """Worker processes for hashes and signatures, or None to do everything here; with a
    `shared` snapshot, each opens its own connection to read ranges of the trail in."""
    if workers <= 0:
        yield None
        return
    # fork on Linux: the workers inherit the loaded modules and start in milliseconds; they
    # only compute what they are sent and never touch the parent's connections.
    method = "fork" if sys.platform == "linux" else "spawn"
    for stream in (sys.stdout, sys.stderr):  # a forked child flushes what it inherited
        if stream is not None:
            stream.flush()
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context(method),
        initializer=None if shared is None else functools.partial(open_reader, shared),
    )
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cycle collector paused for the walk: the batches it keeps are tens of thousands of
    row tuples that hold no cycles, yet each pass over them (a full one included) cost about
    7% of a 200,000-entry verify. Whatever cycles the walk leaves are collected afterwards."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _signature_verdicts(pool: ProcessPoolExecutor, workers: int) -> Verdicts:
    """Checks checkpoint signatures in the worker processes, a share of them each."""

    def verdicts(public_key: Ed25519PublicKey, checkpoints: list[Checkpoint]) -> list[str | None]:
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        size = max(1, -(-len(checkpoints) // (4 * workers)))
        chunks = [checkpoints[i : i + size] for i in range(0, len(checkpoints), size)]
        found = pool.map(signature_problems, itertools.repeat(raw), chunks)
        return [verdict for chunk in found for verdict in chunk]

    return verdicts


def _batches(
    session: Session, batch_size: int, after: int | None = None
) -> Generator[list[RawRow], None, None]:
    """The trail in seq order (past `after`, if given), one query per batch (keyset on seq),
    detail as stored text.

    Read through the driver's own cursor, on the session's connection (so in its snapshot):
    SQLAlchemy's row objects and JSON parsing cost as much as hashing here, and the rows go
    to worker processes as plain tuples.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    # PostgreSQL: the json column's own text (psycopg would parse it); SQLite stores text.
    detail = "detail::text" if postgres else "detail"
    columns = ", ".join(detail if name == "detail" else name for name in COLUMNS)
    query = f"SELECT {columns} FROM {AuditEntry.__tablename__}"
    first = f"{query} ORDER BY seq LIMIT {mark}"
    after_seq = f"{query} WHERE seq > {mark} ORDER BY seq LIMIT {mark}"
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if after is None:
            cursor.execute(first, (batch_size,))
        else:
            cursor.execute(after_seq, (after, batch_size))
        while rows := cursor.fetchall():
            yield rows
            cursor.execute(after_seq, (rows[-1][0], batch_size))
    finally:
        cursor.close()


def _walk(
    session: Session,
    state: _Walk,
    batch_size: int,
    total: int,
    progress: Progress | None,
    pool: ProcessPoolExecutor | None,
    workers: int,
    ranges: RangeReads | None,
) -> _WalkEnd:
    """The hot loop: batches read in seq order while their hashes are recomputed (in worker
    processes on a long trail); each batch is then checked here, in order, so the first break
    found is the one a plain walk would find first. With `ranges` (PostgreSQL) the workers read
    and check the trail themselves; the batches read here take over past the last intact
    range."""
    end = _WalkEnd()

    def reached(broken: tuple[int, Break] | None) -> None:
        end.broken = broken
        end.last_seq, end.last_hash = state.expected - 1, state.prev
        state.result.entries = end.last_seq
        if broken is None and progress is not None:
            progress(end.last_seq, max(total, end.last_seq))

    after = None
    if ranges is not None:
        with closing(ranges):
            for last, report in ranges:
                if report is None or report.first_prev != state.prev:
                    break  # read and checked again here, row by row
                state.passed(last, report.last_hash, report.vouched)
                reached(None)
                after = last
    ahead = 2 * workers if workers > 0 else 1
    pending: deque[tuple[list[RawRow], _Hashed]] = deque()
    with closing(_batches(session, batch_size, after)) as batches:
        while True:
            for rows in itertools.islice(batches, ahead - len(pending)):
                hashed = _InProcess(rows) if pool is None else _submit(pool, rows)
                pending.append((rows, hashed))
            if not pending:
                return end
            rows, hashed = pending.popleft()
            reached(state.check(rows, _outcome(rows, hashed)))
            if end.broken is not None:
                return end


def _submit(pool: ProcessPoolExecutor, rows: list[RawRow]) -> _Hashed:
    try:
        packed = marshal.dumps(rows)
        return pool.submit(packed_mismatch, packed)
    except ValueError:  # a column of a type marshal does not know: hash the batch here
        return _InProcess(rows)
    except BrokenExecutor:  # a worker died (killed, out of memory): hash the batch here
        return _InProcess(rows)


def _outcome(rows: Sequence[RawRow], hashed: _Hashed) -> Mismatch:
    try:
        return hashed.result()
    except BrokenExecutor:  # a worker died (killed, out of memory): check the batch here
        return first_mismatch(rows)


@dataclass
class _Walk:
    """Where the walk stands: the seq and hash the next entry must have, what checkpoints said."""

    anchors: dict[int, Anchor]
    result: VerifyResult
    expected: int = 1
    prev: str = GENESIS_HASH
    last_vouched: int = 0
    recomputed_seen: bool = False
    anchor_seqs: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.anchor_seqs = sorted(self.anchors)

    def check(self, rows: Sequence[RawRow], mismatch: Mismatch) -> tuple[int, Break] | None:
        """Check one batch in order: number, hash (`mismatch`: where it first failed), link,
        checkpoint; the first break, or None with the walk moved past the batch."""
        if mismatch[0] == len(rows) and self._numbered_and_linked(rows):
            # The usual batch, nothing wrong: the checkpoints in it are all left to look at.
            first, last = self.expected, self.expected + len(rows) - 1
            asked = self.anchors_in(first, last)
            self.passed(last, rows[-1][8], {seq: rows[seq - first][8] for seq in asked})
            return None
        return self._check_each(rows, mismatch)

    def anchors_in(self, first: int, last: int) -> list[int]:
        """The seqs from `first` to `last` a signed checkpoint vouches for."""
        low = bisect.bisect_left(self.anchor_seqs, first)
        return self.anchor_seqs[low : bisect.bisect_right(self.anchor_seqs, last)]

    def passed(self, last: int, last_hash: str, vouched: Mapping[int, str]) -> None:
        """Move past intact, linked entries up to `last`; `vouched`: their hashes at (at least)
        `anchors_in` them, each compared with its checkpoint."""
        for seq in self.anchors_in(self.expected, last):
            self._vouch(seq, vouched[seq], self.anchors[seq])
        self.prev = last_hash
        self.expected = last + 1

    def _numbered_and_linked(self, rows: Sequence[RawRow]) -> bool:
        """Every row has the next seq and links to the row before (list compares, in C)."""
        if [row[0] for row in rows] != list(range(self.expected, self.expected + len(rows))):
            return False
        hashes = [row[8] for row in rows]
        return [row[7] for row in rows] == [self.prev, *hashes[:-1]]

    def _check_each(self, rows: Sequence[RawRow], mismatch: Mismatch) -> tuple[int, Break] | None:
        """Row by row, in the order a plain walk checks: the first break found."""
        hash_fails_at, error = mismatch
        anchors = self.anchors
        for index, row in enumerate(rows):
            seq, prev_hash, stored = row[0], row[7], row[8]
            if seq != self.expected:
                return (seq, Break.EARLY) if seq < self.expected else (self.expected, Break.GAP)
            if index == hash_fails_at:
                if error is not None:
                    raise error  # content that cannot be hashed, as the plain walk raised it
                return seq, Break.HASH
            if prev_hash != self.prev:
                return seq, Break.LINK
            anchor = anchors.get(seq)
            if anchor is not None:
                self._vouch(seq, stored, anchor)
            self.prev = stored
            self.expected += 1
        return None

    def _vouch(self, seq: int, stored: str, anchor: Anchor) -> None:
        if anchor.head_hash == stored:
            self.last_vouched = seq
        elif not self.recomputed_seen:
            self.recomputed_seen = True
            self.result.problems.append(
                Problem(
                    seq,
                    ProblemKind.RECOMPUTED,
                    f"the entry's hash is not the one the signed checkpoint in the "
                    f"{anchor.where} vouches for: the chain after seq {self.last_vouched} "
                    "was rewritten",
                )
            )


def _check_tail(
    end: _WalkEnd, anchors: dict[int, Anchor], head_seq: int, head_hash: str, result: VerifyResult
) -> None:
    """An intact chain may still be short: compare its end with the checkpoints and the head."""
    beyond = [seq for seq in anchors if seq > end.last_seq]
    if beyond:
        reached = max(beyond)
        result.problems.append(
            Problem(
                end.last_seq + 1,
                ProblemKind.TRUNCATED,
                f"the trail ends at seq {end.last_seq}, but a signed checkpoint in the "
                f"{anchors[reached].where} says it reached seq {reached} "
                f"(hash {anchors[reached].head_hash[:12]})",
            )
        )
    if (head_seq, head_hash) != (end.last_seq, end.last_hash):
        at = end.last_seq if head_seq == end.last_seq else min(head_seq, end.last_seq) + 1
        result.problems.append(
            Problem(
                at,
                ProblemKind.HEAD_MISMATCH,
                f"the head row says seq {head_seq} (hash {head_hash[:12]}), the last entry is "
                f"seq {end.last_seq} (hash {end.last_hash[:12]})",
            )
        )
    covered = [seq for seq in anchors if seq <= end.last_seq]
    result.unsealed = end.last_seq - max(covered, default=0)


def _unsealed_window(session: Session, result: VerifyResult, last_seq: int) -> None:
    """When the oldest entry no checkpoint covers was recorded, and its age: anything there
    could have been rewritten without a trace, so an old window deserves a look."""
    if result.unsealed <= 0:
        return
    first = last_seq - result.unsealed + 1
    recorded = session.scalar(select(AuditEntry.recorded_at).where(AuditEntry.seq == first))
    if recorded is None:
        return
    result.unsealed_since = recorded
    try:
        since = datetime.fromisoformat(recorded)
    except ValueError:
        return
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    result.unsealed_age_s = max(0.0, (datetime.now(UTC) - since).total_seconds())


def verify_store(settings: Settings, progress: Progress | None = None) -> VerifyResult:
    """Verify the store, key and external file the settings name (what `hub audit verify` runs)."""
    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade(engine)
        return verify_chain(
            make_session_factory(engine),
            public_key=verify_key(settings),  # the public half only: verify never signs
            journal=CheckpointJournal.from_settings(settings),
            progress=progress,
        )
    finally:
        engine.dispose()
