"""Verify's worker processes reading ranges of the trail themselves (PostgreSQL): each range is
read in the verifying transaction's snapshot and reported only when intact; anything else is
left to the walk, so the verdict is the one a single process reaches, whatever was tampered
with, whatever changes meanwhile, and when a worker dies."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing import active_children
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from hub.audit import verify_ranges
from hub.audit.entry import GENESIS_HASH
from hub.audit.findings import VerifyResult
from hub.audit.journal import CheckpointJournal
from hub.audit.keys import existing_signing_key
from hub.audit.sealing import Checkpointer
from hub.audit.verify import Progress, verify_chain
from hub.audit.verify_ranges import FLOOR, SharedSnapshot, export_snapshot, read_range
from hub.config import Settings
from hub.messages.unit_of_work import UnitOfWork
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade

ENTRIES = 60  # 12 commits of 5 entries, a checkpoint every 5
RANGE = 4  # entries per range (and per batch): many ranges on a short trail


@dataclass
class Store:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

    def sql(self, *statements: str) -> None:
        with self.engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))

    def hash_at(self, seq: int) -> str:
        with self.engine.connect() as conn:
            query = text("SELECT entry_hash FROM audit_entries WHERE seq = :seq")
            return str(conn.execute(query, {"seq": seq}).scalar_one())

    def verify(self, workers: int, progress: Progress | None = None) -> VerifyResult:
        key = existing_signing_key(self.settings)
        assert key is not None
        return verify_chain(
            self.sessions,
            public_key=key.public_key(),
            journal=CheckpointJournal.from_settings(self.settings),
            batch_size=RANGE,
            progress=progress,
            workers=workers,
        )


@pytest.fixture
def store(postgres_url: str, tmp_path: Path) -> Iterator[Store]:
    """A trail of ENTRIES entries with Arabic text and floats, checkpointed every 5."""
    settings = Settings(data_dir=tmp_path, database_url=postgres_url, audit_checkpoint_every=5)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    sealer = Checkpointer.from_settings(settings)
    for number in range(ENTRIES // 5):
        with UnitOfWork(
            sessions, correlationid=f"c-{number}", message_id=f"m-{number}", sealer=sealer
        ) as uow:
            for step in range(5):
                uow.audit(
                    "test.step",
                    owner="سالم بن حمد الحارثي",
                    zone="القرم",
                    number=number,
                    step=step,
                    latency_ms=3.25 + step,
                )
            uow.commit()
    yield Store(settings, engine, sessions)
    engine.dispose()


@pytest.fixture
def reader(store: Store) -> Iterator[SharedSnapshot]:
    """This process as a worker: a reader in the snapshot of a verifying transaction, which
    stays open (and its snapshot importable) for the test."""
    with store.sessions() as session:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        shared = export_snapshot(session)
        assert shared is not None
        verify_ranges.open_reader(shared)
        try:
            yield shared
        finally:
            verify_ranges.close_reader()


def test_an_intact_range_is_reported_with_the_hashes_asked_for(
    store: Store, reader: SharedSnapshot
) -> None:
    first = read_range(FLOOR, 1, 4, [3])
    assert first is not None
    assert (first.first_prev, first.last_hash) == (GENESIS_HASH, store.hash_at(4))
    assert first.vouched == {3: store.hash_at(3)}
    later = read_range(4, 5, 8, [5, 8])
    assert later is not None and later.first_prev == store.hash_at(4)
    assert later.vouched == {5: store.hash_at(5), 8: store.hash_at(8)}


TAMPERED_RANGES = {
    "edited detail": ['UPDATE audit_entries SET detail = \'{"zone": "روي"}\' WHERE seq = 6'],
    "deleted": ["DELETE FROM audit_entries WHERE seq = 6"],
    "relinked inside": ["UPDATE audit_entries SET prev_hash = entry_hash WHERE seq = 6"],
    "all deleted": ["DELETE FROM audit_entries WHERE seq BETWEEN 5 AND 8"],
}


@pytest.mark.parametrize("tampering", TAMPERED_RANGES)
def test_a_range_that_is_not_intact_is_not_reported(store: Store, tampering: str) -> None:
    store.sql(*TAMPERED_RANGES[tampering])
    with store.sessions() as session:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        shared = export_snapshot(session)
        assert shared is not None
        verify_ranges.open_reader(shared)
        try:
            assert read_range(FLOOR, 1, 4, []) is not None
            assert read_range(4, 5, 8, []) is None
        finally:
            verify_ranges.close_reader()


def test_a_row_numbered_below_one_spoils_the_first_range(store: Store) -> None:
    store.sql("UPDATE audit_entries SET seq = 0 WHERE seq = 2")
    with store.sessions() as session:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        shared = export_snapshot(session)
        assert shared is not None
        verify_ranges.open_reader(shared)
        try:
            assert read_range(FLOOR, 1, 4, []) is None
        finally:
            verify_ranges.close_reader()


def test_ranges_are_read_in_the_verifying_snapshot(store: Store, reader: SharedSnapshot) -> None:
    store.sql(
        "UPDATE audit_entries SET kind = 'forged' WHERE seq = 6",
        "DELETE FROM audit_entries WHERE seq = 10",
    )
    assert read_range(4, 5, 8, []) is not None
    assert read_range(8, 9, 12, []) is not None


def test_a_worker_that_cannot_join_the_snapshot_leaves_ranges_to_the_walk(store: Store) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    verify_ranges.open_reader(SharedSnapshot(url, "00000003-0000FFFF-1"))  # no such snapshot
    try:
        assert read_range(FLOOR, 1, 4, []) is None
    finally:
        verify_ranges.close_reader()


def test_a_worker_that_cannot_connect_leaves_ranges_to_the_walk(store: Store) -> None:
    url = store.engine.url.set(database="no_such_database").render_as_string(hide_password=False)
    verify_ranges.open_reader(SharedSnapshot(url, "00000003-0000FFFF-1"))
    try:
        assert read_range(FLOOR, 1, 4, []) is None
    finally:
        verify_ranges.close_reader()


TAMPERING = {
    "none": [],
    "edited at a range's start": ["UPDATE audit_entries SET kind = 'forged' WHERE seq = 9"],
    "edited at a range's end": ["UPDATE audit_entries SET actor = 'مزور' WHERE seq = 12"],
    "relinked at a range's start": [
        "UPDATE audit_entries SET prev_hash = entry_hash WHERE seq = 13"
    ],
    "a whole range deleted": ["DELETE FROM audit_entries WHERE seq BETWEEN 17 AND 20"],
    "numbered below one": ["UPDATE audit_entries SET seq = 0 WHERE seq = 1"],
    "numbered past the head": [f"UPDATE audit_entries SET seq = {ENTRIES + 5} WHERE seq = 30"],
    "tail beyond the head": ["UPDATE audit_head SET seq = 40"],
    "swapped across ranges": [
        "UPDATE audit_entries SET seq = -1 WHERE seq = 24",
        "UPDATE audit_entries SET seq = 24 WHERE seq = 25",
        "UPDATE audit_entries SET seq = 25 WHERE seq = -1",
    ],
    "checkpoint recomputed": [
        "UPDATE audit_checkpoints SET head_hash = repeat('0', 64) WHERE seq = 35"
    ],
}


@pytest.mark.parametrize("tampering", TAMPERING)
def test_workers_reading_ranges_find_what_one_process_finds(store: Store, tampering: str) -> None:
    store.sql(*TAMPERING[tampering])
    here, there = store.verify(workers=0), store.verify(workers=2)
    assert [str(p) for p in there.problems] == [str(p) for p in here.problems]
    assert (there.entries, there.unsealed) == (here.entries, here.unsealed)
    assert here.ok == (tampering == "none")


def test_changes_committed_during_the_walk_are_not_seen(store: Store) -> None:
    def meanwhile(checked: int, total: int) -> None:
        if checked == RANGE:  # the first range is in; every other one is still to be read
            store.sql(
                f"UPDATE audit_entries SET kind = 'forged' WHERE seq = {ENTRIES}",
                "DELETE FROM audit_entries WHERE seq = 30",
            )

    result = store.verify(workers=2, progress=meanwhile)
    assert result.ok, result.problems
    assert result.entries == ENTRIES
    assert not store.verify(workers=2).ok


@pytest.mark.parametrize("tampering", ["none", "a whole range deleted"])
def test_a_worker_killed_during_the_walk_changes_nothing(store: Store, tampering: str) -> None:
    store.sql(*TAMPERING[tampering])
    expected = store.verify(workers=0)
    killed: list[int] = []

    def kill_one(checked: int, total: int) -> None:
        if not killed:
            victim = active_children()[0]
            assert victim.pid is not None
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    result = store.verify(workers=2, progress=kill_one)
    assert killed
    assert [str(p) for p in result.problems] == [str(p) for p in expected.problems]
    assert result.entries == expected.entries
