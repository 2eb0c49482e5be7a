"""Unexpected errors: a flow that raises something no rule expects (a bug, not an agency's
answer) is counted against its message; at the limit the message is `failed`, acknowledged
and left for an operator (`hub replay list --status failed`, `hub replay run`) with a summary
of the traceback, instead of being redelivered forever.

Infrastructure outages (the store unreachable) are not the message's fault: they are not
counted, and the delivery goes back to the broker as before.
"""

from __future__ import annotations

import traceback
from pathlib import PurePath

import structlog
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.exc import InterfaceError as DbInterfaceError
from sqlalchemy.exc import OperationalError as DbOperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.sealing import Checkpointer
from hub.contracts.envelope import CloudEvent
from hub.messages.inbox import Delivery, Inbox
from hub.messages.lifecycle import MessageLife
from hub.messages.outcome import Handled, Outcome
from hub.messages.unit_of_work import UnitOfWork
from hub.store.tables import Message, MessageStatus

log = structlog.get_logger("hub.pipeline")
RETRY_IN_S = 1.0  # back to the queue through the broker's delay, not on a sleeping thread
SUMMARY_FRAMES = 3
SUMMARY_MAX = 2000


def is_infrastructure(exc: BaseException) -> bool:
    """An outage of what the hub runs on (the store, the network), not a fault of the message."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(
        exc, DbOperationalError | DbInterfaceError | DisconnectionError | PoolTimeout | OSError
    )


def summarise(exc: BaseException, frames: int = SUMMARY_FRAMES) -> str:
    """`Class: message` and the innermost frames as file:line (function), innermost first."""
    stack = traceback.extract_tb(exc.__traceback__)[-frames:]
    where = " < ".join(f"{_short(f.filename)}:{f.lineno} ({f.name})" for f in reversed(stack))
    text = f"{type(exc).__name__}: {exc}" + (f" at {where}" if where else "")
    return text[:SUMMARY_MAX]


def _short(filename: str) -> str:
    """The path from the package down (`hub/flows/x.py`), not the machine's."""
    parts = PurePath(filename).parts
    for anchor in ("hub", "connectors", "tests"):
        if anchor in parts:
            return "/".join(parts[len(parts) - 1 - parts[::-1].index(anchor) :])
    return PurePath(filename).name


class UnexpectedErrors:
    """Counts one message's unexpected errors, in a transaction of its own."""

    def __init__(
        self, sessions: sessionmaker[Session], limit: int, sealer: Checkpointer | None = None
    ) -> None:
        self._sessions = sessions
        self._limit = limit
        self._sealer = sealer

    def record(self, event: CloudEvent, delivery: Delivery, exc: BaseException) -> Handled:
        """Count the error; `failed` at the limit, else back to the queue after `RETRY_IN_S`."""
        summary = summarise(exc)
        for _ in range(2):
            try:
                return self._record(event, delivery, exc, summary)
            except IntegrityError:
                continue  # a competing delivery wrote the first-seen row first; count on it
        raise RuntimeError(f"could not record the unexpected error of message {event.id}")

    def _record(
        self, event: CloudEvent, delivery: Delivery, exc: BaseException, summary: str
    ) -> Handled:
        with UnitOfWork(
            self._sessions,
            correlationid=event.correlation,
            message_id=event.id,
            sealer=self._sealer,
        ) as uow:
            row = uow.session.get(Message, event.id, with_for_update=True)
            if row is None:  # first seen, and its outcome's transaction never committed
                row = Inbox.add_row(uow, event, delivery)
            if row.status in MessageStatus.FINAL:
                return Handled(Outcome.DUPLICATE, event.id)  # another delivery finished it
            row.unexpected_errors = (row.unexpected_errors or 0) + 1
            row.last_error = summary
            failed = row.unexpected_errors >= self._limit
            if failed:
                MessageLife.move(row, MessageStatus.FAILED)
            detail = {
                "error": summary,
                "error_class": type(exc).__name__,
                "count": row.unexpected_errors,
                "limit": self._limit,
                "attempt": delivery.attempt,
            }
            uow.audit("message.unexpected_error", **detail)
            status = MessageStatus.FAILED if failed else MessageStatus.PENDING
            uow.history(event.id, status, delivery.attempt, unexpected_error=summary)
            if failed:
                uow.audit("message.failed", error=summary, attempt=delivery.attempt)
            uow.commit()
        log.error("message.unexpected_error", failed=failed, **detail)
        if failed:
            return Handled(Outcome.FAILED, event.id)
        return Handled(Outcome.RETRY, event.id, retry_in_s=RETRY_IN_S)
