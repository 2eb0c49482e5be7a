"""A flow that raises something no rule expects (a bug): the message is counted, sent back
through the broker's delay without holding the consumer, and after the configured count it
is `failed`, acknowledged and visible to replay with a summary of its traceback. An outage of
the store is not the message's fault and is not counted."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hub.agencies.gateway import AgencyGateway
from hub.bus.outbox import OutboxRelay
from hub.bus.publisher import Publisher
from hub.bus.redelivery import RedeliveryScheduler
from hub.bus.topology import IN_EXCHANGE, declare_topology
from hub.bus.worker import LoopThread, Worker
from hub.contracts.envelope import CloudEvent
from hub.contracts.registry import ContractRegistry
from hub.flows import Agencies, FlowRegistry, Results
from hub.messages.outcome import Outcome
from hub.messages.unexpected import RETRY_IN_S
from hub.messages.unit_of_work import UnitOfWork
from hub.pipeline import Pipeline
from hub.replay.plan import Action, plan_replay
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.queries import MessageFilter, list_messages
from hub.store.tables import AuditEntry, Message, MessageHistory, MessageStatus
from tests.fakes import FakeRopConnector, FakeVehicleRegister
from tests.integration.test_pipeline import request

pytestmark = pytest.mark.timeout(90)
LIMIT = 3
BUG = "PKA-BUG"
OUTAGE = "PKA-OUTAGE"
CLASH = "PKA-CLASH"


class BuggyFlow:
    """Handles parking requests; one application number meets a bug, another a store outage."""

    handles = "permit.parking.requested"
    results: tuple[str, ...] = ()

    async def gather(self, event: CloudEvent, agencies: Agencies) -> Any:
        if event.data["application_no"] == BUG:
            return {}["missing"]  # a KeyError, as a flow's bug would raise
        if event.data["application_no"] == OUTAGE:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("store unreachable"))
        return {}

    def apply(self, event: CloudEvent, facts: Any, uow: UnitOfWork, results: Results) -> None:
        if event.data["application_no"] == CLASH:  # a record write that breaks a constraint
            raise IntegrityError("INSERT INTO records", {}, Exception("UNIQUE constraint failed"))
        uow.audit("test.applied")


@pytest.fixture(params=["sqlite", "postgres"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def buggy_pipeline(sessions: sessionmaker[Session]) -> Pipeline:
    contracts = ContractRegistry.load()
    register = FakeVehicleRegister({})
    gateway = AgencyGateway({"rop": FakeRopConnector(register)}, {"rop": register}, contracts)
    return Pipeline(
        sessions,
        contracts,
        FlowRegistry([BuggyFlow()]),
        gateway,
        [60.0],
        max_unexpected_errors=LIMIT,
    )


def message(sessions: sessionmaker[Session], message_id: str) -> Message | None:
    with sessions() as session:
        return session.get(Message, message_id)


def kinds(sessions: sessionmaker[Session], message_id: str) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry.kind)
                .where(AuditEntry.message_id == message_id)
                .order_by(AuditEntry.seq)
            )
        )


def test_a_bug_in_a_flow_fails_the_message_at_the_configured_count(
    sessions: sessionmaker[Session],
) -> None:
    pipeline = buggy_pipeline(sessions)
    body = request(application_no=BUG)
    message_id = json.loads(body)["id"]
    outcomes = []
    for _ in range(LIMIT):  # each re-published delivery comes back as a fresh one
        handled = asyncio.run(pipeline.handle(body))
        outcomes.append((handled.outcome, handled.retry_in_s))
        row = message(sessions, message_id)
        assert row is not None and row.unexpected_errors == len(outcomes)
    assert outcomes == [(Outcome.RETRY, RETRY_IN_S)] * (LIMIT - 1) + [(Outcome.FAILED, None)]
    row = message(sessions, message_id)
    assert row is not None
    assert (row.status, row.attempts) == (MessageStatus.FAILED, LIMIT)
    assert row.last_error is not None
    assert row.last_error.startswith("KeyError: 'missing' at ")
    assert "tests/integration/test_unexpected_errors.py:" in row.last_error  # the bug's line
    assert "(gather)" in row.last_error
    assert kinds(sessions, message_id).count("message.unexpected_error") == LIMIT
    assert kinds(sessions, message_id)[-1] == "message.failed"
    with sessions() as session:
        listed = list_messages(session, MessageFilter(status=MessageStatus.FAILED))
        planned = plan_replay(session, [message_id], None, force=False)
        history = list(
            session.scalars(
                select(MessageHistory.status).where(MessageHistory.message_id == message_id)
            )
        )
    assert [(m["id"], m["last_error"]) for m in listed] == [(message_id, row.last_error)]
    assert [p.decision.action for p in planned] == [Action.REDRIVE]
    assert history[-1] == MessageStatus.FAILED


def test_a_constraint_broken_by_a_flow_is_a_bug_not_a_competing_delivery(
    sessions: sessionmaker[Session],
) -> None:
    """An IntegrityError from a flow's own writes is not the inbox row of a competing
    delivery: the message is kept, counted and failed, never acknowledged as a duplicate."""
    pipeline = buggy_pipeline(sessions)
    body = request(application_no=CLASH)
    message_id = json.loads(body)["id"]
    outcomes = [asyncio.run(pipeline.handle(body)).outcome for _ in range(LIMIT)]
    assert outcomes == [Outcome.RETRY] * (LIMIT - 1) + [Outcome.FAILED]
    row = message(sessions, message_id)
    assert row is not None and row.status == MessageStatus.FAILED
    assert row.last_error is not None and row.last_error.startswith("IntegrityError")
    assert kinds(sessions, message_id).count("message.unexpected_error") == LIMIT


def test_an_outage_of_the_store_is_not_counted_against_the_message(
    sessions: sessionmaker[Session],
) -> None:
    pipeline = buggy_pipeline(sessions)
    body = request(application_no=OUTAGE)
    message_id = json.loads(body)["id"]
    for redelivered in (False, True, True, True):
        with pytest.raises(OperationalError):
            asyncio.run(pipeline.handle(body, redelivered=redelivered))
    row = message(sessions, message_id)
    assert row is not None  # each redelivery was counted as an attempt, as before
    assert (row.status, row.unexpected_errors, row.attempts) == (MessageStatus.PENDING, 0, 3)
    assert "message.unexpected_error" not in kinds(sessions, message_id)


def wait_for(check: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_the_worker_serves_other_messages_while_a_buggy_one_is_counted_out(
    tmp_path: Path,
) -> None:
    """On the embedded broker: the buggy message comes back through the redelivery delay
    (the consumer holds nothing and sleeps on nothing), the others are done meanwhile, and
    the buggy one ends failed and acknowledged."""
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    upgrade(engine)
    sessions = make_session_factory(engine)
    url = f"embedded+sqlite:///{tmp_path / 'broker.sqlite3'}"
    publisher = Publisher(url)
    declare_topology(publisher.producer.channel, url)
    loop = asyncio.new_event_loop()
    loop_thread = LoopThread(loop, executor_threads=6).start()
    stop = threading.Event()
    worker = Worker(
        url,
        buggy_pipeline(sessions),
        OutboxRelay(sessions, publisher),
        RedeliveryScheduler(publisher, url),
        loop=loop,
        prefetch=4,
        stop=stop,
    )
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        bug = request(application_no=BUG)
        bug_id = json.loads(bug)["id"]
        publisher.publish(bug, exchange=IN_EXCHANGE, routing_key="permit.parking.requested")

        def errors_of_bug() -> int:
            row = message(sessions, bug_id)
            return 0 if row is None else row.unexpected_errors

        assert wait_for(lambda: errors_of_bug() == 1)
        others = [request(application_no=f"PKA-OK-{n}") for n in range(5)]
        for body in others:
            publisher.publish(body, exchange=IN_EXCHANGE, routing_key="permit.parking.requested")
        other_ids = [json.loads(body)["id"] for body in others]

        def others_done() -> bool:
            rows = [message(sessions, i) for i in other_ids]
            return all(r is not None and r.status == MessageStatus.DONE for r in rows)

        assert wait_for(others_done)
        # Served while the buggy message waited out its redelivery delay, not after it failed.
        assert errors_of_bug() < LIMIT
        assert wait_for(lambda: errors_of_bug() == LIMIT)
        assert wait_for(lambda: worker.handled == 5 + LIMIT)  # each delivery acknowledged
        row = message(sessions, bug_id)
        assert row is not None and row.status == MessageStatus.FAILED
        assert row.last_error is not None and row.last_error.startswith("KeyError")
    finally:
        stop.set()
        thread.join(15)
        loop_thread.stop()
        worker.close()
        publisher.close()
        engine.dispose()
    assert not thread.is_alive()
    with sqlite3.connect(tmp_path / "broker.sqlite3") as db:  # nothing left to redeliver
        assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
