"""Deliveries in flight together: their agency calls overlap, their outcomes are settled in
shared transactions (group commit), and none of that changes what each delivery's outcome is.
Real SQLite and PostgreSQL stores; a fake vehicle register that answers after a delay."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from hub.agencies.gateway import AgencyGateway
from hub.audit.chain import compute_hash
from hub.audit.entry import GENESIS_HASH
from hub.contracts.envelope import parse_event
from hub.contracts.registry import ContractRegistry
from hub.flows import default_flows
from hub.messages.inbox import Delivery, Inbox
from hub.messages.outcome import Handled, Outcome
from hub.messages.settlement import GroupCommit
from hub.messages.unit_of_work import UnitOfWork
from hub.pipeline import Pipeline
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.tables import AuditEntry, Message, MessageHistory, OutboxEvent, ParkingPermit
from tests.fakes import FakeRopConnector, FakeVehicleRegister, vehicle
from tests.integration.test_pipeline import request

COUNT = 6


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def register() -> FakeVehicleRegister:
    return FakeVehicleRegister(
        {(f"{n:05d}", "AB"): vehicle(f"{n:05d}", "AB", f"0912{n:04d}") for n in range(COUNT)}
    )


@pytest.fixture
def pipeline(sessions: sessionmaker[Session], register: FakeVehicleRegister) -> Pipeline:
    contracts = ContractRegistry.load()
    gateway = AgencyGateway({"rop": FakeRopConnector(register)}, {"rop": register}, contracts)
    return Pipeline(sessions, contracts, default_flows(), gateway, [60.0])


def requests(count: int = COUNT) -> list[bytes]:
    return [
        request(
            application_no=f"PKA-2026-{n:06d}",
            plate={"number": f"{n:05d}", "code": "AB"},
            civil_id=f"0912{n:04d}",
        )
        for n in range(count)
    ]


def count(sessions: sessionmaker[Session], table: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def chain_is_intact(sessions: sessionmaker[Session]) -> bool:
    with sessions() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    previous = GENESIS_HASH
    for entry in entries:
        if entry.prev_hash != previous or compute_hash(entry) != entry.entry_hash:
            return False
        previous = entry.entry_hash
    return bool(entries)


def commits_counted(engine: Engine) -> list[int]:
    commits = [0]

    def counted(_conn: Any) -> None:
        commits[0] += 1

    event.listen(engine, "commit", counted)
    return commits


async def handle_all(pipeline: Pipeline, bodies: list[bytes]) -> list[Handled]:
    return list(await asyncio.gather(*(pipeline.handle(body) for body in bodies)))


def test_deliveries_in_flight_overlap_their_agency_calls_and_share_commits(
    pipeline: Pipeline, sessions: sessionmaker[Session], engine: Engine, register: Any
) -> None:
    register.delay_s = 0.2
    commits = commits_counted(engine)
    handled = asyncio.run(handle_all(pipeline, requests()))
    assert [h.outcome for h in handled] == [Outcome.DONE] * COUNT
    assert register.most_in_flight == COUNT  # every call was in flight at once
    # Outcomes that finished together were settled together: fewer commits than messages.
    assert commits[0] < COUNT
    assert count(sessions, ParkingPermit) == COUNT
    assert count(sessions, OutboxEvent) == COUNT
    assert count(sessions, MessageHistory) == 2 * COUNT  # received, done: one each
    assert chain_is_intact(sessions)
    with sessions() as session:
        for h in handled:
            kinds = session.scalars(
                select(AuditEntry.kind)
                .where(AuditEntry.message_id == h.message_id)
                .order_by(AuditEntry.seq)
            ).all()
            assert kinds[0] == "message.received" and kinds[-1] == "message.done"


def test_the_same_message_in_flight_twice_has_its_effect_once(
    pipeline: Pipeline, sessions: sessionmaker[Session], register: Any
) -> None:
    register.delay_s = 0.1
    body = requests(1)[0]
    outcomes = sorted(h.outcome for h in asyncio.run(handle_all(pipeline, [body, body])))
    assert outcomes == sorted([Outcome.DONE, Outcome.DUPLICATE])
    assert count(sessions, ParkingPermit) == 1
    assert count(sessions, OutboxEvent) == 1
    assert chain_is_intact(sessions)


def _settle_done(inbox: Inbox, message_id: str) -> Any:
    def work(uow: UnitOfWork) -> Handled:
        if not inbox.claim(uow, message_id, "done", agency=["rop"]):
            return Handled(Outcome.DUPLICATE, message_id)
        uow.audit("message.done")
        uow.commit()
        return Handled(Outcome.DONE, message_id)

    return work


def _crash(uow: UnitOfWork) -> Handled:
    uow.audit("never.written")
    raise RuntimeError("the flow has a bug")


def test_a_failing_outcome_is_settled_alone_and_the_others_still_commit(
    sessions: sessionmaker[Session],
) -> None:
    inbox = Inbox(sessions)
    group = GroupCommit(sessions, inbox)
    events = [parse_event(body) for body in requests(3)]
    deliveries = [Delivery(1, 1, False, "contract", body.decode()) for body in requests(3)]
    works = [_settle_done(inbox, events[0].id), _crash, _settle_done(inbox, events[2].id)]

    async def settle_all() -> list[Any]:
        return list(
            await asyncio.gather(
                *(group.settle(e, d, w) for e, d, w in zip(events, deliveries, works, strict=True)),
                return_exceptions=True,
            )
        )

    first, failed, third = asyncio.run(settle_all())
    assert (first.outcome, third.outcome) == (Outcome.DONE, Outcome.DONE)
    assert isinstance(failed, RuntimeError)
    with sessions() as session:
        assert session.get(Message, events[0].id).status == "done"  # type: ignore[union-attr]
        assert session.get(Message, events[1].id) is None  # nothing of the failed one stays
        assert session.get(Message, events[2].id).status == "done"  # type: ignore[union-attr]
        kinds = session.scalars(select(AuditEntry.kind)).all()
    assert "never.written" not in kinds
    assert chain_is_intact(sessions)


def test_an_outcome_that_never_claims_a_first_seen_message_commits_nothing(
    sessions: sessionmaker[Session],
) -> None:
    """The first-seen row is written by the claim; settling without one would commit the
    outcome's audit entries with no inbox row, so a redelivery would run the flow again."""
    inbox = Inbox(sessions)
    group = GroupCommit(sessions, inbox)
    body = requests(1)[0]
    event = parse_event(body)

    def unclaimed(uow: UnitOfWork) -> Handled:
        uow.audit("message.done")
        uow.commit()
        return Handled(Outcome.DONE, event.id)

    delivery = Delivery(1, 1, False, "contract", body.decode())
    with pytest.raises(RuntimeError, match="without a claim"):
        asyncio.run(group.settle(event, delivery, unclaimed))
    assert count(sessions, Message) == 0
    assert count(sessions, AuditEntry) == 0


