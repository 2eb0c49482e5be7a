"""The outbox relay marks published results sent in batches: a row published but not yet
marked is never published again by the sweep, and a mark the store refused is kept for the
next try. Real SQLite store and embedded broker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kombu import Connection, Queue
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from hub.bus.outbox import OutboxRelay
from hub.bus.publisher import Publisher
from hub.bus.topology import OUT_EXCHANGE
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.tables import OutboxEvent

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def broker_url(tmp_path: Path) -> str:
    return f"embedded+sqlite:///{tmp_path / 'broker.sqlite3'}"


@pytest.fixture
def results(broker_url: str) -> Iterator[Queue]:
    """A subscriber's queue on municipal.out, declared before anything is published."""
    queue = Queue("test.results", exchange=OUT_EXCHANGE, routing_key="#", durable=True)
    with Connection(broker_url) as conn:
        queue(conn.default_channel).declare()
    yield queue


def received(broker_url: str, queue: Queue) -> list[str]:
    bodies = []
    with Connection(broker_url) as conn:
        bound = queue(conn.default_channel)
        while (message := bound.get(no_ack=True)) is not None:
            body = message.body
            bodies.append(body.decode() if isinstance(body, bytes) else body)
    return bodies


def committed_row(sessions: sessionmaker[Session], event_id: str, age_s: float = 0) -> OutboxEvent:
    row = OutboxEvent(
        id=event_id,
        message_id=f"cause-{event_id}",
        exchange=OUT_EXCHANGE.name,
        routing_key="permit.test.completed",
        body=f'{{"id": "{event_id}", "note": "نتيجة"}}',
        created_at=datetime.now(UTC) - timedelta(seconds=age_s),
    )
    with sessions.begin() as session:
        session.add(row)
    return row


def sent_at(sessions: sessionmaker[Session], event_id: str) -> datetime | None:
    with sessions() as session:
        row = session.get(OutboxEvent, event_id)
        assert row is not None
        return row.sent_at


def test_a_result_is_marked_sent_at_the_next_batch_not_per_publish(
    sessions: sessionmaker[Session], broker_url: str, results: Queue
) -> None:
    with Publisher(broker_url) as publisher:
        relay = OutboxRelay(sessions, publisher)
        rows = [committed_row(sessions, f"r{n}") for n in range(3)]
        assert relay.publish(rows, mark_now=False) == 3
        assert [sent_at(sessions, r.id) for r in rows] == [None, None, None]
        assert relay.mark_sent() == 3
        assert all(sent_at(sessions, r.id) is not None for r in rows)
        assert relay.mark_sent() == 0  # nothing left to mark
    bodies = received(broker_url, results)
    assert len(bodies) == 3 and all("نتيجة" in body for body in bodies)


def test_the_sweep_leaves_alone_a_result_published_and_awaiting_its_mark(
    sessions: sessionmaker[Session], broker_url: str, results: Queue
) -> None:
    with Publisher(broker_url) as publisher:
        relay = OutboxRelay(sessions, publisher)
        awaiting = committed_row(sessions, "awaiting", age_s=60)
        relay.publish([awaiting], mark_now=False)
        committed_row(sessions, "lost-by-a-crash", age_s=60)
        assert relay.sweep(older_than_s=5) == 1  # only the row nobody published
        assert sent_at(sessions, "awaiting") is not None  # marked with the sweep's batch
        assert sent_at(sessions, "lost-by-a-crash") is not None
    bodies = received(broker_url, results)
    assert sorted('"awaiting"' in b for b in bodies) == [False, True]  # each published once


def test_a_refused_mark_is_kept_for_the_next_try(
    sessions: sessionmaker[Session], broker_url: str, results: Queue
) -> None:
    with Publisher(broker_url) as publisher:
        relay = OutboxRelay(sessions, publisher)
        row = committed_row(sessions, "r1")
        relay.publish([row], mark_now=False)
        with sessions.begin() as session:  # the store refuses the update
            session.execute(text("ALTER TABLE outbox RENAME TO outbox_away"))
        with pytest.raises(Exception, match="outbox"):
            relay.mark_sent()
        relay.mark_sent_safely()  # logs, does not raise, keeps the mark
        with sessions.begin() as session:
            session.execute(text("ALTER TABLE outbox_away RENAME TO outbox"))
        assert relay.mark_sent() == 1
        assert sent_at(sessions, "r1") is not None
