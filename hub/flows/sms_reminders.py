"""The reminder SMS a set number of minutes before a parking booking ends, exactly once per end
time, whichever worker sweeps and however often.

A sweep claims the due bookings with one UPDATE ... WHERE reminded_at IS NULL (RETURNING the
row as it is now) and, in the same transaction, queues each reminder through the outbox as an
`sms.reply.requested` that SmsReplyFlow sends. Two sweeps at once: the second UPDATE waits for
the first's row locks (PostgreSQL re-checks its WHERE on the committed rows; SQLite takes the
write lock at BEGIN) and claims nothing the first did. A crash after the commit loses nothing:
the outbox relay publishes what is queued. Extending a booking sets `reminded_at` back to NULL,
so the new end gets its own reminder; its event id is derived from the ticket and that end.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.sealing import Checkpointer
from hub.contracts.envelope import derived_id
from hub.contracts.registry import ContractRegistry
from hub.flows.sms_parking import BOOKINGS, IN_EXCHANGE, MUSCAT, REPLY_TYPE
from hub.flows.sms_parking_rules import reminder_text
from hub.messages.results import Results
from hub.messages.unit_of_work import UnitOfWork
from hub.store.tables import OutboxEvent

REMINDER_OUTCOME = "reminder"
SWEEP_LIMIT = 200  # bookings claimed by one sweep; the rest wait for the next


def remind_due(
    sessions: sessionmaker[Session],
    contracts: ContractRegistry,
    window: timedelta,
    *,
    sealer: Checkpointer | None = None,
    now: datetime | None = None,
    limit: int = SWEEP_LIMIT,
) -> list[OutboxEvent]:
    """Claim the bookings that end within `window` from `now` and are not reminded of that end
    yet, and queue their reminders; the outbox rows committed (for the caller to publish)."""
    now = now or datetime.now(UTC)
    due = (
        BOOKINGS.c.reminded_at.is_(None)
        & (BOOKINGS.c.ends_at > now)  # an ended booking needs no reminder
        & (BOOKINGS.c.ends_at <= now + window)
        & BOOKINGS.c.ticket_no.is_not(None)
    )
    some = select(BOOKINGS.c.id).where(due).order_by(BOOKINGS.c.ends_at).limit(limit)
    claim = (
        update(BOOKINGS)
        .where(due & BOOKINGS.c.id.in_(some.scalar_subquery()))
        .values(reminded_at=now)
        .returning(*BOOKINGS.c)
    )
    with UnitOfWork(sessions, actor="hub.reminders", sealer=sealer) as uow:
        claimed = uow.session.execute(claim).mappings().all()
        for booking in claimed:
            _queue(uow, contracts, booking)
        uow.commit()
    return list(uow.emitted)


def _queue(uow: UnitOfWork, contracts: ContractRegistry, booking: Any) -> None:
    ends_at: datetime = booking["ends_at"]
    cause = derived_id("sms-reminder", booking["ticket_no"], ends_at.isoformat())
    results = Results(contracts, cause_id=cause, correlationid=booking["correlationid"])
    text = reminder_text(
        booking["language"],
        booking["ticket_no"],
        f"{booking['plate_number']} {booking['plate_code']}",
        booking["parking_code"],
        ends_at.astimezone(MUSCAT),
    )
    body = {
        "telco": booking["telco"],
        "msisdn": booking["msisdn"],
        "outcome": REMINDER_OUTCOME,
        "text": text,
        "ticket_no": booking["ticket_no"],
    }
    uow.correlationid = booking["correlationid"]
    uow.emit(results.event(REPLY_TYPE, body), exchange=IN_EXCHANGE)
    uow.audit(
        "sms.reminder.queued",
        ticket_no=booking["ticket_no"],
        telco=booking["telco"],
        ends_at=ends_at.isoformat(),
    )
