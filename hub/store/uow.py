"""One transaction, one unit of work: record changes, audit entries, outbox results and the
message's state commit together, or none of them do."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from hub.audit.chain import AuditDraft, append_entries
from hub.envelope import CloudEvent
from hub.store.engine import WRITE_INTENT
from hub.store.tables import MessageHistory, OutboxEvent

OUT_EXCHANGE = "municipal.out"


class UnitOfWork:
    """Collects what one step of the hub changes and commits it atomically."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        correlationid: str | None = None,
        message_id: str | None = None,
        actor: str = "hub",
    ) -> None:
        self._factory = session_factory
        self.correlationid = correlationid
        self.message_id = message_id
        self.actor = actor
        self._audit: list[AuditDraft] = []
        self.emitted: list[OutboxEvent] = []
        self.committed = False
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = self._factory()
        self._session.connection(execution_options=WRITE_INTENT)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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

    def history(self, message_id: str, status: str, attempt: int, **detail: Any) -> None:
        self.session.add(
            MessageHistory(message_id=message_id, status=status, attempt=attempt, detail=detail)
        )

    def emit(self, event: CloudEvent, exchange: str = OUT_EXCHANGE) -> None:
        """Queue a result in the outbox; the relay publishes it after commit."""
        row = OutboxEvent(
            id=event.id,
            message_id=event.causationid or event.id,
            exchange=exchange,
            routing_key=event.type,
            body=event.to_json().decode("utf-8"),
        )
        self.session.add(row)
        self.emitted.append(row)
        self.audit("result.queued", event_id=event.id, type=event.type, exchange=exchange)

    def commit(self) -> None:
        append_entries(self.session, self._audit)
        self.session.commit()
        self.committed = True
