"""Export audit entries as JSON-ready records: one business case, or everything since a time.

Each record carries its hashes, so whoever receives a case can recheck every entry on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.entry import StoredEntry
from hub.store.tables import AuditEntry

BATCH_SIZE = 1000


def entry_record(entry: AuditEntry) -> dict[str, Any]:
    """The export record of a stored entry (`hub.audit.entry`: what its hash covers, and it)."""
    return StoredEntry.of(entry).record()


def export_case(sessions: sessionmaker[Session], correlation_id: str) -> Iterator[dict[str, Any]]:
    """Every entry of one business case, in chain order."""
    return export_entries(sessions, correlation_id=correlation_id)


def export_since(sessions: sessionmaker[Session], since: datetime) -> Iterator[dict[str, Any]]:
    """Every entry recorded at or after `since`, in chain order."""
    return export_entries(sessions, since=since)


def export_entries(
    sessions: sessionmaker[Session],
    *,
    correlation_id: str | None = None,
    since: datetime | None = None,
    batch_size: int = BATCH_SIZE,
) -> Iterator[dict[str, Any]]:
    """Entries matching both filters, a batch per query so a long trail streams."""
    query = select(AuditEntry).order_by(AuditEntry.seq).limit(batch_size)
    if correlation_id is not None:
        query = query.where(AuditEntry.correlationid == correlation_id)
    if since is not None:
        # recorded_at is an ISO 8601 UTC string (always +00:00): text order is time order.
        query = query.where(AuditEntry.recorded_at >= since.astimezone(UTC).isoformat())
    after = None
    with sessions() as session:
        while True:
            page = query if after is None else query.where(AuditEntry.seq > after)
            entries = list(session.scalars(page))
            if not entries:
                return
            yield from (entry_record(entry) for entry in entries)
            after = entries[-1].seq
            session.expunge_all()
