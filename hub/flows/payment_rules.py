"""What each service costs, as a municipal officer would review it: one fee table per service,
in Omani rials with three decimals (`Decimal`, never floats), and the words the resident sees
when a payment is not made or is refunded, in English and Arabic.

| service          | fee                                                   |
| ---------------- | ----------------------------------------------------- |
| licence-renewal  | 25.000 for the licence, 5.000 per activity after the first |
| building-permit  | 50.000, and 0.500 per kVA of connected load            |
| parking-permit   | 10.000 per permit                                      |
| parking-fine     | the fine as issued (ROP's amount)                      |
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

MILLS = Decimal("0.001")
CURRENCY = "OMR"
DEFAULT_PROVIDER = "epay"


def omr(value: Decimal | str) -> Decimal:
    """An amount in rials, quantized to the baisa (0.001), half a baisa rounded up."""
    return Decimal(value).quantize(MILLS, rounding=ROUND_HALF_UP)


def as_text(amount: Decimal) -> str:
    """How amounts travel in JSON: a string with three decimals ("12.500")."""
    return f"{omr(amount)}"


@dataclass(frozen=True)
class LicenceRenewalFee:
    licence: Decimal = omr("25.000")
    per_extra_activity: Decimal = omr("5.000")


@dataclass(frozen=True)
class BuildingPermitFee:
    permit: Decimal = omr("50.000")
    per_kva: Decimal = omr("0.500")


@dataclass(frozen=True)
class ParkingPermitFee:
    permit: Decimal = omr("10.000")


LICENCE_RENEWAL = LicenceRenewalFee()
BUILDING_PERMIT = BuildingPermitFee()
PARKING_PERMIT = ParkingPermitFee()


def licence_renewal_fee(activities: int) -> Decimal:
    return omr(
        LICENCE_RENEWAL.licence + LICENCE_RENEWAL.per_extra_activity * max(activities - 1, 0)
    )


def building_permit_fee(load_kva: int) -> Decimal:
    return omr(BUILDING_PERMIT.permit + BUILDING_PERMIT.per_kva * load_kva)


def parking_permit_fee() -> Decimal:
    return PARKING_PERMIT.permit


def describe(service: str, case: str) -> tuple[str, str]:
    """The payment's description on the provider's page, in English and Arabic."""
    words = {
        "licence-renewal": ("Trade licence renewal {case}", "تجديد الرخصة التجارية {case}"),
        "building-permit": ("Building permit {case}", "رخصة البناء {case}"),
        "parking-permit": ("Parking permit {case}", "تصريح الوقوف {case}"),
        "parking-fine": ("Parking fine {case}", "مخالفة الوقوف {case}"),
    }[service]
    return words[0].format(case=case), words[1].format(case=case)


REASONS: dict[str, tuple[str, str]] = {
    "payment-expired": (
        "The payment for {case} expired unpaid; the case stays unpaid.",
        "انتهت مهلة دفع رسوم {case} دون سداد، ويبقى الطلب غير مدفوع.",
    ),
    "payment-failed": (
        "The payment for {case} failed; the case stays unpaid.",
        "تعذر دفع رسوم {case}، ويبقى الطلب غير مدفوع.",
    ),
    "case-refused": (
        "{case} can no longer be completed ({status}); the payment is refunded.",
        "لا يمكن إتمام {case} ({status})، وسيعاد المبلغ المدفوع.",
    ),
}


def reason(code: str, **values: str) -> dict[str, str]:
    en, ar = REASONS[code]
    return {"code": code, "en": en.format(**values), "ar": ar.format(**values)}
