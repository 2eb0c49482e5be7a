"""What a paid payment completes, per service: the licence renewed (once: only a licence still
awaiting its payment is renewed), or the word that the case was refused meanwhile, which makes
the payment due for a refund."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from hub.flows.licence import licence_snapshot
from hub.messages.unit_of_work import UnitOfWork
from hub.store.tables import Payment

AWAITING_PAYMENT = "awaiting-payment"


@dataclass(frozen=True)
class Completion:
    """`outcome` when the case is completed; `refused_status` when it can no longer be."""

    outcome: str | None = None
    expiry: str | None = None
    refused_status: str | None = None


def complete_licence_renewal(payment: Payment, uow: UnitOfWork) -> Completion:
    licence = uow.records.licence(payment.case_key)
    if licence is None or licence.status != AWAITING_PAYMENT:
        return Completion(refused_status=licence.status if licence else "unknown")
    before = licence_snapshot(licence)
    expiry = str(payment.case_data["new_expiry"])
    licence.status, licence.expiry = "active", date.fromisoformat(expiry)
    uow.records.save()
    uow.record_changed("trade_licence", licence.licence_no, before, licence_snapshot(licence))
    return Completion(outcome="renewed", expiry=expiry)


COMPLETIONS: dict[str, Callable[[Payment, UnitOfWork], Completion]] = {
    "licence-renewal": complete_licence_renewal,
}


def complete(payment: Payment, uow: UnitOfWork) -> Completion:
    completer = COMPLETIONS.get(payment.service)
    if completer is None:
        return Completion(refused_status=f"no completion for {payment.service}")
    return completer(payment, uow)
