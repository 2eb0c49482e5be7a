"""SMS parking: read a resident's text (English or Arabic, any order), the parking codes as a
reviewable table, the price, and the replies in the sender's language. Plain functions and
tables, no I/O (the flow in sms_parking.py asks ROP and the telco, then applies these)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

MIN_MINUTES, MAX_MINUTES = 30, 300
BAISA = Decimal("0.001")  # Omani rials carry three decimals


@dataclass(frozen=True)
class ParkingCode:
    """One street parking area residents book by its code, and its price per hour (OMR)."""

    code: str
    name_en: str
    name_ar: str
    rate_per_hour: Decimal


# Reviewed with the parking department; a new area is one line here.
PARKING_CODES: dict[str, ParkingCode] = {
    c.code: c
    for c in (
        ParkingCode("P101", "Qurum Beach", "شاطئ القرم", Decimal("0.200")),
        ParkingCode("P102", "Muttrah Corniche", "كورنيش مطرح", Decimal("0.200")),
        ParkingCode("P201", "Ruwi High Street", "شارع روي التجاري", Decimal("0.100")),
        ParkingCode("P202", "Al Khuwair", "الخوير", Decimal("0.100")),
        ParkingCode("P301", "Madinat Sultan Qaboos", "مدينة السلطان قابوس", Decimal("0.150")),
    )
}

# Oman's plate letters as written in Arabic, to the Latin letters ROP files them under.
PLATE_LETTERS = {
    "أ": "A", "ا": "A", "إ": "A", "ب": "B", "د": "D", "ه": "H", "هـ": "H", "ح": "J",
    "ك": "K", "ل": "L", "م": "M", "ن": "N", "ر": "R", "ص": "S", "ط": "T", "و": "W",
    "ى": "Y", "ي": "Y",
}  # fmt: skip
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_ARABIC = re.compile("[\u0600-\u06ff]")
_CODE = re.compile(r"\bP\s?(\d{3})\b")
_NOISE = re.compile(r"\b(?:MINUTES|MINS|MIN|PARKING|PARK|PLATE)\b|دقيقة|دقائق|موقف|لوحة|رقم")
_PLATE_FORMS = (
    re.compile(r"\b(\d{1,5})\s*([A-Z])\s?([A-Z])?\b"),
    re.compile(r"\b([A-Z])\s?([A-Z])?\s*(\d{1,5})\b"),
)


@dataclass(frozen=True)
class SmsBooking:
    """What the resident asked for."""

    plate_number: str
    plate_code: str
    code: str
    minutes: int
    language: str


@dataclass(frozen=True)
class SmsRefusal:
    """Why a message cannot be booked: `reason` is recorded, the reply says it kindly."""

    reason: str  # unparseable | unknown-code | minutes-out-of-range | unknown-plate | charge-failed
    language: str


def language_of(text: str) -> str:
    return "ar" if _ARABIC.search(text) else "en"


def normalise(text: str) -> str:
    """ASCII digits, Arabic plate letters as Latin, upper case, single spaces."""
    text = text.translate(_DIGITS)
    text = _NOISE.sub(" ", text.upper())
    text = "".join(f" {PLATE_LETTERS[ch]} " if ch in PLATE_LETTERS else ch for ch in text)
    text = _ARABIC.sub(" ", text)
    return " ".join(text.replace(",", " ").replace("-", " ").split())


def parse(text: str) -> SmsBooking | SmsRefusal:
    """The booking asked for in `text`, or why it cannot be read."""
    language = language_of(text)
    flat = normalise(text)
    codes = _CODE.findall(flat)
    if len(codes) != 1:
        return SmsRefusal("unparseable", language)
    code = f"P{codes[0]}"
    rest = _CODE.sub(" ", flat)
    readings = list(_readings(rest))
    if not readings:
        return SmsRefusal("unparseable", language)
    if code not in PARKING_CODES:
        return SmsRefusal("unknown-code", language)
    # "60 A B 12345" reads two ways; the one whose minutes make sense is what was meant.
    for number, letters, minutes in readings:
        if MIN_MINUTES <= minutes <= MAX_MINUTES:
            return SmsBooking(number, letters, code, minutes, language)
    return SmsRefusal("minutes-out-of-range", language)


def _readings(rest: str) -> Iterator[tuple[str, str, int]]:
    """Each way of reading `rest` as one plate and one number of minutes."""
    for form in _PLATE_FORMS:
        for match in form.finditer(rest):
            groups = [g for g in match.groups() if g]
            number = next(g for g in groups if g.isdigit())
            letters = "".join(g for g in groups if g.isalpha())
            remaining = (rest[: match.start()] + " " + rest[match.end() :]).split()
            if len(remaining) == 1 and remaining[0].isdigit():
                yield number, letters, int(remaining[0])


def price(code: str, minutes: int) -> Decimal:
    """The charge for `minutes` at `code`, in rials to the baisa (never a float)."""
    rate = PARKING_CODES[code].rate_per_hour
    return (rate * minutes / 60).quantize(BAISA, rounding=ROUND_HALF_UP)


_REFUSALS = {
    "unparseable": (
        "Send: plate, parking code, minutes. Example: 12345 AB P101 60",
        "أرسل: رقم اللوحة ورمز الموقف والدقائق. مثال: ١٢٣٤٥ أ ب P101 ٦٠",
    ),
    "unknown-code": (
        "Unknown parking code. Codes are on the parking sign, e.g. P101.",
        "رمز الموقف غير معروف. الرمز مكتوب على لوحة الموقف، مثل P101.",
    ),
    "minutes-out-of-range": (
        f"Minutes must be {MIN_MINUTES} to {MAX_MINUTES}. Nothing was charged.",
        f"الدقائق من {MIN_MINUTES} إلى {MAX_MINUTES}. لم يتم خصم أي مبلغ.",
    ),
    "unknown-plate": (
        "ROP does not know this plate. Check it and send again. Nothing was charged.",
        "رقم اللوحة غير مسجل لدى شرطة عمان السلطانية. تحقق منه وأعد الإرسال. لم يتم خصم أي مبلغ.",
    ),
    "charge-failed": (
        "The charge was declined (check your balance). No parking was booked.",
        "تعذر خصم المبلغ (تحقق من رصيدك). لم يتم حجز الموقف.",
    ),
}


def refusal_text(refusal: SmsRefusal) -> str:
    english, arabic = _REFUSALS[refusal.reason]
    return arabic if refusal.language == "ar" else english


def booked_text(
    booking: SmsBooking, ticket: str, starts: datetime, ends: datetime, amount: Decimal,
    extended: bool,
) -> str:  # fmt: skip
    """The confirmation: ticket, plate, code, date and times, amount."""
    area = PARKING_CODES[booking.code]
    plate = f"{booking.plate_number} {booking.plate_code}"
    day, start, end = starts.strftime("%d/%m/%Y"), starts.strftime("%H:%M"), ends.strftime("%H:%M")
    if booking.language == "ar":
        verb = "تم تمديد" if extended else "تم حجز"
        return (
            f"{verb} الموقف. التذكرة {ticket}، اللوحة {plate}، {area.name_ar} ({area.code})، "
            f"{day} من {start} إلى {end}. المبلغ {amount} ر.ع."
        )
    verb = "Parking extended" if extended else "Parking booked"
    return (
        f"{verb}. Ticket {ticket}, plate {plate}, {area.name_en} ({area.code}), "
        f"{day} {start}-{end}. Charged OMR {amount}."
    )


def reminder_text(language: str, ticket: str, plate: str, code: str, ends: datetime) -> str:
    """Before the booking ends: which one, when, and how to extend it (send the same again)."""
    area = PARKING_CODES[code]
    end = ends.strftime("%H:%M")
    if language == "ar":
        return (
            f"تذكير: ينتهي حجز الموقف {ticket} للوحة {plate} في {area.name_ar} ({code}) "
            f"الساعة {end}. للتمديد أرسل: {plate} {code} والدقائق."
        )
    return (
        f"Reminder: parking {ticket} for plate {plate} at {area.name_en} ({code}) ends at "
        f"{end}. To extend, send: {plate} {code} and the minutes."
    )
