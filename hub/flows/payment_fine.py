"""violation.parking.fine-due: a resident chose to pay a parking fine; the hub bills it with
the provider the payer chose (the fine as ROP issued it), and the paid notification settles it
with ROP through the violation flow."""

from __future__ import annotations

from hub.contracts.envelope import CloudEvent
from hub.flows.base import Agencies, Results
from hub.flows.payment_billing import Bill, PaymentBilling, bill
from hub.flows.payment_rules import omr
from hub.messages.unit_of_work import UnitOfWork


class FineDueFlow:
    """Bill a parking fine; its payment.requested says where the payer pays."""

    handles = "violation.parking.fine-due"
    results: tuple[str, ...] = ()  # payment.requested follows from payment.create.requested

    def __init__(self, billing: PaymentBilling | None = None) -> None:
        self.billing = billing or PaymentBilling()  # a fine is always paid, billing on or off

    async def gather(self, event: CloudEvent, agencies: Agencies) -> None:
        return None

    def apply(self, event: CloudEvent, facts: None, uow: UnitOfWork, results: Results) -> None:
        data = event.data
        fine = Bill(
            service="parking-fine",
            case=data["violation_no"],
            amount=omr(data["amount_omr"]),
            payer_reference=data["payer_reference"],
            case_data={"plate": dict(data["plate"])},
            provider=data.get("provider"),
        )
        bill(self.billing, event, fine, uow, results)
