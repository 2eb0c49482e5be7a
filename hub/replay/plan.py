"""What a replay does to each message: one small rule over the message's status, applied the
same way by `--dry-run` (to say what would happen) and by the run (on the locked row)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from hub.errors import HubError
from hub.store.queries import (
    MessageFilter,
    find_messages,
    select_messages,
    unpublished_redrives,
)
from hub.store.tables import Message, MessageStatus, ReplayMode


class UnknownMessage(HubError):
    """No message has this event id or correlation id."""


class Action(StrEnum):
    REDRIVE = ReplayMode.REDRIVE
    REPUBLISH = ReplayMode.REPUBLISH
    SKIP = "skip"


@dataclass(frozen=True)
class Decision:
    action: Action
    why: str


IN_FLIGHT = (MessageStatus.PENDING, MessageStatus.RETRYING)


def decide(status: str, *, force: bool, interrupted: bool = False) -> Decision:
    """The replay rule. Dead and failed messages are re-driven through their flow with a fresh
    retry ladder. A final message (done, rejected) is never re-run: its effect happened once
    and stays once; `--force` re-publishes its stored results instead. A message still in
    flight is left to the broker unless `--force`, or unless an earlier replay of it was
    committed but never published (that replay is finished now)."""
    if status in (MessageStatus.DEAD, MessageStatus.FAILED):
        return Decision(Action.REDRIVE, f"{status}: re-driven with a fresh retry ladder")
    if status in IN_FLIGHT:
        if interrupted:
            return Decision(Action.REDRIVE, "an earlier replay was interrupted before publishing")
        if force:
            return Decision(Action.REDRIVE, f"{status}: re-driven now (--force)")
        return Decision(Action.SKIP, f"in flight ({status}); --force re-drives it now")
    if status == MessageStatus.DONE:
        if force:
            return Decision(Action.REPUBLISH, "done: its stored result is re-published (--force)")
        return Decision(Action.SKIP, "already done; --force re-publishes its result")
    if status == MessageStatus.REJECTED:
        if force:
            return Decision(Action.REPUBLISH, "rejected: its rejection is re-published (--force)")
        return Decision(Action.SKIP, "rejected: it would be rejected again")
    return Decision(Action.SKIP, f"unknown status {status!r}")


@dataclass(frozen=True)
class PlannedReplay:
    """One message of a replay and what would be done to it."""

    message_id: str
    type: str | None
    status: str
    agency: str | None
    correlationid: str
    decision: Decision

    def as_dict(self) -> dict[str, str | None]:
        return {
            "id": self.message_id,
            "type": self.type,
            "status": self.status,
            "agency": self.agency,
            "correlationid": self.correlationid,
            "action": self.decision.action.value,
            "why": self.decision.why,
        }


def select_for_replay(session: Session, ids: list[str], flt: MessageFilter | None) -> list[Message]:
    """The messages named by event or correlation ids, or else every one the filter matches."""
    if ids:
        chosen: dict[str, Message] = {}
        for ident in ids:
            found = find_messages(session, ident)
            if not found:
                raise UnknownMessage(f"no message has the id or correlation id {ident!r}")
            chosen.update((row.id, row) for row in found)
        return list(chosen.values())
    if flt is None or not flt.selects_anything_specific:
        raise ValueError("name message ids or at least one filter (--status, --agency, ...)")
    return select_messages(session, flt)


def plan_replay(
    session: Session, ids: list[str], flt: MessageFilter | None, *, force: bool
) -> list[PlannedReplay]:
    """What a replay of these messages would do, message by message (changes nothing)."""
    rows = select_for_replay(session, ids, flt)
    interrupted = unpublished_redrives(session, [r.id for r in rows if r.status in IN_FLIGHT])
    return [
        PlannedReplay(
            row.id,
            row.type,
            row.status,
            row.agency,
            row.correlationid,
            decide(row.status, force=force, interrupted=row.id in interrupted),
        )
        for row in rows
    ]