def _settle_emitting(inbox: Inbox, event: Any) -> Any:
    def work(uow: UnitOfWork) -> Handled:
        assert inbox.claim(uow, event.id, "done", agency=["rop"])
        uow.emit(event.model_copy(update={"id": f"result-{event.id}", "causationid": event.id}))
        uow.commit()
        return Handled(Outcome.DONE, event.id, uow.emitted)

    return work


def test_results_are_published_after_their_commit_by_the_settling_thread(
    sessions: sessionmaker[Session],
) -> None:
    published: list[list[str]] = []

    def publish(rows: list[OutboxEvent]) -> None:
        with sessions() as session:  # committed before they are published
            assert all(session.get(OutboxEvent, row.id) is not None for row in rows)
        published.append([row.id for row in rows])

    inbox = Inbox(sessions)
    group = GroupCommit(sessions, inbox, after_commit=publish)
    bodies = requests(3)
    events = [parse_event(body) for body in bodies]

    async def settle_all() -> list[Handled]:
        return list(
            await asyncio.gather(
                *(
                    group.settle(
                        e, Delivery(1, 1, False, "c", b.decode()), _settle_emitting(inbox, e)
                    )
                    for e, b in zip(events, bodies, strict=True)
                )
            )
        )

    handled = asyncio.run(settle_all())
    assert all(h.published for h in handled)
    assert sorted(i for batch in published for i in batch) == sorted(
        f"result-{e.id}" for e in events
    )


