"""Billing a decided case: the payment row (status `billed`) and the hub's own request to
create it with the provider (`payment.create.requested` on municipal.in), in the deciding
flow's transaction. The create then runs as a message of its own, so a provider that is down
gets the retry ladder and replay like any agency, and the decision is never lost."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hub.contracts.envelope import CloudEvent, derived_id
from hub.flows.base import Results
from hub.flows.payment_rules import CURRENCY, DEFAULT_PROVIDER, as_text, describe
from hub.messages.unit_of_work import UnitOfWork
from hub.store.payments import PaymentLedger
from hub.store.tables import Payment, PaymentStatus

IN_EXCHANGE = "municipal.in"  # the create is work for the hub itself, not a municipal result
CREATE_TYPE = "payment.create.requested"


@dataclass(frozen=True)
class PaymentBilling:
    """Whether decided cases are billed, through which provider, and where the payer returns."""

    provider: str = DEFAULT_PROVIDER
    return_url: str = "https://baladiyati.mm.gov.om/payments/return"
    services: tuple[str, ...] = ("licence-renewal", "parking-permit", "building-permit")

    def bills(self, service: str) -> bool:
        return service in self.services


def billing_for(billing: PaymentBilling | None, service: str) -> PaymentBilling | None:
    """`billing` when it covers `service`, else None (the case completes at once)."""
    return billing if billing is not None and billing.bills(service) else None


@dataclass(frozen=True)
class Bill:
    service: str
    case: str
    amount: Decimal
    payer_reference: str
    case_data: dict[str, Any]
    provider: str | None = None  # the payer's choice; the billing's default otherwise


def payment_reference(event: CloudEvent, service: str) -> str:
    """The hub's reference for the payment a message decides: the same on every delivery, so
    the provider (idempotent by it) creates one payment however often it is asked."""
    return f"MCT-PAY-{derived_id(event.id, service).replace('-', '')[:20]}"


def bill(
    billing: PaymentBilling, event: CloudEvent, bill: Bill, uow: UnitOfWork, results: Results
) -> Payment:
    """Record what the case owes and ask for the payment to be created."""
    reference = payment_reference(event, bill.service)
    provider = bill.provider or billing.provider
    payment = Payment(
        reference=reference,
        provider=provider,
        service=bill.service,
        case_key=bill.case,
        amount=bill.amount,
        currency=CURRENCY,
        payer_reference=bill.payer_reference,
        status=PaymentStatus.BILLED,
        case_data=bill.case_data,
        correlationid=event.correlation,
    )
    PaymentLedger(uow.session).add(payment)
    uow.record_changed("payment", reference, None, payment_snapshot(payment))
    en, ar = describe(bill.service, bill.case)
    create = {
        "service": bill.service,
        "case": bill.case,
        "provider": provider,
        "reference": reference,
        "amount": as_text(bill.amount),
        "currency": CURRENCY,
        "payer_reference": bill.payer_reference,
        "description_en": en,
        "description_ar": ar,
        "return_url": billing.return_url,
    }
    uow.emit(results.event(CREATE_TYPE, create, key=reference), exchange=IN_EXCHANGE)
    return payment


def payment_snapshot(payment: Payment) -> dict[str, Any]:
    """A payment as the audit trail shows it (amount as text: never a float)."""
    return {
        "reference": payment.reference,
        "provider": payment.provider,
        "payment_id": payment.payment_id,
        "service": payment.service,
        "case": payment.case_key,
        "amount": as_text(payment.amount),
        "currency": payment.currency,
        "status": payment.status,
        "paid_at": payment.paid_at.isoformat() if payment.paid_at else None,
        "refund_id": payment.refund_id,
    }
