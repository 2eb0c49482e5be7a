"""Read-side queries over the message store: what `hub replay list` and the endpoints show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hub.store.tables import Message, MessageStatus


@dataclass(frozen=True)
class MessageFilter:
    status: str | None = None
    type: str | None = None
    agency: str | None = None
    correlationid: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in MessageStatus.ALL:
            raise ValueError(
                f"unknown status {self.status!r} (one of: {', '.join(MessageStatus.ALL)})"
            )


def _filtered(flt: MessageFilter) -> Select[Message]:
    query = select(Message)
    if flt.status:
        query = query.where(Message.status == flt.status)
    if flt.type:
        query = query.where(Message.type == flt.type)
    if flt.agency:
        query = query.where(Message.agency.contains(flt.agency))
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


def list_messages(session: Session, flt: MessageFilter) -> list[dict[str, Any]]:
    query = (
        _filtered(flt).order_by(Message.received_at, Message.id).limit(flt.limit).offset(flt.offset)
    )
    return [message_summary(row) for row in session.scalars(query)]
