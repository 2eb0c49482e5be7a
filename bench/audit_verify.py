"""Time `verify_chain` on a large trail of realistic entries, before and after in one run.

    .venv/bin/python -m bench.audit_verify --entries 200000
    .venv/bin/python -m bench.audit_verify --entries 200000 --engines sqlite --repeat 3

Builds the trail straight into a fresh store (SQLite in a temporary folder; PostgreSQL on
127.0.0.1:5432 in a throw-away database, when reachable): the six entries a parking permit
leaves (received, validated, the ROP call with its float latency, the record change, the
queued result, done), chained and checkpointed every 100 entries with a real key and external
file, as the hub writes them. Then, on the same trail:

- `rfc8785 walk`: the walk as it was before `hub.audit.canonical` (SQLAlchemy parses the
  detail, every entry through the pure-Python `rfc8785.dumps`), hashes and links only;
- `in-process`: `verify_chain(..., workers=0)`, everything checked, one process;
- `verify_chain`: as `hub audit verify` runs it (worker processes on a trail this long, unless
  every core is busy already: the line says how many; `--workers 2` forces them; on PostgreSQL
  they read ranges of the trail themselves);
- `bare fetch`: the same batch queries through the driver's cursor, nothing checked: the floor
  verify cannot beat. Each verify line also gives its time over that floor's (measured in the
  same run), which stays comparable when the shared machine is busy.

Not a test (pytest never collects bench/). Prints one line per engine and way.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import resource
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import rfc8785
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from bench import services
from hub.audit.chain import stored_row
from hub.audit.checkpoint import CheckpointSigner
from hub.audit.entry import GENESIS_HASH, payload, payload_hash
from hub.audit.journal import CheckpointJournal
from hub.audit.keys import signing_key
from hub.audit.verify import _batches, default_workers, verify_chain
from hub.config import Settings
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.tables import AuditCheckpoint, AuditEntry, AuditHead

CHECKPOINT_EVERY = 100  # the hub's default
INSERT_CHUNK = 5000


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_verify", description=__doc__)
    parser.add_argument("--entries", type=int, default=200_000, help="entries on the trail")
    parser.add_argument("--engines", default="sqlite,postgres", help="sqlite and/or postgres")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each way (best kept)")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes for verify_chain (default: auto)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the rfc8785 walk")
    return parser.parse_args()


def message_entries(number: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind, detail) of the six entries one parking permit request leaves, as the pipeline
    writes them."""
    application = f"PKA-2026-{number:06d}"
    yield "message.received", {"type": "permit.parking.requested", "source": "urn:muscat:parking"}
    yield "message.validated", {"contract": "urn:muscat-hub:events:permit.parking.requested:1.0"}
    yield (
        "agency.call",
        {
            "agency": "rop",
            "operation": "vehicle-inquiry",
            "attempt": 1,
            "latency_ms": round(3 + (number * 7919 % 4000) / 97, 2),
            "outcome": "ok",
            "request_digest": "sha256:" + hashlib.sha256(f"q{number}".encode()).hexdigest(),
            "response_digest": "sha256:" + hashlib.sha256(f"r{number}".encode()).hexdigest(),
        },
    )
    issued = number % 7 != 0
    yield (
        "record.changed",
        {
            "record": "parking_permit",
            "key": application,
            "before": None,
            "after": {
                "application_no": application,
                "permit_no": f"MCT-PK-{number:07d}" if issued else None,
                "plate": f"{10000 + number % 90000} AB",
                "civil_id": f"{9000000 + number:08d}",
                "zone": ("qurum", "ruwi", "al-khuwair")[number % 3],
                "months": 1 + number % 12,
                "status": "issued" if issued else "refused",
                "valid_from": "2026-11-29" if issued else None,
                "valid_until": "2027-02-28" if issued else None,
            },
        },
    )
    yield (
        "result.queued",
        {
            "event_id": str(uuid.UUID(int=number)),
            "type": "permit.parking.completed",
            "exchange": "municipal.out",
        },
    )
    yield "message.done", {"type": "permit.parking.requested"}


def build_trail(engine: Engine, settings: Settings, entries: int) -> None:
    """Write `entries` chained entries, the head, and a signed checkpoint every 100 entries
    (database and external file), as the hub leaves them."""
    upgrade(engine)
    signer = CheckpointSigner(signing_key(settings))
    journal = CheckpointJournal.from_settings(settings)
    start = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    prev, seq, rows, checkpoints = GENESIS_HASH, 0, [], []
    number = 0
    with engine.begin() as conn:
        while seq < entries:
            correlationid, message_id = str(uuid.uuid4()), str(uuid.uuid4())
            for kind, detail in message_entries(number):
                if seq == entries:
                    break
                seq += 1
                at = (start + timedelta(milliseconds=seq)).isoformat()
                content = payload(seq, at, correlationid, message_id, kind, "hub", detail, prev)
                prev = payload_hash(content)
                rows.append(content | {"entry_hash": prev})
                if seq % CHECKPOINT_EVERY == 0:
                    checkpoints.append(signer.sign(seq, prev, start + timedelta(seconds=seq)))
            number += 1
            if len(rows) >= INSERT_CHUNK:
                conn.execute(insert(AuditEntry), [stored_row(row) for row in rows])
                rows = []
        if rows:
            conn.execute(insert(AuditEntry), [stored_row(row) for row in rows])
        if checkpoints:
            conn.execute(insert(AuditCheckpoint), [cp.as_dict() for cp in checkpoints])
        conn.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, entry_hash=prev))
    for checkpoint in checkpoints:
        journal.append(checkpoint)


