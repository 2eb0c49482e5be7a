"""One transaction, one unit of work: record changes, audit entries, outbox results and the
message's state commit together, or none of them do.

A unit carries explicitly what its commit needs beyond the session: the `sealer` that signs an
audit checkpoint when one is due (its row commits with the entries it vouches for, its line in
the external journal is written after the commit, never after a rollback), and `first_seen`,
the inbox row of a message seen for the first time, which the inbox's claim settles with the
message's outcome (`settled_messages`) and the commit writes with the unit's other rows.

Several units of work may share one transaction (`SharedTransaction`, the pipeline's group
commit): each still collects its own audit entries, history and results, and they are written
together, in order, when the shared transaction commits.

History rows and outbox rows are written at commit in bulk, not as ORM objects: they are only
ever inserted here, and the ORM's per-object bookkeeping was a large share of the hub's CPU per
message. On PostgreSQL they travel with the audit entries and the head's update in one
statement (`hub.store.bulk.write_together`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import TracebackType
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.chain import AuditDraft, append_entries
from hub.audit.checkpoint import Checkpoint
from hub.audit.sealing import Checkpointer
from hub.contracts.envelope import CloudEvent
from hub.store.engine import WRITE_INTENT
from hub.store.records import Records
from hub.store.tables import Message, MessageHistory, OutboxEvent

OUT_EXCHANGE = "municipal.out"
_MESSAGES = cast(Table, Message.__table__)
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
        sealer: Checkpointer | None = None,
    ) -> None:
        """`sealer` signs audit checkpoints when due (None: this store signs none); a unit
        of a shared transaction uses the transaction's."""
        self._factory = session_factory
        self._shared = shared
        self.sealer = shared.sealer if shared is not None else sealer
        # A first-seen message's inbox row (`Inbox.register`), to be written by `Inbox.claim`
        # with the outcome; the unit refuses to commit or end while it is still pending.
        self.first_seen: dict[str, Any] | None = None
        # First-seen messages' rows as `Inbox.claim` settled them, written at commit.
        self.settled_messages: list[dict[str, Any]] = []
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

    @property
    def records(self) -> Records:
        """The municipal records, read and changed in this unit's transaction."""
        return Records(self.session)

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
        if exc_type is None:
            self._check_claimed()

    def _check_claimed(self) -> None:
        """A first-seen message whose row was never written would be lost: refuse."""
        if self.first_seen is not None:
            raise RuntimeError(f"message {self.first_seen['id']} was settled without a claim")

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
        self._check_claimed()
        if self._shared is not None:
            self._shared.units.append(self)
        else:
            checkpoint = _write_collected(self.session, [self], self.sealer)
            self.session.commit()
            _publish(self.sealer, checkpoint)
        self.committed = True


class SharedTransaction:
    """One transaction for several units of work: one audit-head lock and one commit (one
    flush to disk) for all of them. If any unit fails, the caller rolls the whole of it back."""

    def __init__(
        self, session_factory: sessionmaker[Session], sealer: Checkpointer | None = None
    ) -> None:
        self._factory = session_factory
        self.sealer = sealer
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
        checkpoint = _write_collected(self.session, self.units, self.sealer)
        self.session.commit()
        _publish(self.sealer, checkpoint)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.rollback()  # a no-op after commit
        self.session.close()
        self._session = None


def _write_collected(
    session: Session, units: list[UnitOfWork], sealer: Checkpointer | None
) -> Checkpoint | None:
    """Write what the units collected: the ORM's changes first (history and results may refer
    to them), then history, results and the audit chain (one statement on PostgreSQL), and a
    checkpoint row when one is due (the one to journal once the commit succeeded)."""
    session.flush()
    messages = [row for unit in units for row in unit.settled_messages]
    history = [row for unit in units for row in unit._history]
    results = [_outbox_values(row) for unit in units for row in unit.emitted]
    sealed: list[Checkpoint] = []

    def seal(head_seq: int, head_hash: str) -> None:  # under the audit head lock
        if sealer is not None and (checkpoint := sealer.seal_if_due(session, head_seq, head_hash)):
            sealed.append(checkpoint)

    drafts = [draft for unit in units for draft in unit._audit]
    alongside = [(_MESSAGES, messages), (_HISTORY, history), (_OUTBOX, results)]
    append_entries(session, drafts, seal, alongside=alongside)
    return sealed[-1] if sealed else None


def _publish(sealer: Checkpointer | None, checkpoint: Checkpoint | None) -> None:
    """The committed checkpoint's line in the external journal (after the commit only)."""
    if sealer is not None and checkpoint is not None:
        sealer.publish(checkpoint)


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
