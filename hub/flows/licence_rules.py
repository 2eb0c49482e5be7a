"""The trade licence decision, as a municipal officer would review it.

Five checks, each answered by the agency that holds the fact. A licence is approved (renewed
or issued) only when every check passes; otherwise it is rejected with one line per check,
in English and Arabic, so the portal and the Baladiyati app can show them as they are.

| check                   | agency      | passes when                                         |
| ----------------------- | ----------- | --------------------------------------------------- |
| commercial-registration | moci        | the CR exists, is active, unexpired, and lists      |
|                         |             | every activity the licence covers                   |
| chamber-membership      | occi        | the establishment is a member, membership valid     |
| labour-standing         | labour      | the labour register gives its clearance             |
| civil-defence           | rop         | the premises hold a valid civil defence certificate |
| electricity-account     | electricity | the premises' account exists and owes nothing       |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from hub.flows.dates import add_months

CHECKS: tuple[tuple[str, str], ...] = (
    ("commercial-registration", "moci"),
    ("chamber-membership", "occi"),
    ("labour-standing", "labour"),
    ("civil-defence", "rop"),
    ("electricity-account", "electricity"),
)

REASONS: dict[str, tuple[str, str]] = {
    "ok-cr": (
        "Commercial registration {cr_no} is active until {expiry}.",
        "السجل التجاري {cr_no} ساري حتى {expiry}.",
    ),
    "cr-not-found": (
        "No commercial registration {cr_no} at the Ministry of Commerce.",
        "لا يوجد سجل تجاري برقم {cr_no} لدى وزارة التجارة والصناعة.",
    ),
    "cr-not-active": (
        "Commercial registration {cr_no} is {status}.",
        "السجل التجاري {cr_no} غير نشط ({status_ar}).",
    ),
    "cr-expired": (
        "Commercial registration {cr_no} expired on {expiry}.",
        "انتهت صلاحية السجل التجاري {cr_no} بتاريخ {expiry}.",
    ),
    "activity-mismatch": (
        "Activities {codes} are not registered on CR {cr_no}.",
        "الأنشطة {codes} غير مسجلة في السجل التجاري {cr_no}.",
    ),
    "ok-occi": (
        "Chamber membership valid until {valid_until}.",
        "عضوية الغرفة سارية حتى {valid_until}.",
    ),
    "occi-not-member": (
        "The establishment is not a member of the Chamber of Commerce.",
        "المنشأة ليست عضواً في غرفة تجارة وصناعة عمان.",
    ),
    "occi-lapsed": (
        "Chamber membership lapsed on {valid_until}.",
        "انتهت عضوية الغرفة بتاريخ {valid_until}.",
    ),
    "ok-labour": (
        "Labour clearance granted ({omani} of {workers} workers Omani).",
        "شهادة العمل سارية ({omani} من {workers} عاملاً عمانيون).",
    ),
    "labour-not-found": (
        "The labour register does not know CR {cr_no}.",
        "السجل التجاري {cr_no} غير مسجل لدى وزارة العمل.",
    ),
    "labour-no-clearance": (
        "The labour register withholds its clearance: {why}",
        "لم تمنح وزارة العمل شهادة عدم الممانعة: {why_ar}",
    ),
    "ok-civil-defence": (
        "Civil defence certificate {certificate_no} valid until {valid_until}.",
        "شهادة الدفاع المدني {certificate_no} سارية حتى {valid_until}.",
    ),
    "cd-missing": (
        "Premises {premises_id} hold no civil defence certificate.",
        "لا توجد شهادة دفاع مدني للموقع {premises_id}.",
    ),
    "cd-expired": (
        "The civil defence certificate of premises {premises_id} expired on {valid_until}.",
        "انتهت صلاحية شهادة الدفاع المدني للموقع {premises_id} بتاريخ {valid_until}.",
    ),
    "ok-electricity": (
        "Electricity account {account_no} has no arrears.",
        "حساب الكهرباء {account_no} لا توجد عليه متأخرات.",
    ),
    "account-not-found": (
        "No electricity account {account_no}.",
        "لا يوجد حساب كهرباء برقم {account_no}.",
    ),
    "arrears": (
        "Electricity account {account_no} owes OMR {arrears}.",
        "على حساب الكهرباء {account_no} متأخرات بقيمة {arrears} ريال عماني.",
    ),
}
_STATUS_AR = {"suspended": "موقوف", "cancelled": "ملغى", "expired": "منتهي"}


@dataclass(frozen=True)
class CheckLine:
    check: str
    agency: str
    passed: bool
    code: str
    en: str
    ar: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "agency": self.agency,
            "outcome": "pass" if self.passed else "fail",
            "reason": {"code": self.code, "en": self.en, "ar": self.ar},
        }


def _line(check: str, agency: str, passed: bool, code: str, **values: Any) -> CheckLine:
    en, ar = REASONS[code]
    text = {k: str(v) for k, v in values.items()}
    return CheckLine(check, agency, passed, code, en.format(**text), ar.format(**text))


@dataclass(frozen=True)
class LicenceFacts:
    """What the five agencies said (canonical replies, as the connectors return them)."""

    registration: Mapping[str, Any]
    membership: Mapping[str, Any]
    labour: Mapping[str, Any]
    civil_defence: Mapping[str, Any]
    electricity: Mapping[str, Any]


def check_registration(
    reply: Mapping[str, Any], cr_no: str, activities: list[str], today: date
) -> CheckLine:
    name, agency = CHECKS[0]
    if not reply.get("found"):
        return _line(name, agency, False, "cr-not-found", cr_no=cr_no)
    cr = reply["registration"]
    if cr["status"] != "active":
        return _line(
            name,
            agency,
            False,
            "cr-not-active",
            cr_no=cr_no,
            status=cr["status"],
            status_ar=_STATUS_AR.get(cr["status"], cr["status"]),
        )
    if date.fromisoformat(cr["expiry"]) < today:
        return _line(name, agency, False, "cr-expired", cr_no=cr_no, expiry=cr["expiry"])
    registered = {activity["code"] for activity in cr.get("activities", [])}
    missing = [code for code in activities if code not in registered]
    if missing:
        return _line(
            name, agency, False, "activity-mismatch", cr_no=cr_no, codes=", ".join(missing)
        )
    return _line(name, agency, True, "ok-cr", cr_no=cr_no, expiry=cr["expiry"])


def check_membership(reply: Mapping[str, Any], today: date) -> CheckLine:
    name, agency = CHECKS[1]
    if not reply.get("found"):
        return _line(name, agency, False, "occi-not-member")
    valid_until = reply["membership"]["valid_until"]
    if date.fromisoformat(valid_until) < today:
        return _line(name, agency, False, "occi-lapsed", valid_until=valid_until)
    return _line(name, agency, True, "ok-occi", valid_until=valid_until)


def check_labour(reply: Mapping[str, Any], cr_no: str) -> CheckLine:
    name, agency = CHECKS[2]
    if not reply.get("found"):
        return _line(name, agency, False, "labour-not-found", cr_no=cr_no)
    standing = reply["standing"]
    if not standing["clearance"]:
        return _line(
            name,
            agency,
            False,
            "labour-no-clearance",
            why=standing.get("clearance_reason_en", "no reason given."),
            why_ar=standing.get("clearance_reason_ar", "دون ذكر السبب."),
        )
    return _line(
        name,
        agency,
        True,
        "ok-labour",
        omani=standing["omani_workers"],
        workers=standing["workers"],
    )


def check_civil_defence(reply: Mapping[str, Any], premises_id: str, today: date) -> CheckLine:
    name, agency = CHECKS[3]
    if not reply.get("found"):
        return _line(name, agency, False, "cd-missing", premises_id=premises_id)
    certificate = reply["certificate"]
    if date.fromisoformat(certificate["valid_until"]) < today:
        return _line(
            name,
            agency,
            False,
            "cd-expired",
            premises_id=premises_id,
            valid_until=certificate["valid_until"],
        )
    return _line(
        name,
        agency,
        True,
        "ok-civil-defence",
        certificate_no=certificate["certificate_no"],
        valid_until=certificate["valid_until"],
    )


def check_electricity(reply: Mapping[str, Any], account_no: str) -> CheckLine:
    name, agency = CHECKS[4]
    if not reply.get("found"):
        return _line(name, agency, False, "account-not-found", account_no=account_no)
    arrears = Decimal(reply["account"]["arrears_omr"])
    if arrears > 0:
        return _line(
            name, agency, False, "arrears", account_no=account_no, arrears=f"{arrears:.3f}"
        )
    return _line(name, agency, True, "ok-electricity", account_no=account_no)


@dataclass(frozen=True)
class LicenceDecision:
    approved: bool
    lines: list[CheckLine]
    new_expiry: date | None


def decide_licence(
    facts: LicenceFacts,
    *,
    cr_no: str,
    activities: list[str],
    premises_id: str,
    account_no: str,
    current_expiry: date | None,
    today: date,
) -> LicenceDecision:
    """Every check, then the decision: approved only when all five pass. A renewal runs one
    year from the later of today and the current expiry; a new licence one year from today."""
    lines = [
        check_registration(facts.registration, cr_no, activities, today),
        check_membership(facts.membership, today),
        check_labour(facts.labour, cr_no),
        check_civil_defence(facts.civil_defence, premises_id, today),
        check_electricity(facts.electricity, account_no),
    ]
    approved = all(line.passed for line in lines)
    start = max(today, current_expiry) if current_expiry else today
    return LicenceDecision(approved, lines, add_months(start, 12) if approved else None)
