"""The municipality's answer to an Invest Easy approval request, as an officer would review it.

The five licence-issue checks of `licence_rules` decide first: any failing check refuses the
application, with each failing check's reason in English and Arabic. When all pass, a large
site or an activity that needs an inspector's visit makes it "inspection required"; otherwise
it is approved, with the licence fee and the portal's service fee:

| fee                 | how much                                                          |
| ------------------- | ----------------------------------------------------------------- |
| municipal (legal)   | 25.000 rials per activity + 0.150 rials per declared square metre |
| Invest Easy service | 20 % of the legal fee, at least 0.500 and at most 20.000 rials    |

| inspection required when                                                          |
| --------------------------------------------------------------------------------- |
| the declared area is over 1,000 m²                                                |
| an activity serves food or drink (ISIC 5610, 5621, 5629, 5630) or is a bakery (1071) |
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from hub.flows.licence_rules import CheckLine, LicenceDecision

BAISA = Decimal("0.001")
FEE_PER_ACTIVITY = Decimal("25.000")
FEE_PER_SQUARE_METRE = Decimal("0.150")
SERVICE_SHARE = Decimal("0.20")
SERVICE_MIN = Decimal("0.500")
SERVICE_MAX = Decimal("20.000")
INSPECTION_AREA_M2 = 1000
INSPECTION_ACTIVITIES = frozenset({"5610", "5621", "5629", "5630", "1071"})

APPROVED, REFUSED, INSPECTION = "approved", "refused", "inspection-required"


@dataclass(frozen=True)
class Fee:
    """The fees the investor pays at the portal, in rials with three places."""

    municipal: Decimal
    service: Decimal

    @property
    def total(self) -> Decimal:
        return self.municipal + self.service

    def as_dict(self) -> dict[str, str]:
        return {
            "municipal_fee_omr": f"{self.municipal:.3f}",
            "service_fee_omr": f"{self.service:.3f}",
            "total_omr": f"{self.total:.3f}",
        }


def licence_fee(activities: int, area_m2: int) -> Fee:
    """The legal fee for the activities and area, and the portal's service fee on it."""
    legal = (FEE_PER_ACTIVITY * activities + FEE_PER_SQUARE_METRE * area_m2).quantize(
        BAISA, ROUND_HALF_UP
    )
    service = (legal * SERVICE_SHARE).quantize(BAISA, ROUND_HALF_UP)
    return Fee(legal, min(max(service, SERVICE_MIN), SERVICE_MAX))


@dataclass(frozen=True)
class Reason:
    code: str
    en: str
    ar: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "en": self.en, "ar": self.ar}


@dataclass(frozen=True)
class ApplicationDecision:
    decision: str
    lines: list[CheckLine]
    reasons: list[Reason]
    fee: Fee | None


def inspection_reasons(activities: list[str], area_m2: int) -> list[Reason]:
    """Why a site must be inspected before a licence, if it must."""
    reasons: list[Reason] = []
    if area_m2 > INSPECTION_AREA_M2:
        reasons.append(
            Reason(
                "inspection-area",
                f"A site inspection is required: the declared area of {area_m2} m² exceeds "
                f"{INSPECTION_AREA_M2} m².",
                f"يلزم إجراء معاينة ميدانية: المساحة المعلنة {area_m2} م² تتجاوز "
                f"{INSPECTION_AREA_M2} م².",
            )
        )
    food = sorted(set(activities) & INSPECTION_ACTIVITIES)
    if food:
        codes = ", ".join(food)
        reasons.append(
            Reason(
                "inspection-activity",
                f"A site inspection is required for activities {codes} (food and drink).",
                f"يلزم إجراء معاينة ميدانية للأنشطة {codes} (الأغذية والمشروبات).",
            )
        )
    return reasons


def decide_application(
    checks: LicenceDecision, activities: list[str], area_m2: int
) -> ApplicationDecision:
    """Refused on any failing check; else inspection required where the table says; else
    approved with its fee."""
    if not checks.approved:
        failing = [Reason(line.code, line.en, line.ar) for line in checks.lines if not line.passed]
        return ApplicationDecision(REFUSED, checks.lines, failing, None)
    inspection = inspection_reasons(activities, area_m2)
    if inspection:
        return ApplicationDecision(INSPECTION, checks.lines, inspection, None)
    return ApplicationDecision(APPROVED, checks.lines, [], licence_fee(len(activities), area_m2))
