"""A stand-in for OCCI's membership API on loopback: an API key, memberships from the
simulated world (valid, lapsed or none), every fault mode."""

from __future__ import annotations

import hmac
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from connectors import world
from connectors.rest.simulator import AgencyReply, Refusal, RestAgencySimulator

DEFAULT_CREDENTIALS = {"api_key": "occi-sim-key-2f7c1d"}
NOT_A_MEMBER = Refusal(
    "MEMBERSHIP_NOT_FOUND",
    "No chamber membership is registered under this CR number",
    "لا توجد عضوية في الغرفة مسجلة بهذا السجل التجاري",
)

GRADES = {
    1: ("Excellent Grade", "الدرجة الممتازة"),
    2: ("First Grade", "الدرجة الأولى"),
    3: ("Second Grade", "الدرجة الثانية"),
    4: ("Third Grade", "الدرجة الثالثة"),
    5: ("Fourth Grade", "الدرجة الرابعة"),
}


def membership_body(e: world.Establishment, today: date) -> dict[str, Any]:
    """An establishment's membership as OCCI's API shows it (only for members)."""
    assert e.occi_grade is not None and e.occi_valid_until is not None
    grade_en, grade_ar = GRADES[e.occi_grade]
    return {
        "data": {
            "membershipNo": e.occi_member_no,
            "crNo": e.cr_no,
            "companyName": {"en": e.name_en, "ar": e.name_ar},
            "grade": {"level": e.occi_grade, "en": grade_en, "ar": grade_ar},
            "validUntil": e.occi_valid_until.isoformat(),
            "status": "ACTIVE" if e.occi_valid_until >= today else "EXPIRED",
        }
    }


class OcciSimulator(RestAgencySimulator):
    """The chamber's membership register."""

    agency = "occi"
    default_credentials = DEFAULT_CREDENTIALS

    def routes(self) -> list[Route]:
        return [Route("/v1/memberships", self.api(self._membership))]

    def authorised(self, request: Request) -> bool:
        sent = request.headers.get("x-api-key", "")
        return hmac.compare_digest(sent.encode(), self._credentials["api_key"].encode())

    def error_body(self, code: str, message_en: str, message_ar: str) -> Any:
        return {"error": {"code": code, "message": message_en, "messageAr": message_ar}}

    def break_contract(self, reply: AgencyReply) -> AgencyReply:
        """A release that sends the grade as text, dates as dd-mm-yyyy and no member number;
        its 'not found' became a 200 with an empty list."""
        status, body = reply
        if status != 200:
            return 200, {"data": []}
        data = {k: v for k, v in body["data"].items() if k != "membershipNo"}
        data["grade"] = str(data["grade"]["level"])
        data["validUntil"] = date.fromisoformat(data["validUntil"]).strftime("%d-%m-%Y")
        return 200, {"data": data}

    async def _membership(self, request: Request) -> AgencyReply:
        today = self.today or date.today()
        found = world.by_cr(request.query_params.get("crNo", ""), self.seed, today)
        member = found if found is not None and found.occi_grade is not None else None
        return self.answer(member, lambda e: membership_body(e, today), NOT_A_MEMBER)
