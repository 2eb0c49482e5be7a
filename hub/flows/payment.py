"""The payment's own messages: create it with the provider (`payment.create.requested`),
complete the case once it is paid (`payment.paid`), refund it when the case was refused
meanwhile (`payment.refund.requested`). Each is an ordinary delivery: the inbox dedupes it,
the provider call gets the gateway's retries and the ladder, a dead one is replayable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.contracts.envelope import CloudEvent
from hub.documents.desk import DocumentDesk
from hub.flows.base import Agencies, Results
from hub.flows.payment_billing import IN_EXCHANGE, payment_snapshot
from hub.flows.payment_completion import complete
from hub.flows.payment_rules import as_text, omr, reason
from hub.messages.unit_of_work import UnitOfWork
from hub.store.payments import PaymentLedger
from hub.store.tables import Payment, PaymentStatus

REFUND_TYPE = "payment.refund.requested"


def _head(payment: Payment) -> dict[str, Any]:
    """The fields every payment result starts with."""
    return {
        "service": payment.service,
        "case": payment.case_key,
        "provider": payment.provider,
        "reference": payment.reference,
        "payment_id": payment.payment_id or "",
        "amount": as_text(payment.amount),
        "currency": payment.currency,
    }


def _payment(uow: UnitOfWork, event: CloudEvent) -> Payment | None:
    """The payment a message is about; None (audited, nothing changes) for a reference the
    hub never billed: only the hub's own billing queues these messages."""
    reference = event.data["reference"]
    payment = PaymentLedger(uow.session).by_reference(reference)
    if payment is None:
        uow.audit("payment.unknown", reference=reference, type=event.type)
    return payment


class PaymentCreateFlow:
    """Ask the provider for the payment; tell the municipality where the payer pays."""

    handles = "payment.create.requested"
    # payment.unpaid is the same payment's other end, said by the notice desk or the sweep
    # (hub/flows/payment_notices.py) when it expires or fails instead of being paid.
    results: tuple[str, ...] = ("payment.requested", "payment.unpaid")

    async def gather(self, event: CloudEvent, agencies: Agencies) -> dict[str, Any]:
        data = event.data
        payment = await agencies.ask(
            data["provider"],
            "create_payment",
            {
                "reference": data["reference"],
                "amount": data["amount"],
                "currency": data["currency"],
                "payer_reference": data["payer_reference"],
                "return_url": data["return_url"],
                "description_en": data["description_en"],
                "description_ar": data["description_ar"],
            },
        )
        return dict(payment)

    def apply(
        self, event: CloudEvent, facts: dict[str, Any], uow: UnitOfWork, results: Results
    ) -> None:
        payment = _payment(uow, event)
        if payment is None:
            return
        offered = (omr(facts["amount"]), facts["currency"])
        if offered != (payment.amount, payment.currency):
            # The provider's page would ask another amount: no page is given to the payer.
            uow.audit(
                "payment.create.mismatch",
                reference=payment.reference,
                billed=f"{as_text(payment.amount)} {payment.currency}",
                offered=f"{as_text(offered[0])} {offered[1]}",
            )
            return
        before = payment_snapshot(payment)
        moved = PaymentLedger(uow.session).move(
            payment,
            [PaymentStatus.BILLED],
            PaymentStatus.PENDING,
            payment_id=facts["payment_id"],
            payment_url=facts["payment_url"],
            expires_at=datetime.fromisoformat(facts["expires_at"]),
        )
        if not moved:
            uow.audit("payment.create.skipped", reference=payment.reference, status=payment.status)
            return
        uow.record_changed("payment", payment.reference, before, payment_snapshot(payment))
        assert payment.expires_at is not None
        requested = _head(payment) | {
            "payment_url": facts["payment_url"],
            "expires_at": payment.expires_at.isoformat(),
        }
        uow.emit(results.event("payment.requested", requested))


class PaymentPaidFlow:
    """Complete the case a paid payment was for; a case refused meanwhile gets a refund."""

    handles = "payment.paid"
    results: tuple[str, ...] = ("payment.completed",)

    def __init__(self, documents: DocumentDesk | None = None) -> None:
        self.documents = documents  # signs a licence renewed by its payment

    async def gather(self, event: CloudEvent, agencies: Agencies) -> None:
        return None  # the payment is in the store, verified when it was accepted

    def apply(self, event: CloudEvent, facts: None, uow: UnitOfWork, results: Results) -> None:
        payment = _payment(uow, event)
        if payment is None:
            return
        if payment.status != PaymentStatus.PAID:
            uow.audit(
                "payment.completion.skipped", reference=payment.reference, status=payment.status
            )
            return
        done = complete(payment, uow, results, self.documents)
        completed = _head(payment) | {"paid_at": event.data["paid_at"]}
        if done.outcome is not None:
            completed["outcome"] = done.outcome
            if done.expiry:
                completed["expiry"] = done.expiry
            uow.audit("payment.completed", reference=payment.reference, outcome=done.outcome)
            uow.emit(results.event("payment.completed", completed))
            return
        before = payment_snapshot(payment)
        why = reason("case-refused", case=payment.case_key, status=str(done.refused_status))
        PaymentLedger(uow.session).move(payment, [PaymentStatus.PAID], PaymentStatus.REFUND_DUE)
        uow.record_changed("payment", payment.reference, before, payment_snapshot(payment))
        uow.emit(
            results.event("payment.completed", completed | {"outcome": "refund-due", "reason": why})
        )
        refund = _head(payment) | {"reason": why}
        uow.emit(results.event(REFUND_TYPE, refund, key=payment.reference), exchange=IN_EXCHANGE)


class PaymentRefundFlow:
    """Refund a payment made for a refused case, once (the provider refunds once per refund
    reference, and only a payment still due a refund is marked refunded)."""

    handles = REFUND_TYPE
    results: tuple[str, ...] = ("payment.refunded",)

    async def gather(self, event: CloudEvent, agencies: Agencies) -> dict[str, Any]:
        data = event.data
        answer = await agencies.ask(
            data["provider"],
            "refund_payment",
            {
                "payment_id": data["payment_id"],
                "refund_reference": f"{data['reference']}-refund",
                "amount": data["amount"],
                "reason": data["reason"]["en"],
            },
        )
        return dict(answer)

    def apply(
        self, event: CloudEvent, facts: dict[str, Any], uow: UnitOfWork, results: Results
    ) -> None:
        payment = _payment(uow, event)
        if payment is None:
            return
        if not facts.get("refunded"):
            uow.audit("payment.refund.refused", reference=payment.reference, provider_says=facts)
            return
        before = payment_snapshot(payment)
        moved = PaymentLedger(uow.session).move(
            payment,
            [PaymentStatus.REFUND_DUE],
            PaymentStatus.REFUNDED,
            refund_id=facts["refund_id"],
        )
        if not moved:
            uow.audit("payment.refund.skipped", reference=payment.reference, status=payment.status)
            return
        uow.record_changed("payment", payment.reference, before, payment_snapshot(payment))
        refunded = _head(payment) | {
            "refund_id": facts["refund_id"],
            "reason": event.data["reason"],
        }
        uow.emit(results.event("payment.refunded", refunded))
