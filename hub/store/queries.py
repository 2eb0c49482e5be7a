"""Read-side queries over the message store: what `hub replay list`, `show` and `run` select."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from hub.store.tables import (
    AuditEntry,
    Message,
    MessageHistory,
    MessageReplay,
    MessageStatus,
    OutboxEvent,
    ReplayMode,
    SealedExchange,
)

CHUNK = 500  # ids per IN (...) list, well under every engine's bind-parameter limit


@dataclass(frozen=True)
class MessageFilter:
    """Which messages an operator means; `limit=None` means all of them (replay run)."""

    status: str | None = None
    type: str | None = None
    agency: str | None = None
    correlationid: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = 100
    offset: int = 0

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in MessageStatus.ALL:
            raise ValueError(
                f"unknown status {self.status!r} (one of: {', '.join(MessageStatus.ALL)})"
            )
        if self.since and self.until and self.since >= self.until:
            raise ValueError("--since must be before --until")

    @property
    def selects_anything_specific(self) -> bool:
        """False when no filter is set: a bulk replay of the whole store is never implied."""
        return any(
            (self.status, self.type, self.agency, self.correlationid, self.since, self.until)
        )


def _agency_is(agency: str) -> ColumnElement[bool]:
    """`agency` holds one agency, or several comma-joined on a done message: match whole names.
    Escaped: `%` and `_` in the operator's value match only themselves, never as wildcards."""
    return or_(
        Message.agency == agency,
        Message.agency.startswith(f"{agency},", autoescape=True),
        Message.agency.endswith(f",{agency}", autoescape=True),
        Message.agency.contains(f",{agency},", autoescape=True),
    )


def _filtered(flt: MessageFilter) -> Select[Message]:
    query = select(Message)
    if flt.status:
        query = query.where(Message.status == flt.status)
    if flt.type:
        query = query.where(Message.type == flt.type)
    if flt.agency:
        query = query.where(_agency_is(flt.agency))
    if flt.correlationid:
        query = query.where(Message.correlationid == flt.correlationid)
    if flt.since:
        query = query.where(Message.received_at >= flt.since)
    if flt.until:
        query = query.where(Message.received_at < flt.until)
    return query


def message_summary(row: Message) -> dict[str, Any]:
    """One message as `hub replay list --json` prints it."""
    return {
        "id": row.id,
        "type": row.type,
        "status": row.status,
        "correlationid": row.correlationid,
        "agency": row.agency,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "received_at": row.received_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def select_messages(session: Session, flt: MessageFilter) -> list[Message]:
    """The filtered messages, oldest first, one page (or all when `limit` is None)."""
    query = _filtered(flt).order_by(Message.received_at, Message.id).offset(flt.offset)
    if flt.limit is not None:
        query = query.limit(flt.limit)
    return list(session.scalars(query))


def list_messages(session: Session, flt: MessageFilter) -> list[dict[str, Any]]:
    return [message_summary(row) for row in select_messages(session, flt)]


def count_messages(session: Session, flt: MessageFilter) -> int:
    """How many messages the filter matches across all pages."""
    subquery = _filtered(flt).with_only_columns(Message.id).subquery()
    return int(session.scalar(select(func.count()).select_from(subquery)) or 0)


def find_messages(session: Session, ident: str) -> list[Message]:
    """The message with this event id, else every message of the case with this correlation id."""
    row = session.get(Message, ident)
    if row is not None:
        return [row]
    query = (
        select(Message)
        .where(Message.correlationid == ident)
        .order_by(Message.received_at, Message.id)
    )
    return list(session.scalars(query))


def history_of(session: Session, message_id: str) -> list[MessageHistory]:
    query = select(MessageHistory).where(MessageHistory.message_id == message_id)
    return list(session.scalars(query.order_by(MessageHistory.id)))


def audit_of(session: Session, message_id: str) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.message_id == message_id)
    return list(session.scalars(query.order_by(AuditEntry.seq)))


def results_of(session: Session, message_id: str) -> list[OutboxEvent]:
    """The results a message caused (its outbox rows), in the order they were committed."""
    query = select(OutboxEvent).where(OutboxEvent.message_id == message_id)
    return list(session.scalars(query.order_by(OutboxEvent.created_at, OutboxEvent.id)))


def sealed_exchanges_of(session: Session, message_id: str) -> list[SealedExchange]:
    """The sealed agency requests and replies a message caused, in the order they were kept."""
    query = select(SealedExchange).where(SealedExchange.message_id == message_id)
    return list(session.scalars(query.order_by(SealedExchange.id)))


def replays_of(session: Session, message_id: str) -> list[MessageReplay]:
    query = select(MessageReplay).where(MessageReplay.message_id == message_id)
    return list(session.scalars(query.order_by(MessageReplay.requested_at, MessageReplay.id)))


def unpublished_redrives(session: Session, message_ids: list[str]) -> set[str]:
    """Messages whose last re-drive was committed but never published (the replay crashed)."""
    found: set[str] = set()
    for start in range(0, len(message_ids), CHUNK):
        query = select(MessageReplay.message_id).where(
            MessageReplay.message_id.in_(message_ids[start : start + CHUNK]),
            MessageReplay.mode == ReplayMode.REDRIVE,
            MessageReplay.published_at.is_(None),
        )
        found.update(session.scalars(query))
    return found
