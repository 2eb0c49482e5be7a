"""Reading residents' parking SMS in English and Arabic, prices to the baisa, and replies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from hub.flows.sms_parking_rules import (
    PARKING_CODES,
    SmsBooking,
    SmsRefusal,
    booked_text,
    parse,
    price,
    refusal_text,
)


@pytest.mark.parametrize(
    "text",
    [
        "12345 AB P101 60",
        "P101 12345AB 60",
        "60 min P101 plate 12345 AB",
        "  12345   ab   p101   60  ",
        "AB 12345 P101 60",
        "P 101, 12345 AB, 60 minutes",
    ],
)
def test_english_in_any_order(text: str) -> None:
    assert parse(text) == SmsBooking("12345", "AB", "P101", 60, "en")


@pytest.mark.parametrize(
    "text",
    [
        "١٢٣٤٥ أ ب P١٠١ ٦٠",
        "موقف P101 لوحة ١٢٣٤٥ أب ٦٠ دقيقة",
        "٦٠   P101   أ ب ١٢٣٤٥",
        "12345 أ ب P101 60",
    ],
)
def test_arabic_digits_letters_and_words(text: str) -> None:
    assert parse(text) == SmsBooking("12345", "AB", "P101", 60, "ar")


def test_single_letter_plates_and_other_letters() -> None:
    assert parse("7 م P202 30") == SmsBooking("7", "M", "P202", 30, "ar")
    assert parse("4321 hj P301 300") == SmsBooking("4321", "HJ", "P301", 300, "en")


@pytest.mark.parametrize(
    ("text", "reason", "language"),
    [
        ("hello", "unparseable", "en"),
        ("", "unparseable", "en"),
        ("مرحبا", "unparseable", "ar"),
        ("12345 AB 60", "unparseable", "en"),
        ("12345 AB P101 P102 60", "unparseable", "en"),
        ("12345 AB P999 60", "unknown-code", "en"),
        ("١٢٣٤٥ أ ب P999 ٦٠", "unknown-code", "ar"),
        ("12345 AB P101 29", "minutes-out-of-range", "en"),
        ("12345 AB P101 301", "minutes-out-of-range", "en"),
        ("١٢٣٤٥ أ ب P101 ٥", "minutes-out-of-range", "ar"),
    ],
)
def test_bad_input_says_why_in_the_senders_language(text: str, reason: str, language: str) -> None:
    refusal = parse(text)
    assert refusal == SmsRefusal(reason, language)
    reply = refusal_text(refusal)
    assert reply and len(reply) < 140
    assert any("\u0600" <= ch <= "\u06ff" for ch in reply) == (language == "ar")


def test_price_is_decimal_to_the_baisa() -> None:
    assert price("P101", 60) == Decimal("0.200")
    assert price("P201", 45) == Decimal("0.075")
    assert price("P301", 31) == Decimal("0.078")  # 0.0775 rounds half up
    assert all(isinstance(price(code, 30), Decimal) for code in PARKING_CODES)


def test_the_confirmation_names_ticket_plate_code_date_and_times() -> None:
    booking = SmsBooking("12345", "AB", "P101", 60, "en")
    start, end = datetime(2026, 12, 7, 9, 0), datetime(2026, 12, 7, 10, 0)
    text = booked_text(booking, "T-000042", start, end, Decimal("0.200"), extended=False)
    for part in ("T-000042", "12345 AB", "P101", "07/12/2026", "09:00", "10:00", "0.200"):
        assert part in text
    arabic = booked_text(
        SmsBooking("12345", "AB", "P101", 60, "ar"), "T-1", start, end, Decimal("0.200"), True
    )
    assert "تم تمديد" in arabic and "T-1" in arabic and "10:00" in arabic
