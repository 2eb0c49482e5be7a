"""What the simulated world is made of: establishments and what each agency knows of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

WEAKNESSES = (
    "cr-expired",
    "cr-suspended",
    "cr-cancelled",
    "occi-none",
    "occi-lapsed",
    "no-clearance",
    "civil-defence-none",
    "civil-defence-expired",
    "arrears",
    "activity-mismatch",
)


@dataclass(frozen=True)
class Activity:
    """One licensed activity, ISIC rev. 4 style code with its English and Arabic description."""

    code: str
    name_en: str
    name_ar: str


@dataclass(frozen=True)
class Owner:
    """A partner or proprietor as the commercial register lists them."""

    civil_id: str
    name_en: str
    name_ar: str
    share_pct: int


@dataclass(frozen=True)
class Establishment:
    """One business, with what every agency knows of it."""

    cr_no: str
    name_en: str
    name_ar: str
    legal_form: str  # LLC, SPC, EST, SAOC
    legal_form_en: str
    legal_form_ar: str
    activities: tuple[Activity, ...]
    owners: tuple[Owner, ...]
    cr_status: str  # active, suspended, cancelled
    cr_issued: date
    cr_expiry: date
    occi_member_no: str | None
    occi_grade: int | None  # 1 (highest) to 5, None when not a member
    occi_valid_until: date | None
    workers: int
    omani_workers: int
    clearance: bool
    clearance_reason_en: str | None  # why clearance is refused; None when granted
    clearance_reason_ar: str | None
    premises_id: str
    wilayat: str
    wilayat_ar: str
    area_en: str
    area_ar: str
    plot_no: str
    civil_defence_valid_until: date | None
    account_no: str
    arrears_omr: str  # baisa precision, "0.000" when nothing is owed
    licence_no: str
    licence_expiry: date
    licence_activity: Activity

    @property
    def omanisation_ratio(self) -> float:
        """Share of Omani workers, three decimals, as the labour register reports it."""
        return round(self.omani_workers / self.workers, 3)

    def weaknesses_on(self, day: date) -> frozenset[str]:
        """Every check this establishment fails on `day`, read from its data (see WEAKNESSES)."""
        found = set()
        if self.cr_status == "active" and self.cr_expiry < day:
            found.add("cr-expired")
        if self.cr_status in ("suspended", "cancelled"):
            found.add(f"cr-{self.cr_status}")
        if self.occi_grade is None:
            found.add("occi-none")
        elif self.occi_valid_until is None or self.occi_valid_until < day:
            found.add("occi-lapsed")
        if not self.clearance:
            found.add("no-clearance")
        if self.civil_defence_valid_until is None:
            found.add("civil-defence-none")
        elif self.civil_defence_valid_until < day:
            found.add("civil-defence-expired")
        if Decimal(self.arrears_omr) > 0:
            found.add("arrears")
        if self.licence_activity not in self.activities:
            found.add("activity-mismatch")
        return frozenset(found)
