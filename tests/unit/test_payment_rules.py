"""The fee tables, amounts as Decimal with three places, the settlement CSV, signatures and the
reconciliation's four kinds of line: no I/O."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.payments.settlement import (
    SettledPayment,
    SettlementReportError,
    read_report,
    write_report,
)
from connectors.payments.signature import sign, signature_matches
from hub.api.payment_notifications import NotifyKeys
from hub.api.payment_notifications import signature_matches as hub_signature_matches
from hub.config import Settings
from hub.flows.payment_reconcile import match
from hub.flows.payment_rules import (
    as_text,
    building_permit_fee,
    describe,
    licence_renewal_fee,
    omr,
    parking_permit_fee,
    reason,
)
from hub.store.tables import Payment


def test_fees_come_from_the_tables_in_baisa() -> None:
    assert licence_renewal_fee(1) == Decimal("25.000")
    assert licence_renewal_fee(3) == Decimal("35.000")
    assert licence_renewal_fee(0) == Decimal("25.000")
    assert building_permit_fee(80) == Decimal("90.000")
    assert parking_permit_fee() == Decimal("10.000")
    assert all(
        fee.as_tuple().exponent == -3
        for fee in (licence_renewal_fee(2), building_permit_fee(7), parking_permit_fee())
    )


def test_amounts_travel_as_three_decimal_text_never_floats() -> None:
    assert as_text(Decimal("12.5")) == "12.500"
    assert as_text(omr("0.0004")) == "0.000"
    assert omr("7.0005") == Decimal("7.001")  # half a baisa rounds up
    assert omr("7.0004") == Decimal("7.000")
    assert isinstance(omr("1"), Decimal)


def test_words_for_the_payer_are_in_both_languages() -> None:
    en, ar = describe("licence-renewal", "MCT-TL-1")
    assert "MCT-TL-1" in en and "الرخصة" in ar
    expired = reason("payment-expired", case="PV-2026-000001")
    assert expired["code"] == "payment-expired" and "دون سداد" in expired["ar"]


def test_the_signature_is_over_the_exact_bytes() -> None:
    body = '{"amount": "25.000", "note": "بلدية مسقط"}'.encode()
    signature = sign(body, "k")
    assert signature_matches(body, "k", signature)
    assert hub_signature_matches(body, "k", signature.upper())  # hex case is not the secret
    assert not hub_signature_matches(body + b" ", "k", signature)
    assert not hub_signature_matches(body, "other", signature)
    assert not hub_signature_matches(body, "k", None)
    assert not hub_signature_matches(body, "k", "")


def test_the_settlement_report_round_trips_and_bad_lines_are_named() -> None:
    rows = [SettledPayment(date(2026, 12, 7), "EP-000001", "MCT-PAY-1", Decimal("25"), "OMR", "t")]
    text = write_report(rows)
    assert "25.000" in text and text.startswith("settlement_date,")
    assert read_report(text) == [
        SettledPayment(date(2026, 12, 7), "EP-000001", "MCT-PAY-1", Decimal("25.000"), "OMR", "t")
    ]
    with pytest.raises(SettlementReportError, match="line 2"):
        read_report(text.replace("25.000", "twenty"))
    with pytest.raises(SettlementReportError, match="lacks columns: amount"):
        read_report("settlement_date,payment_id,merchant_reference,currency,paid_at\r\n")


def _payment(payment_id: str, amount: str, status: str = "paid") -> Payment:
    return Payment(
        payment_id=payment_id,
        reference=f"R-{payment_id}",
        case_key=f"C-{payment_id}",
        amount=Decimal(amount),
        currency="OMR",
        status=status,
    )


def _settled(payment_id: str, amount: str) -> dict[str, str]:
    return {"payment_id": payment_id, "reference": f"R-{payment_id}", "amount": amount,
            "currency": "OMR", "paid_at": "t"}  # fmt: skip


def test_reconciliation_names_four_kinds_of_line() -> None:
    recorded = [
        _payment("A", "25.000"),
        _payment("B", "10.000"),
        _payment("C", "5.000"),
        _payment("D", "5.000", status="expired"),
    ]
    settled = [_settled("A", "25.000"), _settled("B", "9.500"), _settled("D", "5.000")]
    settled.append(_settled("X", "1.000"))
    ticks: list[int] = []
    lines = {line.payment_id: line for line in match(settled, recorded, lambda: ticks.append(1))}
    assert {pid: line.kind for pid, line in lines.items()} == {
        "A": "matched",
        "B": "amount-differs",
        "C": "recorded-not-settled",
        "D": "paid-not-recorded",  # the provider settled what the hub holds as expired
        "X": "paid-not-recorded",
    }
    assert lines["B"].as_row()["settled_amount"] == "9.500"
    assert lines["C"].as_row()["settled_amount"] == ""
    assert len(ticks) == len(settled)


def test_a_configured_notification_key_wins_over_the_simulators(tmp_path: Path) -> None:
    configured = Settings(data_dir=tmp_path, payment_notify_keys={"epay": "from-config"})
    assert NotifyKeys(configured).key("epay") == "from-config"
    simulated = NotifyKeys(Settings(data_dir=tmp_path))
    assert simulated.key("bankmuscat") == "bankmuscat-sim-notify-key"  # embedded: simulated
    assert simulated.key("nobody") is None
    real = Settings(
        data_dir=tmp_path,
        database_url="postgresql+psycopg://x@127.0.0.1/none",
        broker_url="amqp://guest:guest@127.0.0.1:5672//",
        simulators=False,
    )
    assert NotifyKeys(real).key("epay") is None  # a real provider needs its key configured
    assert "from-config" not in repr(configured)  # a secret, never printed
