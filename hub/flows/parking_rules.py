"""The parking permit rule, as a municipal officer would read it.

A permit is issued when the Royal Oman Police know the vehicle, the applicant is its registered
owner, and its registration is valid today. Otherwise it is refused, with every reason that
applies, in English and Arabic, ready for the portal and the Baladiyati app.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from hub.flows.dates import add_months

REASONS: dict[str, tuple[str, str]] = {
    "vehicle-not-found": (
        "No vehicle with plate {plate} is registered with the Royal Oman Police.",
        "لا توجد مركبة مسجلة باللوحة {plate} لدى شرطة عمان السلطانية.",
    ),
    "not-owner": (
        "The applicant is not the registered owner of vehicle {plate}.",
        "مقدم الطلب ليس المالك المسجل للمركبة {plate}.",
    ),
    "registration-lapsed": (
        "The registration of vehicle {plate} lapsed on {expiry}.",
        "انتهت صلاحية تسجيل المركبة {plate} بتاريخ {expiry}.",
    ),
}


@dataclass(frozen=True)
class Reason:
    code: str
    en: str
    ar: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "en": self.en, "ar": self.ar}


def reason(code: str, **values: str) -> Reason:
    en, ar = REASONS[code]
    return Reason(code, en.format(**values), ar.format(**values))


@dataclass(frozen=True)
class ParkingDecision:
    issued: bool
    reasons: list[Reason] = field(default_factory=list)
    valid_from: date | None = None
    valid_until: date | None = None


def decide_parking(
    *,
    plate: str,
    applicant_civil_id: str,
    months: int,
    vehicle: Mapping[str, Any] | None,
    today: date,
) -> ParkingDecision:
    """Apply the rule to what ROP said about the vehicle (None: ROP does not know the plate)."""
    if vehicle is None:
        return ParkingDecision(False, [reason("vehicle-not-found", plate=plate)])
    reasons = []
    if vehicle["owner"]["civil_id"] != applicant_civil_id:
        reasons.append(reason("not-owner", plate=plate))
    expiry = date.fromisoformat(vehicle["registration_expiry"])
    if expiry < today:
        reasons.append(reason("registration-lapsed", plate=plate, expiry=expiry.isoformat()))
    if reasons:
        return ParkingDecision(False, reasons)
    return ParkingDecision(True, [], today, add_months(today, months) - timedelta(days=1))
