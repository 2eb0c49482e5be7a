"""What the provider says about a payment, accepted once: a verified notification (the partner
endpoint) or a status query's answer (the sweep). A paid payment is marked paid and its
`payment.paid` is queued on municipal.in in one transaction, so the case is completed by an
ordinary delivery; anything that does not fit the payment is refused, audited, and changes
nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.sealing import Checkpointer
from hub.contracts.envelope import derived_id
from hub.contracts.registry import ContractRegistry
from hub.flows.payment_billing import IN_EXCHANGE, payment_snapshot
from hub.flows.payment_rules import as_text, reason
from hub.messages.results import Results
from hub.messages.unit_of_work import UnitOfWork
from hub.store.payments import PaymentLedger
from hub.store.tables import OutboxEvent, Payment, PaymentStatus

PAID_TYPE = "payment.paid"
NOTICE_STATUSES = ("PAID", "FAILED", "EXPIRED")  # what a provider may say of a payment
UNPAID_TYPE = "payment.unpaid"
SETTLED = (PaymentStatus.PAID, PaymentStatus.REFUND_DUE, PaymentStatus.REFUNDED)


@dataclass(frozen=True)
class ProviderNotice:
    """One statement of a provider about one payment (amount read as `Decimal`)."""

    provider: str
    notice_id: str
    payment_id: str
    status: str  # PAID, FAILED, EXPIRED (the provider's words)
    amount: Decimal
    currency: str
    paid_at: datetime | None
    via: str  # notification | status-query


class NoticeRefused(Exception):
    """A notice the hub will not act on; `kind` and `status` become the problem document."""

    def __init__(self, kind: str, status: int, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.status = status
        self.detail = detail


@dataclass
class NoticeDesk:
    """Accepts or refuses provider notices against the payments in the store."""

    sessions: sessionmaker[Session]
    contracts: ContractRegistry
    sealer: Checkpointer | None = None

    def refuse(self, provider: str, refusal: NoticeRefused, **detail: object) -> NoticeRefused:
        """Audit a refusal in a transaction of its own (nothing else is written)."""
        correlation = str(detail.pop("correlationid", "") or "") or None
        with UnitOfWork(
            self.sessions,
            correlationid=correlation,
            actor=f"provider:{provider}",
            sealer=self.sealer,
        ) as uow:
            uow.audit(
                "payment.notice.refused",
                provider=provider,
                problem=refusal.kind,
                reason=refusal.detail,
                **detail,
            )
            uow.commit()
        return refusal

    def summarise(self, summaries: list[dict[str, object]]) -> None:
        """Unproven notices past the limit, one entry per address and window."""
        with UnitOfWork(self.sessions, actor="provider:unknown", sealer=self.sealer) as uow:
            for summary in summaries:
                uow.audit("payment.notice.refused.summary", **summary)
            uow.commit()

    def accept(self, notice: ProviderNotice, now: datetime) -> list[OutboxEvent]:
        """The rows to publish for an accepted notice; `NoticeRefused` (audited) otherwise."""
        try:
            return self._accept(notice, now)
        except NoticeRefused as refused:
            raise self._refused(notice, refused) from None
        except IntegrityError:  # the same notice, accepted by another process a moment ago
            replay = NoticeRefused(
                "replayed-notification", 409, f"notification {notice.notice_id} already accepted"
            )
            raise self._refused(notice, replay) from None

    def _refused(self, notice: ProviderNotice, refused: NoticeRefused) -> NoticeRefused:
        with self.sessions() as session:
            payment = PaymentLedger(session).by_payment_id(notice.provider, notice.payment_id)
            correlation = payment.correlationid if payment else None
        return self.refuse(
            notice.provider,
            refused,
            correlationid=correlation,
            notice_id=notice.notice_id,
            payment_id=notice.payment_id,
            amount=as_text(notice.amount),
            currency=notice.currency,
            via=notice.via,
        )

    def _accept(self, notice: ProviderNotice, now: datetime) -> list[OutboxEvent]:
        with UnitOfWork(
            self.sessions, actor=f"provider:{notice.provider}", sealer=self.sealer
        ) as uow:
            ledger = PaymentLedger(uow.session)
            payment = ledger.by_payment_id(notice.provider, notice.payment_id)
            _check(ledger, notice, payment, now)
            assert payment is not None
            uow.correlationid = payment.correlationid
            before = payment_snapshot(payment)
            ledger.note_notice(notice.provider, notice.notice_id, notice.payment_id, notice.status)
            if notice.status == "PAID":
                self._paid(uow, ledger, payment, notice, now)
            else:
                self._unpaid(uow, ledger, payment, notice, now)
            uow.record_changed("payment", payment.reference, before, payment_snapshot(payment))
            uow.commit()
            return list(uow.emitted)

    def _paid(
        self,
        uow: UnitOfWork,
        ledger: PaymentLedger,
        payment: Payment,
        notice: ProviderNotice,
        now: datetime,
    ) -> None:
        paid_at = notice.paid_at or now
        if not ledger.move(
            payment, [PaymentStatus.PENDING], PaymentStatus.PAID, paid_at=paid_at, notified_at=now
        ):
            raise NoticeRefused("already-paid", 409, f"payment {notice.payment_id} already paid")
        uow.audit(
            "payment.paid",
            provider=notice.provider,
            payment_id=notice.payment_id,
            reference=payment.reference,
            amount=as_text(notice.amount),
            currency=notice.currency,
            via=notice.via,
            notice_id=notice.notice_id,
        )
        results = _results(self.contracts, payment)
        paid = {
            "provider": payment.provider,
            "payment_id": notice.payment_id,
            "reference": payment.reference,
            "amount": as_text(payment.amount),
            "currency": payment.currency,
            "paid_at": paid_at.isoformat(),
            "via": notice.via,
        }
        uow.emit(results.event(PAID_TYPE, paid), exchange=IN_EXCHANGE)

    def _unpaid(
        self,
        uow: UnitOfWork,
        ledger: PaymentLedger,
        payment: Payment,
        notice: ProviderNotice,
        now: datetime,
    ) -> None:
        status = PaymentStatus.EXPIRED if notice.status == "EXPIRED" else PaymentStatus.FAILED
        if not ledger.move(payment, [PaymentStatus.PENDING], status, notified_at=now):
            raise NoticeRefused(
                "not-pending", 409, f"payment {notice.payment_id} is {payment.status}"
            )
        emit_unpaid(uow, self.contracts, payment)


def _results(contracts: ContractRegistry, payment: Payment) -> Results:
    """Results caused by the payment itself: one id per payment and type, whichever notice or
    query reported it, so a second report cannot queue a second effect."""
    cause = derived_id("payment", payment.provider, payment.reference)
    return Results(contracts, cause_id=cause, correlationid=payment.correlationid)


def emit_unpaid(uow: UnitOfWork, contracts: ContractRegistry, payment: Payment) -> None:
    """Tell the municipality a payment expired or failed: the case stays unpaid."""
    code = "payment-expired" if payment.status == PaymentStatus.EXPIRED else "payment-failed"
    unpaid = {
        "service": payment.service,
        "case": payment.case_key,
        "provider": payment.provider,
        "reference": payment.reference,
        "payment_id": payment.payment_id or "",
        "amount": as_text(payment.amount),
        "currency": payment.currency,
        "status": payment.status,
        "reason": reason(code, case=payment.case_key),
    }
    uow.audit(f"payment.{payment.status}", reference=payment.reference, provider=payment.provider)
    uow.emit(_results(contracts, payment).event(UNPAID_TYPE, unpaid))


def _check(
    ledger: PaymentLedger, notice: ProviderNotice, payment: Payment | None, now: datetime
) -> None:
    """Why a notice cannot be acted on, as `NoticeRefused`; nothing when it can."""
    if payment is None:
        raise NoticeRefused("unknown-payment", 404, f"no payment {notice.payment_id} is known")
    if ledger.notice_seen(notice.provider, notice.notice_id):
        raise NoticeRefused(
            "replayed-notification", 409, f"notification {notice.notice_id} already accepted"
        )
    if notice.amount != payment.amount or notice.currency != payment.currency:
        raise NoticeRefused(
            "amount-mismatch",
            422,
            f"payment {notice.payment_id} is {as_text(payment.amount)} {payment.currency}, "
            f"the notice says {as_text(notice.amount)} {notice.currency}",
        )
    if payment.status in SETTLED:
        raise NoticeRefused("already-paid", 409, f"payment {notice.payment_id} already paid")
    expired = payment.status == PaymentStatus.EXPIRED or (
        payment.expires_at is not None and payment.expires_at < now
    )
    if expired:
        raise NoticeRefused(
            "payment-expired", 409, f"payment {notice.payment_id} expired before this notice"
        )
    if payment.status != PaymentStatus.PENDING:
        raise NoticeRefused("not-pending", 409, f"payment {notice.payment_id} is {payment.status}")


def expire_overdue(
    sessions: sessionmaker[Session],
    contracts: ContractRegistry,
    now: datetime,
    sealer: Checkpointer | None = None,
) -> list[OutboxEvent]:
    """Mark pending payments past their expiry expired, each saying the case stays unpaid."""
    emitted: list[OutboxEvent] = []
    with sessions() as session:
        overdue: Sequence[Payment] = PaymentLedger(session).overdue(now)
        references = [p.reference for p in overdue]
    for reference in references:
        with UnitOfWork(sessions, actor="hub:payment-sweep", sealer=sealer) as uow:
            ledger = PaymentLedger(uow.session)
            payment = ledger.by_reference(reference)
            assert payment is not None
            uow.correlationid = payment.correlationid
            before = payment_snapshot(payment)
            if ledger.move(payment, [PaymentStatus.PENDING], PaymentStatus.EXPIRED):
                uow.record_changed("payment", reference, before, payment_snapshot(payment))
                emit_unpaid(uow, contracts, payment)
                uow.commit()
                emitted.extend(uow.emitted)
    return emitted