def test_a_failed_publish_leaves_the_results_unpublished_and_the_outcome_standing(
    sessions: sessionmaker[Session],
) -> None:
    def publish(rows: list[OutboxEvent]) -> None:
        raise ConnectionError("broker gone")

    inbox = Inbox(sessions)
    group = GroupCommit(sessions, inbox, after_commit=publish)
    body = requests(1)[0]
    event = parse_event(body)
    delivery = Delivery(1, 1, False, "c", body.decode())
    handled = asyncio.run(group.settle(event, delivery, _settle_emitting(inbox, event)))
    assert handled.outcome is Outcome.DONE and not handled.published
    with sessions() as session:
        row = session.get(OutboxEvent, f"result-{event.id}")
        assert row is not None and row.sent_at is None  # left for the worker or the sweep


def test_a_competitor_registered_first_so_the_row_guard_decides(
    sessions: sessionmaker[Session],
) -> None:
    """A first-seen delivery whose message another delivery registered meanwhile: the shared
    transaction fails on the inbox row, each is settled alone, and the late one is settled
    against the existing row instead of failing."""
    inbox = Inbox(sessions)
    group = GroupCommit(sessions, inbox)
    bodies = requests(2)
    events = [parse_event(body) for body in bodies]
    competitor = inbox.receive(events[0], bodies[0], "contract", redelivered=True)
    assert competitor is not None and competitor.registered and competitor.attempt == 1
    late = Delivery(1, 1, False, "contract", bodies[0].decode())
    other = Delivery(1, 1, False, "contract", bodies[1].decode())

    async def settle_both() -> list[Handled]:
        return list(
            await asyncio.gather(
                group.settle(events[0], late, _settle_done(inbox, events[0].id)),
                group.settle(events[1], other, _settle_done(inbox, events[1].id)),
            )
        )

    assert [h.outcome for h in asyncio.run(settle_both())] == [Outcome.DONE, Outcome.DONE]
    with sessions() as session:
        row = session.get(Message, events[0].id)
        assert row is not None and row.status == "done" and row.attempts == 1
    assert chain_is_intact(sessions)


class ProcessKilled(BaseException):
    """The process dying mid-delivery: no `except Exception` in the hub handles it (an
    ordinary exception would be counted as the message's unexpected error)."""


def test_a_crash_before_the_outcome_leaves_nothing_of_a_first_delivery(
    pipeline: Pipeline, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def crash(*_args: Any) -> Handled:
        raise ProcessKilled("process killed before the commit")

    monkeypatch.setattr(pipeline._settlement, "settle", crash)
    body = requests(1)[0]
    with pytest.raises(ProcessKilled):
        asyncio.run(pipeline.handle(body))
    assert count(sessions, Message) == 0  # the broker redelivers; nothing half-done here


def test_a_redelivery_is_counted_before_the_agency_is_asked(
    pipeline: Pipeline, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broker's redelivered flag means an earlier delivery may have crashed: count this
    one first, so a message that keeps crashing the hub shows its attempts."""

    async def crash(*_args: Any) -> Handled:
        raise ProcessKilled("process killed before the commit")

    monkeypatch.setattr(pipeline._settlement, "settle", crash)
    body = requests(1)[0]
    for _ in range(2):
        with pytest.raises(ProcessKilled):
            asyncio.run(pipeline.handle(body, redelivered=True))
    with sessions() as session:
        row = session.get(Message, json.loads(body)["id"])
        assert row is not None and (row.status, row.attempts) == ("pending", 2)
