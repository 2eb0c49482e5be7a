"""The inbox: one row per message id, counting its deliveries and guarding its outcome, so a
message redelivered, sent twice or taken by two workers has its effect once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.sealing import Checkpointer
from hub.contracts.envelope import CloudEvent, body_to_text
from hub.messages.lifecycle import MESSAGES, MessageLife
from hub.messages.marker import ReplayMarker
from hub.messages.unit_of_work import UnitOfWork
from hub.store.engine import single_read
from hub.store.tables import Message, MessageStatus


@dataclass(frozen=True)
class Delivery:
    """A delivery the inbox let through: its attempt and its step on the retry ladder.

    `registered` is False the first time a message is seen: its row is then written in the
    same transaction as its outcome, saving a commit on the common path. A crash before that
    commit leaves nothing behind; the broker redelivers (flagged redelivered), and a
    redelivery is always registered before the agencies are asked, so it is counted.
    """

    attempt: int
    ladder_step: int
    registered: bool
    contract_id: str
    envelope: str


class Inbox:
    def __init__(self, sessions: sessionmaker[Session], sealer: Checkpointer | None = None) -> None:
        self._sessions = sessions
        self._sealer = sealer
        self._engine: Engine = sessions.kw["bind"]
        self._peek_engine = single_read(self._engine)  # the peek: one SELECT, no transaction

    def receive(
        self,
        event: CloudEvent,
        body: bytes,
        contract_id: str,
        replay: ReplayMarker | None = None,
        redelivered: bool = False,
    ) -> Delivery | None:
        """Let a delivery through, or None when its message already has its outcome."""
        if replay is None and not redelivered:
            with self._peek_engine.connect() as conn:  # a read on every delivery: no ORM session
                status = conn.scalar(select(MESSAGES.c.status).where(MESSAGES.c.id == event.id))
            if status is None:
                return Delivery(1, 1, False, contract_id, body_to_text(body))
            if status in MessageStatus.FINAL:
                return None
        return self._register_now(event, body, contract_id, replay)

    def _register_now(
        self, event: CloudEvent, body: bytes, contract_id: str, replay: ReplayMarker | None
    ) -> Delivery | None:
        """Count the delivery in a commit of its own, before any agency is asked."""
        for _ in range(2):
            try:
                with UnitOfWork(
                    self._sessions,
                    correlationid=event.correlation,
                    message_id=event.id,
                    sealer=self._sealer,
                ) as uow:
                    row = uow.session.get(Message, event.id, with_for_update=True)
                    if row is not None and row.status in MessageStatus.FINAL:
                        return None
                    if row is None:
                        row = self._add_row(uow, event, body_to_text(body), contract_id, 0)
                    row.attempts += 1
                    MessageLife.move(row, MessageStatus.PENDING)
                    replayed = {"replay": replay.as_detail()} if replay else {}
                    uow.history(event.id, MessageStatus.PENDING, row.attempts, **replayed)
                    if replay is not None:
                        uow.audit("replay.delivered", attempt=row.attempts, **replay.as_detail())
                    delivery = Delivery(
                        row.attempts,
                        row.attempts - (row.ladder_base or 0),
                        True,
                        contract_id,
                        row.envelope,
                    )
                    uow.commit()
                    return delivery
            except IntegrityError:
                continue  # a competing worker inserted it first; read it again
        raise RuntimeError(f"could not register message {event.id}")

    def has_row(self, message_id: str) -> bool:
        """Whether the message's row is written (by a competing delivery, when this one's
        insert of it failed)."""
        with self._sessions() as session:
            return session.get(Message, message_id) is not None

    def register(self, uow: UnitOfWork, event: CloudEvent, delivery: Delivery) -> None:
        """Hand a first-seen message's row to its outcome's unit (`uow.first_seen`). `claim`
        writes it, with its outcome, in one INSERT; that raises IntegrityError when a competing
        delivery wrote the row first. The unit refuses to commit until it is claimed."""
        uow.first_seen = _row_values(event, delivery.envelope, delivery.attempt)
        self._audit_arrival(uow, event, delivery.contract_id)
        uow.history(event.id, MessageStatus.PENDING, delivery.attempt)

    @staticmethod
    def _add_row(
        uow: UnitOfWork, event: CloudEvent, envelope: str, contract_id: str, attempts: int
    ) -> Message:
        values = _row_values(event, envelope, attempts)
        row = MessageLife.create(uow.session, values.pop("status"), **values)
        Inbox._audit_arrival(uow, event, contract_id)
        return row

    @staticmethod
    def add_row(uow: UnitOfWork, event: CloudEvent, delivery: Delivery) -> Message:
        """Write a first-seen message's row now, `pending`, counting this delivery."""
        return Inbox._add_row(uow, event, delivery.envelope, delivery.contract_id, delivery.attempt)

    @staticmethod
    def _audit_arrival(uow: UnitOfWork, event: CloudEvent, contract_id: str) -> None:
        uow.audit("message.received", type=event.type, source=event.source)
        uow.audit("message.validated", contract=contract_id)

    @staticmethod
    def uncount_attempt(uow: UnitOfWork, message_id: str) -> None:
        """Take back this delivery's attempt: it never reached the agency (circuit open)."""
        for row in uow.settled_messages:
            if row["id"] == message_id:  # first seen: its row is not written yet
                row["attempts"] -= 1
                return
        uow.session.execute(
            update(MESSAGES)
            .where(MESSAGES.c.id == message_id)
            .values(attempts=MESSAGES.c.attempts - 1)
        )

    @staticmethod
    def claim(
        uow: UnitOfWork,
        message_id: str,
        status: str,
        agency: list[str],
        last_error: str | None = None,
    ) -> bool:
        """Move the message to a final or waiting state unless another delivery finished it.
        A first-seen message's row is inserted here, already in that state."""
        values = {"agency": ",".join(agency)[:50] or None, "last_error": last_error}
        first_seen = uow.first_seen
        if first_seen is not None and first_seen["id"] == message_id:
            uow.first_seen = None
            # Written at commit, in the statement that writes the transaction's other rows; a
            # competing delivery's row makes that statement (so the commit) fail instead.
            uow.settled_messages.append(MessageLife.settled_row(first_seen | values, status))
            return True
        return MessageLife.settle(uow.session, message_id, status, **values)


def _row_values(event: CloudEvent, envelope: str, attempts: int) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "source": event.source,
        "correlationid": event.correlation,
        "causationid": event.causationid,
        "status": MessageStatus.PENDING,
        "attempts": attempts,
        "envelope": envelope,
    }
