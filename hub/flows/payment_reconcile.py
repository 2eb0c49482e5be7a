"""Reconciling a day: the provider's settlement report (canonical rows from its connector)
against the payments the hub holds as paid. Four kinds of line, as the finance office reads
them: matched; paid but not recorded (settled by the provider, not paid in the hub);
recorded but not settled (paid in the hub, absent from the report); amount differs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol, runtime_checkable

from sqlalchemy.orm import Session, sessionmaker

from hub.flows.payment_notices import SETTLED
from hub.flows.payment_rules import as_text, omr
from hub.store.payments import PaymentLedger
from hub.store.tables import Payment

MATCHED = "matched"
PAID_NOT_RECORDED = "paid-not-recorded"
RECORDED_NOT_SETTLED = "recorded-not-settled"
AMOUNT_DIFFERS = "amount-differs"
KINDS = (MATCHED, PAID_NOT_RECORDED, RECORDED_NOT_SETTLED, AMOUNT_DIFFERS)
COLUMNS = (
    "kind",
    "payment_id",
    "reference",
    "case",
    "settled_amount",
    "recorded_amount",
    "currency",
    "hub_status",
)


@runtime_checkable
class SettlementSource(Protocol):
    """A provider client that can fetch its daily settlement report."""

    async def settlement(self, day: date) -> list[dict[str, str]]: ...


@dataclass(frozen=True)
class ReconciliationLine:
    kind: str
    payment_id: str
    reference: str
    case: str
    settled_amount: Decimal | None
    recorded_amount: Decimal | None
    currency: str
    hub_status: str

    def as_row(self) -> dict[str, str]:
        """The line as the CSV writes it (amounts with three decimals, blank when absent)."""

        def text(amount: Decimal | None) -> str:
            return as_text(amount) if amount is not None else ""

        return {
            "kind": self.kind,
            "payment_id": self.payment_id,
            "reference": self.reference,
            "case": self.case,
            "settled_amount": text(self.settled_amount),
            "recorded_amount": text(self.recorded_amount),
            "currency": self.currency,
            "hub_status": self.hub_status,
        }


@dataclass(frozen=True)
class Reconciliation:
    provider: str
    day: date
    lines: list[ReconciliationLine]

    def count(self, kind: str) -> int:
        return sum(1 for line in self.lines if line.kind == kind)

    @property
    def differences(self) -> int:
        return len(self.lines) - self.count(MATCHED)


def _line(
    kind: str, settled: Mapping[str, str] | None, payment: Payment | None
) -> ReconciliationLine:
    return ReconciliationLine(
        kind=kind,
        payment_id=(settled or {}).get("payment_id")
        or (payment.payment_id if payment else "")
        or "",
        reference=(settled or {}).get("reference") or (payment.reference if payment else ""),
        case=payment.case_key if payment else "",
        settled_amount=omr(settled["amount"]) if settled else None,
        recorded_amount=payment.amount if payment else None,
        currency=(settled or {}).get("currency") or (payment.currency if payment else ""),
        hub_status=payment.status if payment else "unknown",
    )


def match(
    settled: Sequence[Mapping[str, str]],
    recorded: Iterable[Payment],
    on_row: Callable[[], None] | None = None,
) -> list[ReconciliationLine]:
    """One line per payment in either list; `on_row` is called per settled row (progress)."""
    by_id = {p.payment_id: p for p in recorded if p.payment_id}
    lines: list[ReconciliationLine] = []
    seen: set[str] = set()
    for row in settled:
        payment = by_id.get(row["payment_id"])
        seen.add(row["payment_id"])
        if payment is None or payment.status not in SETTLED:
            lines.append(_line(PAID_NOT_RECORDED, row, payment))
        elif omr(row["amount"]) != payment.amount or row["currency"] != payment.currency:
            lines.append(_line(AMOUNT_DIFFERS, row, payment))
        else:
            lines.append(_line(MATCHED, row, payment))
        if on_row is not None:
            on_row()
    for payment_id, payment in by_id.items():
        if payment_id not in seen and payment.status in SETTLED:
            lines.append(_line(RECORDED_NOT_SETTLED, None, payment))
    return lines


def recorded_for(
    sessions: sessionmaker[Session], provider: str, day: date, settled_ids: Sequence[str]
) -> list[Payment]:
    """The hub's payments the day concerns: paid that day, or named by the report."""
    with sessions() as session:
        ledger = PaymentLedger(session)
        found = {p.id: p for p in ledger.paid_on(provider, day)}
        for start in range(0, len(settled_ids), 500):
            for p in ledger.by_payment_ids(provider, settled_ids[start : start + 500]):
                found[p.id] = p
        session.expunge_all()
    return list(found.values())
