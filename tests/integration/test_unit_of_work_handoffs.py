"""What a unit of work needs beyond its session travels on it, in plain sight: the first-seen
inbox row (`first_seen`) and the audit sealer (`sealer`). A unit refuses to commit a first-seen
row nobody claimed, and every unit the runtime opens signs checkpoints when one is due."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.sealing import Checkpointer
from hub.config import Settings
from hub.contracts.envelope import parse_event
from hub.messages.inbox import Delivery, Inbox
from hub.messages.unit_of_work import SharedTransaction, UnitOfWork
from hub.runtime.build import build_runtime
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.tables import AuditCheckpoint, Message, MessageStatus
from tests.integration.test_pipeline import request


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def first_seen(sessions: sessionmaker[Session], uow: UnitOfWork) -> str:
    event = parse_event(request())
    Inbox(sessions).register(uow, event, Delivery(1, 1, False, "c", "{}"))
    assert uow.first_seen is not None and uow.first_seen["id"] == event.id
    return event.id


def stored(sessions: sessionmaker[Session], message_id: str) -> str | None:
    with sessions() as session:
        return session.scalar(select(Message.status).where(Message.id == message_id))


def test_a_unit_refuses_to_commit_an_unclaimed_first_seen_row(
    sessions: sessionmaker[Session],
) -> None:
    with UnitOfWork(sessions) as uow:
        message_id = first_seen(sessions, uow)
        with pytest.raises(RuntimeError, match=f"{message_id} was settled without a claim"):
            uow.commit()
        uow.first_seen = None  # (so the unit may end)
    assert stored(sessions, message_id) is None


def test_a_shared_unit_that_ends_with_its_first_seen_row_unclaimed_raises(
    sessions: sessionmaker[Session],
) -> None:
    with SharedTransaction(sessions) as shared, pytest.raises(RuntimeError, match="claim"):
        with shared.unit() as uow:
            first_seen(sessions, uow)  # ... and the work returns without a claim


def test_the_claim_consumes_the_first_seen_row_and_writes_it_settled(
    sessions: sessionmaker[Session],
) -> None:
    with UnitOfWork(sessions) as uow:
        message_id = first_seen(sessions, uow)
        assert Inbox.claim(uow, message_id, MessageStatus.DONE, ["rop"])
        assert uow.first_seen is None
        uow.commit()
    assert stored(sessions, message_id) == MessageStatus.DONE


def checkpoints(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0)


def test_a_shared_transaction_signs_with_its_sealer_and_journals_only_after_commit(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    sealer = Checkpointer.from_settings(Settings(data_dir=tmp_path, audit_checkpoint_every=1))
    with SharedTransaction(sessions, sealer) as shared:
        with shared.unit() as uow:
            uow.audit("test.step")
            uow.commit()
        # not committed: rolled back on leaving
    assert checkpoints(sessions) == 0 and sealer.journal.read().checkpoints == []
    with SharedTransaction(sessions, sealer) as shared:
        with shared.unit() as uow:
            uow.audit("test.step")
            uow.commit()
        shared.commit()
    assert checkpoints(sessions) == 1
    assert [cp.seq for cp in sealer.journal.read().checkpoints] == [1]


def test_the_runtime_hands_its_sealer_to_the_pipeline(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, simulators=False, audit_checkpoint_every=1)
    with build_runtime(settings) as runtime:
        assert runtime.sealer is not None
        asyncio.run(runtime.pipeline().handle(b"not a cloud event"))  # a rejection's unit
        assert checkpoints(runtime.sessions) == 1
        assert len(runtime.sealer.journal.read().checkpoints) == 1
