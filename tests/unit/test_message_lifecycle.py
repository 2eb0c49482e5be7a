"""A message's life: every allowed move is made, and every other one is refused, against a
real SQLite store, by each of the ways the hub writes a status."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from hub.messages.lifecycle import (
    MESSAGES,
    NEW,
    TRANSITIONS,
    MessageLife,
    RefusedTransition,
    allowed,
    sources,
)
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.tables import Message, MessageStatus

STORED = MessageStatus.ALL
PAIRS = list(itertools.product([NEW, *STORED], STORED))
_ids = itertools.count()


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('life') / 'hub.sqlite3'}")
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def values(message_id: str) -> dict[str, object]:
    return {
        "id": message_id,
        "type": "permit.parking.requested",
        "correlationid": message_id,
        "attempts": 1,
        "envelope": "{}",
    }


def stored_in(sessions: sessionmaker[Session], state: str) -> str:
    message_id = f"m{next(_ids)}"
    with sessions.begin() as session:  # test set-up, beside the state machine on purpose
        session.execute(insert(MESSAGES), values(message_id) | {"status": state})
    return message_id


def status_of(sessions: sessionmaker[Session], message_id: str) -> str | None:
    with sessions() as session:
        return session.scalar(select(Message.status).where(Message.id == message_id))


def test_the_table_covers_every_state_and_keeps_final_states_final() -> None:
    assert set(TRANSITIONS) == {NEW, *STORED}
    assert all(target in STORED for targets in TRANSITIONS.values() for target in targets)
    for final in MessageStatus.FINAL:
        assert TRANSITIONS[final] == frozenset()
    assert sources(MessageStatus.REJECTED) == ()  # only ever a message's first state
    for target in STORED:
        assert set(sources(target)) == {s for s in STORED if allowed(s, target)}


@pytest.mark.parametrize(("before", "after"), PAIRS, ids=[f"{b}->{a}" for b, a in PAIRS])
def test_a_locked_row_moves_only_as_the_table_allows(
    sessions: sessionmaker[Session], before: str | None, after: str
) -> None:
    if before is NEW:
        message_id = f"m{next(_ids)}"
        with sessions() as session:
            if allowed(NEW, after):
                MessageLife.create(session, after, **values(message_id))
                session.commit()
                assert status_of(sessions, message_id) == after
                return
            with pytest.raises(RefusedTransition, match="was not stored") as refused:
                MessageLife.create(session, after, **values(message_id))
        assert refused.value.from_state is None
        assert status_of(sessions, message_id) is None
        return
    message_id = stored_in(sessions, before)
    with sessions() as session:
        row = session.get(Message, message_id, with_for_update=True)
        assert row is not None
        if allowed(before, after):
            MessageLife.move(row, after)
            session.commit()
            assert status_of(sessions, message_id) == after
            return
        with pytest.raises(RefusedTransition, match=f"in state '{before}'") as refused:
            MessageLife.move(row, after)
        session.commit()
    assert (refused.value.from_state, refused.value.to_state) == (before, after)
    assert status_of(sessions, message_id) == before


@pytest.mark.parametrize(("before", "after"), PAIRS, ids=[f"{b}->{a}" for b, a in PAIRS])
def test_the_guarded_update_lets_through_only_the_allowed_from_states(
    sessions: sessionmaker[Session], before: str | None, after: str
) -> None:
    """The hot path's one UPDATE: its WHERE is the table's list of from-states."""
    message_id = f"m{next(_ids)}" if before is NEW else stored_in(sessions, before)
    with sessions.begin() as session:
        moved = MessageLife.settle(session, message_id, after, last_error="x")
    # An UPDATE never creates a row: from NEW it moves nothing, whatever the table says.
    assert moved is (before is not NEW and allowed(before, after))
    assert status_of(sessions, message_id) == (after if moved else before)


@pytest.mark.parametrize("after", STORED)
def test_a_first_seen_row_is_inserted_settled_only_through_pending(
    sessions: sessionmaker[Session], after: str
) -> None:
    message_id = f"m{next(_ids)}"
    if allowed(MessageStatus.PENDING, after):
        row = MessageLife.settled_row(values(message_id), after)
        # Written with the transaction's other rows, where no column default applies.
        assert {"received_at", "updated_at", "ladder_base", "unexpected_errors"} <= set(row)
        with sessions.begin() as session:
            session.execute(insert(Message), row)
        assert status_of(sessions, message_id) == after
        return
    with pytest.raises(RefusedTransition, match="in state 'pending'"):
        MessageLife.settled_row(values(message_id), after)