def rfc8785_walk(sessions: sessionmaker[Session], batch_size: int = 5000) -> int:
    """The hash-and-link walk as verify ran it before: entries checked (raises if broken)."""
    t = AuditEntry.__table__.c
    columns = (t.seq, t.recorded_at, t.correlationid, t.message_id, t.kind, t.actor, t.detail)
    expected, prev = 1, GENESIS_HASH
    with sessions() as session:
        while True:
            query = select(*columns, t.prev_hash, t.entry_hash).order_by(t.seq).limit(batch_size)
            if expected > 1:
                query = query.where(t.seq >= expected)
            rows = session.execute(query).all()
            if not rows:
                return expected - 1
            for seq, recorded_at, corr, message_id, kind, actor, detail, prev_hash, stored in rows:
                content = payload(
                    seq, recorded_at, corr, message_id, kind, actor, detail, prev_hash
                )
                if seq != expected or prev_hash != prev:
                    raise RuntimeError(f"trail broken at {seq}")
                if hashlib.sha256(rfc8785.dumps(content)).hexdigest() != stored:
                    raise RuntimeError(f"hash differs at {seq}")
                prev = stored
                expected += 1


def bare_fetch(sessions: sessionmaker[Session]) -> int:
    """Rows read as verify reads them (same queries, same cursor), nothing else done."""
    with sessions() as session:
        return sum(len(rows) for rows in _batches(session, 5000))


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (verify's worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(run: Callable[[], int], repeat: int) -> tuple[int, float, float]:
    """(entries, best wall seconds, CPU seconds of that run) over `repeat` runs.

    The CPU figure tells what the walk costs whatever else the machine is running: on a
    shared machine the wall time also counts the waits for a core."""
    best, cpu, entries = float("inf"), 0.0, 0
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), cpu_seconds()
        entries = run()
        wall = time.perf_counter() - started
        if wall < best:
            best, cpu = wall, cpu_seconds() - cpu_started
    return entries, best, cpu


def verifier(
    sessions: sessionmaker[Session], settings: Settings, workers: int | None = None
) -> Callable[[], int]:
    """`verify_chain` as `hub audit verify` calls it: entries checked, or raise if broken."""
    public_key = signing_key(settings).public_key()
    journal = CheckpointJournal.from_settings(settings)

    def run() -> int:
        result = verify_chain(sessions, public_key=public_key, journal=journal, workers=workers)
        if not result.ok:
            raise RuntimeError(f"trail reported broken: {result.first}")
        return result.entries

    return run


def measure(name: str, url: str | None, data_dir: Path, args: argparse.Namespace) -> None:
    settings = Settings(data_dir=data_dir, database_url=url)
    engine = make_engine(settings.resolved_database_url)
    try:
        started = time.perf_counter()
        build_trail(engine, settings, args.entries)
        print(
            f"{name}: trail of {args.entries:,} entries built in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        sessions = make_session_factory(engine)

        def verify(workers: int | None) -> Callable[[], int]:
            return verifier(sessions, settings, workers)

        ways: list[tuple[str, Callable[[], int]]] = [("bare fetch", lambda: bare_fetch(sessions))]
        if not args.no_baseline:
            ways.append(("rfc8785 walk (before)", lambda: rfc8785_walk(sessions)))
        ways.append(("verify_chain in-process", verify(0)))
        chosen = default_workers(args.entries) if args.workers is None else args.workers
        ways.append((f"verify_chain (as hub audit verify, {chosen} workers)", verify(args.workers)))
        print(f"{name}: load average before timing: {os.getloadavg()[0]:.2f}", flush=True)
        floor = 0.0
        for way, run in ways:
            entries, seconds, cpu = timed(run, args.repeat)
            floor = floor or seconds
            print(
                f"{name}: {way}: {entries:,} entries in {seconds:.2f} s = "
                f"{entries / seconds:,.0f} entries/s (CPU {cpu:.2f} s, "
                f"{entries / cpu:,.0f} entries per CPU-second; {seconds / floor:.2f}x bare fetch)",
                flush=True,
            )
    finally:
        engine.dispose()


def trail_rate(entries: int, repeat: int = 3) -> dict[str, Any]:
    """Verify speed as `hub audit verify` runs it, on a fresh PostgreSQL trail of `entries`
    (best of `repeat`), beside the bare fetch of the same rows: bench.pipeline's audit figure.
    The trails the pipeline rows leave are too short for a rate (start-up dominates)."""
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as scratch:
        with services.fresh_database("audit") as url:
            settings = Settings(data_dir=Path(scratch), database_url=url)
            engine = make_engine(url)
            try:
                build_trail(engine, settings, entries)
                sessions = make_session_factory(engine)
                _, floor, _ = timed(lambda: bare_fetch(sessions), repeat)
                checked, seconds, cpu = timed(verifier(sessions, settings), repeat)
            finally:
                engine.dispose()
    return {
        "entries": checked,
        "seconds": round(seconds, 3),
        "entries_per_s": round(checked / seconds),
        "cpu_seconds": round(cpu, 3),
        "bare_fetch_seconds": round(floor, 3),
        "x_bare_fetch": round(seconds / floor, 2),
    }


def main() -> None:
    args = parse()
    engines = args.engines.split(",")
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as scratch:
        root = Path(scratch)
        if "sqlite" in engines:
            measure("SQLite", None, root / "sqlite", args)
        if "postgres" in engines:
            if not services.reachable(services.POSTGRES):
                print("PostgreSQL: not reachable on 127.0.0.1:5432, skipped")
                return
            with services.fresh_database("audit") as url:
                measure("PostgreSQL", url, root / "postgres", args)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
