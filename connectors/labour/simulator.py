"""A stand-in for the labour register's API on loopback: HTTP Basic, establishment standing
from the simulated world (workforce, Omanisation, clearance), every fault mode."""

from __future__ import annotations

import base64
import hmac
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from connectors import world
from connectors.rest.simulator import AgencyReply, Refusal, RestAgencySimulator

DEFAULT_CREDENTIALS = {"username": "muscat-hub", "password": "labour-sim-secret"}
NOT_REGISTERED = Refusal(
    "ESTABLISHMENT_NOT_FOUND",
    "No establishment is registered under this CR number",
    "لا توجد منشأة مسجلة بهذا السجل التجاري",
)

# The register's code for each refusal the world knows, in the order of CLEARANCE_REFUSALS.
REFUSAL_CODES = dict(
    zip(
        (en for en, _ in world.CLEARANCE_REFUSALS),
        ("OMANISATION_SHORTFALL", "WPS_NON_COMPLIANCE", "OPEN_COMPLAINT", "EXPIRED_WORK_PERMITS"),
        strict=True,
    )
)


def standing_body(e: world.Establishment) -> dict[str, Any]:
    """An establishment's standing as the labour register's API shows it."""
    certificate: dict[str, Any] = {"status": "VALID" if e.clearance else "WITHHELD"}
    if not e.clearance and e.clearance_reason_en:
        certificate |= {
            "reason_code": REFUSAL_CODES[e.clearance_reason_en],
            "reason_ar": e.clearance_reason_ar,
            "reason_en": e.clearance_reason_en,
        }
    return {
        "cr_number": e.cr_no,
        "establishment": {"name_ar": e.name_ar, "name_en": e.name_en, "wilayat": e.wilayat},
        "manpower": {
            "total_workers": e.workers,
            "omani_workers": e.omani_workers,
            "expatriate_workers": e.workers - e.omani_workers,
            "omanisation_rate": round(100 * e.omani_workers / e.workers, 1),
        },
        "clearance_certificate": certificate,
    }


class LabourSimulator(RestAgencySimulator):
    """The labour register."""

    agency = "labour"
    default_credentials = DEFAULT_CREDENTIALS

    def routes(self) -> list[Route]:
        path = "/api/labour/v1/establishments/{cr_number}/standing"
        return [Route(path, self.api(self._standing))]

    def authorised(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            sent = base64.b64decode(encoded, validate=True)
        except ValueError:
            return False
        expected = f"{self._credentials['username']}:{self._credentials['password']}"
        return hmac.compare_digest(sent, expected.encode())

    def error_body(self, code: str, message_en: str, message_ar: str) -> Any:
        return {"status": "error", "code": code, "message_ar": message_ar, "message_en": message_en}

    def break_contract(self, reply: AgencyReply) -> AgencyReply:
        """A release that sends head counts as text and the rate with a percent sign, without
        the CR number; its 'not found' lost the status field."""
        status, body = reply
        if status != 200:
            return status, {"code": body.get("code", "")}
        manpower = dict(body["manpower"])
        manpower["total_workers"] = str(manpower["total_workers"])
        manpower["omanisation_rate"] = f"{manpower['omanisation_rate']}%"
        broken = {k: v for k, v in body.items() if k != "cr_number"}
        return 200, broken | {"manpower": manpower}

    async def _standing(self, request: Request) -> AgencyReply:
        found = world.by_cr(request.path_params["cr_number"], self.seed, self.today)
        return self.answer(found, standing_body, NOT_REGISTERED)
