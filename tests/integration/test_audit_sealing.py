"""Checkpoints signed inside real transactions: concurrent writers leave one valid chain with
evenly spaced checkpoints, a rolled-back transaction leaves no checkpoint anywhere, and the
time trigger and the on-demand checkpoint work."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.chain import AuditDraft, append_entries
from hub.audit.sealing import Checkpointer
from hub.audit.verify import verify_store
from hub.config import Settings
from hub.messages.unit_of_work import UnitOfWork
from hub.store.engine import WRITE_INTENT, make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.tables import AuditCheckpoint

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return Settings(
        data_dir=tmp_path, database_url=url, audit_checkpoint_every=7, audit_checkpoint_seconds=3600
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def write(
    sessions: sessionmaker[Session],
    sealer: Checkpointer,
    worker: str,
    commits: int,
    per_commit: int,
) -> None:
    for number in range(commits):
        with UnitOfWork(
            sessions, correlationid=worker, message_id=f"{worker}-{number}", sealer=sealer
        ) as uow:
            for step in range(per_commit):
                uow.audit("test.step", worker=worker, number=number, step=step)
            uow.commit()


def checkpoint_seqs(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return list(session.scalars(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq)))


def test_concurrent_writers_leave_one_chain_with_evenly_spaced_checkpoints(
    settings: Settings, engine: Engine
) -> None:
    # Two "processes" (own engine, own checkpointer, shared key and file), four threads each.
    second = make_engine(settings.resolved_database_url)
    factories = [make_session_factory(engine), make_session_factory(second)]
    sealers = [Checkpointer.from_settings(settings) for _ in factories]
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [
            pool.submit(write, factories[n % 2], sealers[n % 2], f"w{n}", 15, 3) for n in range(8)
        ]
        for future in futures:
            future.result(timeout=90)
    second.dispose()
    result = verify_store(settings)
    assert result.ok, result.problems
    assert result.entries == 8 * 15 * 3
    seqs = checkpoint_seqs(factories[0])
    assert result.external_checkpoints == result.checkpoints == len(seqs) and result.unmirrored == 0
    # Under the head lock every commit sees the newest checkpoint: never closer than 7 apart,
    # never further than 7 - 1 + 3 (a commit adds three entries).
    gaps = [later - earlier for earlier, later in zip(seqs, seqs[1:], strict=False)]
    assert gaps and all(7 <= gap <= 9 for gap in gaps), gaps


def test_rolled_back_transaction_leaves_no_checkpoint_in_either_place(
    settings: Settings, engine: Engine
) -> None:
    sessions = make_session_factory(engine)
    checkpointer = Checkpointer.from_settings(settings)
    with sessions() as session:
        session.connection(execution_options=WRITE_INTENT)
        sealed = []
        append_entries(
            session,
            [AuditDraft("test.step", {"n": 1})],
            lambda seq, head: sealed.append(checkpointer.seal_if_due(session, seq, head)),
        )
        assert [cp.seq for cp in sealed if cp is not None] == [1]  # due, signed, not published
        session.rollback()
    assert checkpoint_seqs(sessions) == []
    assert checkpointer.journal.read().checkpoints == []
    write(sessions, checkpointer, "w", 1, 2)
    assert checkpoint_seqs(sessions) == [2]
    assert [cp.seq for cp in checkpointer.journal.read().checkpoints] == [2]


def test_time_trigger_and_on_demand_checkpoint(settings: Settings, engine: Engine) -> None:
    now = [T0]
    base = Checkpointer.from_settings(settings.model_copy(update={"audit_checkpoint_every": 1000}))
    checkpointer = Checkpointer(base.signer, base.policy, base.journal, clock=lambda: now[0])
    sessions = make_session_factory(engine)
    write(sessions, checkpointer, "w", 1, 1)  # the first entry is checkpointed at once
    now[0] = T0 + timedelta(seconds=59)
    write(sessions, checkpointer, "w", 1, 1)
    assert checkpoint_seqs(sessions) == [1]
    now[0] = T0 + timedelta(seconds=3600)
    write(sessions, checkpointer, "w", 1, 1)
    assert checkpoint_seqs(sessions) == [1, 3]
    write(sessions, checkpointer, "w", 1, 1)
    sealed = checkpointer.seal_now(sessions)
    assert sealed is not None and sealed.seq == 4
    assert checkpointer.seal_now(sessions) is None  # the head is already covered
    assert [cp.seq for cp in checkpointer.journal.read().checkpoints] == [1, 3, 4]
