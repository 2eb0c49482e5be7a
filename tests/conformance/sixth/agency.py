"""The Social Protection Fund's client and simulator, built from the hub's REST toolkit as a
third-party plugin would build them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.routing import Route

from connectors import world
from connectors.rest.client import AgencySchemas, JsonAgencyClient
from connectors.rest.simulator import AgencyReply, RestAgencySimulator
from hub.plugin import CallContext, CallPolicy, Endpoint, Health

OVERDUE = ("Social insurance contributions overdue", "اشتراكات التأمينات الاجتماعية متأخرة")


def to_canonical(reply: Mapping[str, Any] | None) -> dict[str, Any]:
    if reply is None:
        return {"found": False}
    omani, other = reply["insured"]["omani"], reply["insured"]["nonOmani"]
    standing: dict[str, Any] = {
        "cr_no": reply["employer"]["crNo"],
        "name_en": reply["employer"]["nameEn"],
        "name_ar": reply["employer"]["nameAr"],
        "workers": omani + other,
        "omani_workers": omani,
        "omanisation_ratio": round(omani / (omani + other), 3) if omani + other else 0.0,
        "clearance": reply["contributions"]["upToDate"],
    }
    if not standing["clearance"]:
        standing["clearance_reason_en"], standing["clearance_reason_ar"] = OVERDUE
    return {"found": True, "standing": standing}


class SpfClient:
    def __init__(self, endpoint: Endpoint, policy: CallPolicy) -> None:
        schemas = AgencySchemas("spf", Path(__file__).parent)
        headers = {"X-SPF-Key": endpoint.credentials.get("key", "")}
        self._api = JsonAgencyClient("spf", endpoint, policy, schemas, headers=headers)

    async def call(
        self, operation: str, request: Mapping[str, Any], ctx: CallContext
    ) -> Mapping[str, Any]:
        path = f"/spf/v1/employers/{quote(request['cr_no'], safe='')}/insured-summary"
        reply = await self._api.get(
            operation, path, schema="insured-summary", not_found_schema="not-found"
        )
        return to_canonical(reply)

    async def health(self) -> Health:
        return await self._api.health()

    async def aclose(self) -> None:
        await self._api.aclose()


class SpfSimulator(RestAgencySimulator):
    agency = "spf"

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed, credentials={"key": "spf-sim-key"})

    def routes(self) -> list[Route]:
        path = "/spf/v1/employers/{cr_no}/insured-summary"
        return [Route(path, self.api(self._summary))]

    def authorised(self, request: Request) -> bool:
        return request.headers.get("x-spf-key") == self._credentials["key"]

    def error_body(self, code: str, message_en: str, message_ar: str) -> Any:
        return {"code": code, "message": message_en}

    def break_contract(self, reply: AgencyReply) -> AgencyReply:
        status, body = reply
        if status != 200:
            return status, {}
        return 200, body | {"insured": {"omani": "many"}}

    async def _summary(self, request: Request) -> AgencyReply:
        e = world.by_cr(request.path_params["cr_no"], self.seed, self.today)
        if e is None:
            return 404, self.error_body("EMPLOYER_NOT_FOUND", "no such employer", "")
        return 200, {
            "employer": {"crNo": e.cr_no, "nameEn": e.name_en, "nameAr": e.name_ar},
            "insured": {"omani": e.omani_workers, "nonOmani": e.workers - e.omani_workers},
            "contributions": {"upToDate": e.clearance},
        }
