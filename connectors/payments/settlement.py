"""The daily settlement report as gateways ship it: CSV, one row per settled payment, amounts
as written (three decimals), read into `Decimal` and never into floats."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

COLUMNS = ("settlement_date", "payment_id", "merchant_reference", "amount", "currency", "paid_at")
MILLS = Decimal("0.001")


class SettlementReportError(ValueError):
    """A settlement report the hub cannot read; names the line."""


@dataclass(frozen=True)
class SettledPayment:
    settlement_date: date
    payment_id: str
    merchant_reference: str
    amount: Decimal
    currency: str
    paid_at: str


def write_report(rows: list[SettledPayment]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            (
                row.settlement_date.isoformat(),
                row.payment_id,
                row.merchant_reference,
                f"{row.amount.quantize(MILLS)}",
                row.currency,
                row.paid_at,
            )
        )
    return out.getvalue()


def read_report(text: str) -> list[SettledPayment]:
    """The rows of a report; `SettlementReportError` for a missing column or a bad value."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise SettlementReportError(f"settlement report lacks columns: {', '.join(missing)}")
    rows = []
    for line, raw in enumerate(reader, start=2):
        try:
            amount = Decimal(raw["amount"]).quantize(MILLS)
            rows.append(
                SettledPayment(
                    settlement_date=date.fromisoformat(raw["settlement_date"]),
                    payment_id=raw["payment_id"],
                    merchant_reference=raw["merchant_reference"],
                    amount=amount,
                    currency=raw["currency"],
                    paid_at=raw["paid_at"],
                )
            )
        except (InvalidOperation, ValueError) as exc:
            raise SettlementReportError(f"settlement report line {line}: {exc}") from None
    return rows
