"""One transaction, one unit of work: record changes, audit entries, outbox results and the
message's state commit together, or none of them do.

Several units of work may share one transaction (`SharedTransaction`, the pipeline's group
commit): each still collects its own audit entries, history and results, and they are written
together, in order, when the shared transaction commits.

History rows and outbox rows are written at commit in one bulk INSERT each, not as ORM
objects: they are only ever inserted here, and the ORM's per-object bookkeeping was a large
share of the hub's CPU per message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import TracebackType
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.chain import AuditDraft, append_entries
from hub.contracts.envelope import CloudEvent
from hub.store.bulk import insert_rows
from hub.store.engine import WRITE_INTENT
from hub.store.tables import MessageHistory, OutboxEvent

OUT_EXCHANGE = "municipal.out"
_HISTORY = cast(Table, MessageHistory.__table__)
_OUTBOX = cast(Table, OutboxEvent.__table__)


class UnitOfWork:
    """Collects what one step of the hub changes and commits it atomically."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        correlationid: str | None = None,
        message_id: str | None = None,
        actor: str = "hub",
        shared: SharedTransaction | None = None,
    ) -> None:
        self._factory = session_factory
        self._shared = shared
        self.correlationid = correlationid
        self.message_id = message_id
        self.actor = actor
        self._audit: list[AuditDraft] = []
        self.emitted: list[OutboxEvent] = []
        self._history: list[dict[str, Any]] = []
        self.committed = False
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        if self._shared is not None:
            self._session = self._shared.session
            return self
        self._session = self._factory()
        self._session.connection(execution_options=WRITE_INTENT)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._shared is None:
            if not self.committed:
                self.session.rollback()
            self.session.close()
        self._session = None

    def audit(self, kind: str, **detail: Any) -> None:
        """Record a step; it joins the chain when this unit of work commits."""
        self._audit.append(
            AuditDraft(
                kind=kind,
                detail=detail,
                correlationid=self.correlationid,
                message_id=self.message_id,
                actor=self.actor,
            )
        )

    def record_changed(self, record: str, key: str | None, before: Any, after: Any) -> None:
        """The audit entry of a record change (what `hub replay show` lists as changes),
        committed with the change itself."""
        self.audit("record.changed", record=record, key=key, before=before, after=after)

    def history(self, message_id: str, status: str, attempt: int, **detail: Any) -> None:
        """A step in the message's history (`hub replay show`); written at commit."""
        self._history.append(
            {
                "message_id": message_id,
                "status": status,
                "attempt": attempt,
                "detail": detail,
                "at": datetime.now(UTC),
            }
        )

    def emit(self, event: CloudEvent, exchange: str = OUT_EXCHANGE) -> None:
        """Queue a result in the outbox (written at commit); the relay publishes it after."""
        row = OutboxEvent(
            id=event.id,
            message_id=event.causationid or event.id,
            exchange=exchange,
            routing_key=event.type,
            body=event.to_json().decode("utf-8"),
            created_at=datetime.now(UTC),
            attempts=0,
        )
        self.emitted.append(row)
        self.audit("result.queued", event_id=event.id, type=event.type, exchange=exchange)

    def commit(self) -> None:
        """Commit now, or, inside a shared transaction, when that one commits. A unit that
        ends without `commit` must not have written (its collected entries are dropped)."""
        if self._shared is not None:
            self._shared.units.append(self)
        else:
            _write_collected(self.session, [self])
            self.session.commit()
        self.committed = True


class SharedTransaction:
    """One transaction for several units of work: one audit-head lock and one commit (one
    flush to disk) for all of them. If any unit fails, the caller rolls the whole of it back."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory
        self.units: list[UnitOfWork] = []
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("shared transaction used outside its `with` block")
        return self._session

    def unit(
        self, *, correlationid: str | None = None, message_id: str | None = None
    ) -> UnitOfWork:
        return UnitOfWork(
            self._factory, correlationid=correlationid, message_id=message_id, shared=self
        )

    def __enter__(self) -> SharedTransaction:
        self._session = self._factory()
        self._session.connection(execution_options=WRITE_INTENT)
        return self

    def commit(self) -> None:
        _write_collected(self.session, self.units)
        self.session.commit()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.rollback()  # a no-op after commit
        self.session.close()
        self._session = None


def _write_collected(session: Session, units: list[UnitOfWork]) -> None:
    """Write what the units collected: the ORM's changes first (history and results may refer
    to them), then one bulk INSERT each for history and results, then the audit chain."""
    session.flush()
    history = [row for unit in units for row in unit._history]
    results = [_outbox_values(row) for unit in units for row in unit.emitted]
    insert_rows(session, _HISTORY, history)
    insert_rows(session, _OUTBOX, results)
    append_entries(session, [draft for unit in units for draft in unit._audit])


def _outbox_values(row: OutboxEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "message_id": row.message_id,
        "exchange": row.exchange,
        "routing_key": row.routing_key,
        "body": row.body,
        "created_at": row.created_at,
        "attempts": row.attempts,
    }
