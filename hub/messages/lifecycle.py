"""A message's life as one state machine: its states, the moves allowed between them (one
table), and `MessageLife`, the only code that writes `messages.status`.

The inbox, rejections, the pipeline's settlement, unexpected errors and replay all move a
message through here, so the rules are read in one place and enforced in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Table, update
from sqlalchemy.orm import Session

from hub.errors import HubError
from hub.store.tables import Message, MessageStatus, utcnow

S = MessageStatus
NEW = None  # not yet in the store
_SETTLED_FROM_LIVE = frozenset({S.PENDING, S.RETRYING, S.FAILED, S.DEAD, S.DONE})

# From-state -> the states it may move to. A message enters as `pending` (the inbox counts
# its delivery) or `rejected` (its input is refused). While it is not final, any delivery may
# count itself (-> pending) or settle it (-> retrying, failed, dead, done); replay re-drives
# failed, dead or in-flight messages (-> pending). Done and rejected are final: nothing moves
# them again, so a message's effect happens once.
TRANSITIONS: Mapping[str | None, frozenset[str]] = {
    NEW: frozenset({S.PENDING, S.REJECTED}),
    S.PENDING: _SETTLED_FROM_LIVE,
    S.RETRYING: _SETTLED_FROM_LIVE,
    S.FAILED: _SETTLED_FROM_LIVE,
    S.DEAD: _SETTLED_FROM_LIVE,
    S.REJECTED: frozenset(),
    S.DONE: frozenset(),
}
MESSAGES = cast(Table, Message.__table__)  # Core statements: no ORM bookkeeping on the hot path


class RefusedTransition(HubError):
    """A move the message's life does not allow; names the state the message was in."""

    def __init__(self, message_id: str, from_state: str | None, to_state: str) -> None:
        self.message_id = message_id
        self.from_state = from_state
        self.to_state = to_state
        was = "not stored" if from_state is None else f"in state {from_state!r}"
        super().__init__(f"message {message_id} was {was}: it cannot move to {to_state!r}")


def allowed(from_state: str | None, to_state: str) -> bool:
    return to_state in TRANSITIONS.get(from_state, frozenset())


def sources(to_state: str) -> tuple[str, ...]:
    """The stored states a message may be in to move to `to_state` (a guard's WHERE list)."""
    return tuple(s for s, targets in TRANSITIONS.items() if s is not None and to_state in targets)


def require(message_id: str, from_state: str | None, to_state: str) -> None:
    if not allowed(from_state, to_state):
        raise RefusedTransition(message_id, from_state, to_state)


class MessageLife:
    """Every write of a message's status, each checked against `TRANSITIONS`."""

    @staticmethod
    def create(session: Session, status: str, **values: Any) -> Message:
        """A new message row (ORM) in its first state."""
        require(values["id"], NEW, status)
        row = Message(status=status, **values)
        session.add(row)
        return row

    @staticmethod
    def move(row: Message, to_state: str) -> None:
        """Move a row the caller holds (locked) or raise `RefusedTransition`."""
        require(row.id, row.status, to_state)
        row.status = to_state

    @staticmethod
    def settled_row(values: dict[str, Any], to_state: str) -> dict[str, Any]:
        """A first-seen message's row, already settled: it arrived (-> pending) and was
        settled (pending -> `to_state`) in the same transaction. Every column is given (the
        row is written with the transaction's other rows, where no default applies)."""
        require(values["id"], NEW, S.PENDING)
        require(values["id"], S.PENDING, to_state)
        now = utcnow()
        defaults = {"received_at": now, "updated_at": now, "ladder_base": 0, "unexpected_errors": 0}
        return defaults | values | {"status": to_state}

    @staticmethod
    def settle(session: Session, message_id: str, to_state: str, **values: Any) -> bool:
        """Move a stored message unless it is in a state `to_state` may not follow (another
        delivery finished it): one guarded UPDATE, its WHERE listing the allowed from-states.
        False when the guard held; the caller treats the delivery as a duplicate."""
        result = session.execute(
            update(MESSAGES)
            .where(MESSAGES.c.id == message_id, MESSAGES.c.status.in_(sources(to_state)))
            .values(values | {"status": to_state})
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
