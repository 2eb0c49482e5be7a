"""The inbox's peek on every delivery: one read outside a transaction on both stores (no BEGIN
and ROLLBACK round trips, issue 18), with the same verdicts as before."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from hub.contracts.envelope import new_event
from hub.messages.inbox import Inbox
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.tables import Message, MessageStatus
from tests.conftest import fresh_database


@pytest.fixture(scope="module")
def postgres_store(postgres_admin: Engine) -> Iterator[str]:
    """One database for this module's PostgreSQL cases."""
    with fresh_database(postgres_admin) as url:
        yield url


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{Path(tmp_path_factory.mktemp('peek')) / 'hub.sqlite3'}"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    engine = make_engine(request.getfixturevalue(f"{request.param}_store"))
    upgrade(engine)
    yield engine
    engine.dispose()


def _event(name: str = "محمد") -> Any:
    return new_event(
        "permit.parking.requested",
        {"applicant": name},
        dataschema="urn:test",
        correlationid=f"case-{uuid.uuid4().hex[:8]}",
        causationid=None,
    )


def _store(engine: Engine, event: Any, status: str) -> None:
    with make_session_factory(engine)() as session:
        session.add(
            Message(
                id=event.id,
                type=event.type,
                correlationid=event.correlation,
                envelope=event.to_json().decode(),
                status=status,
                attempts=1,
            )
        )
        session.commit()


def test_first_seen_message_is_let_through_unregistered(engine: Engine) -> None:
    event = _event()
    delivery = Inbox(make_session_factory(engine)).receive(event, event.to_json(), "urn:test")
    assert delivery is not None
    assert (delivery.attempt, delivery.registered) == (1, False)
    assert "محمد" in delivery.envelope


def test_a_message_with_its_outcome_is_a_duplicate(engine: Engine) -> None:
    event = _event()
    _store(engine, event, MessageStatus.DONE)
    assert Inbox(make_session_factory(engine)).receive(event, event.to_json(), "urn:test") is None


def test_postgres_peek_runs_outside_a_transaction(postgres_store: str) -> None:
    engine = make_engine(postgres_store)
    upgrade(engine)
    seen: list[tuple[str, bool]] = []

    def note(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append((statement.split()[0], conn.connection.dbapi_connection.autocommit))

    event.listen(engine, "before_cursor_execute", note)
    try:
        message = _event()
        Inbox(make_session_factory(engine)).receive(message, message.to_json(), "urn:test")
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert seen == [("SELECT", True)]
    with engine.connect() as conn:  # the pool's connections are back in their own mode
        assert conn.connection.dbapi_connection.autocommit is False
    engine.dispose()


def test_sqlite_peek_sends_no_begin(sqlite_store: str) -> None:
    engine = make_engine(sqlite_store)
    upgrade(engine)
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split()[0])

    event.listen(engine, "before_cursor_execute", note)
    try:
        message = _event()
        Inbox(make_session_factory(engine)).receive(message, message.to_json(), "urn:test")
        with make_session_factory(engine)() as session:  # other work still begins its own
            session.execute(text("SELECT 1"))
    finally:
        event.remove(engine, "before_cursor_execute", note)
        engine.dispose()
    assert seen == ["SELECT", "BEGIN", "SELECT"]
