"""The payments repository: the flows, the notification endpoint, the sweep and reconciliation
read and change payments through it. Every change of state is a guarded UPDATE (`move`), so
two deliveries or two notifications racing each other change a payment once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from hub.store.tables import Payment, PaymentNotice, PaymentStatus, utcnow


class PaymentLedger:
    """Payments inside one transaction (a unit of work's session, or a read's)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, payment: Payment) -> None:
        """A new payment, written with the unit of work."""
        self._session.add(payment)

    def by_reference(self, reference: str) -> Payment | None:
        return self._session.scalars(
            select(Payment).where(Payment.reference == reference)
        ).one_or_none()

    def by_payment_id(self, provider: str, payment_id: str) -> Payment | None:
        return self._session.scalars(
            select(Payment).where(Payment.provider == provider, Payment.payment_id == payment_id)
        ).one_or_none()

    def of_case(self, case_key: str) -> Sequence[Payment]:
        return self._session.scalars(
            select(Payment).where(Payment.case_key == case_key).order_by(Payment.id)
        ).all()

    def of_correlation(self, correlationid: str) -> Sequence[Payment]:
        return self._session.scalars(
            select(Payment).where(Payment.correlationid == correlationid).order_by(Payment.id)
        ).all()

    def move(self, payment: Payment, allowed: Sequence[str], to: str, **values: Any) -> bool:
        """Set `payment` to `to` (with `values`) only if it is still in one of `allowed`;
        False when another transaction moved it first (nothing is changed then)."""
        moved = self._session.execute(
            update(Payment)
            .where(Payment.id == payment.id, Payment.status.in_(allowed))
            .values(status=to, updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return False
        self._session.refresh(payment)
        return True

    def notice_seen(self, provider: str, notice_id: str) -> bool:
        return (
            self._session.scalar(
                select(PaymentNotice.id).where(
                    PaymentNotice.provider == provider, PaymentNotice.notice_id == notice_id
                )
            )
            is not None
        )

    def note_notice(self, provider: str, notice_id: str, payment_id: str, status: str) -> None:
        self._session.add(
            PaymentNotice(
                provider=provider, notice_id=notice_id, payment_id=payment_id, status=status
            )
        )
        self._session.flush()  # a second notice of the same id fails here, not at commit

    def due_status_query(self, now: datetime, quiet: timedelta) -> Sequence[Payment]:
        """Pending payments nobody has heard of for `quiet`: no notification, no recent query."""
        cutoff = now - quiet
        return self._session.scalars(
            select(Payment)
            .where(
                Payment.status == PaymentStatus.PENDING,
                Payment.created_at <= cutoff,
                or_(Payment.status_checked_at.is_(None), Payment.status_checked_at <= cutoff),
            )
            .order_by(Payment.id)
        ).all()

    def overdue(self, now: datetime) -> Sequence[Payment]:
        """Pending payments past their expiry."""
        return self._session.scalars(
            select(Payment)
            .where(Payment.status == PaymentStatus.PENDING, Payment.expires_at < now)
            .order_by(Payment.id)
        ).all()

    def paid_on(self, provider: str, day: date) -> Sequence[Payment]:
        """The payments the hub holds as paid on `day` (UTC), refunded ones included."""
        start = datetime.combine(day, time.min, tzinfo=UTC)
        return self._session.scalars(
            select(Payment)
            .where(
                Payment.provider == provider,
                and_(Payment.paid_at >= start, Payment.paid_at < start + timedelta(days=1)),
            )
            .order_by(Payment.id)
        ).all()

    def by_payment_ids(self, provider: str, payment_ids: Sequence[str]) -> Sequence[Payment]:
        if not payment_ids:
            return []
        return self._session.scalars(
            select(Payment).where(
                Payment.provider == provider, Payment.payment_id.in_(list(payment_ids))
            )
        ).all()
