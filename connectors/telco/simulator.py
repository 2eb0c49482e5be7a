"""A telco on loopback: its charging API (REST/JSON, an API key, the REST fault modes) and its
SMSC (real SMPP 3.4, `smsc.py`, with its own faults). Admin routes for tests and the CLI:
POST /_sim/sms (a resident's message), GET/POST /_sim/smpp-fault."""

from __future__ import annotations

import asyncio
import hmac
import itertools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.rest.simulator import AgencyReply, RestAgencySimulator, json_response
from connectors.telco.identity import Telco
from connectors.telco.smsc import SMPP_FAULTS, SmscSimulator

CHARGES_PATH = "/api/charging/v1/charges"
NO_BALANCE_SUFFIX = "0000"  # subscribers whose number ends so have no balance left


class TelcoSimulator(RestAgencySimulator):
    """One telco: `charges` holds every charge taken (once per reference), `smsc` its SMSC."""

    def __init__(self, seed: int = 0, *, telco: Telco, **kwargs: Any) -> None:
        self.telco = telco
        self.agency = telco.name
        defaults = {
            "api_key": f"{telco.name}-sim-key",
            "system_id": telco.system_id,
            "password": f"{telco.name[:4]}pw",  # SMPP passwords are at most 8 characters
        }
        self.charges: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        super().__init__(seed, credentials=kwargs.pop("credentials", None) or defaults, **kwargs)
        self.smsc = SmscSimulator(
            self._credentials["system_id"], self._credentials["password"], telco.short_code
        )

    @property
    def credentials(self) -> Mapping[str, str]:
        return dict(self._credentials) | {
            "smpp_host": "127.0.0.1",
            "smpp_port": str(self.smsc.port),
        }

    def close(self) -> None:
        self.smsc.close()

    def routes(self) -> list[Route]:
        return [
            Route(CHARGES_PATH, self.api(self._charge), methods=["POST"]),
            Route("/_sim/sms", self._inject, methods=["POST"]),
            Route("/_sim/smpp-fault", self._smpp_fault, methods=["GET", "POST"]),
        ]

    def authorised(self, request: Request) -> bool:
        sent = request.headers.get("x-api-key", "")
        return hmac.compare_digest(sent.encode(), self._credentials["api_key"].encode())

    def error_body(self, code: str, message_en: str, message_ar: str) -> Any:
        return {"status": "error", "code": code, "message_en": message_en, "message_ar": message_ar}

    def break_contract(self, reply: AgencyReply) -> AgencyReply:
        """A release that sends the amount as a number and lost the charge id."""
        status, body = reply
        if status != 200:
            return status, {"code": body.get("code", "")}
        broken = {k: v for k, v in body.items() if k != "charge_id"}
        return 200, broken | {"amount": float(body["amount"])}

    async def _charge(self, request: Request) -> AgencyReply:
        body = await request.json()
        reference, msisdn = str(body["reference"]), str(body["msisdn"])
        if msisdn.endswith(NO_BALANCE_SUFFIX):
            return 402, self.error_body(
                "INSUFFICIENT_BALANCE", "Insufficient balance", "الرصيد غير كافٍ"
            )
        if reference not in self.charges:  # the reference is the idempotency key
            self.charges[reference] = {
                "charge_id": f"{self.telco.charge_prefix}-{next(self._ids):07d}",
                "reference": reference,
                "msisdn": msisdn,
                "amount": str(Decimal(body["amount"])),
                "currency": "OMR",
                "status": "CHARGED",
                "message_en": "Charged to your balance",
                "message_ar": "تم الخصم من رصيدك",
            }
        return 200, self.charges[reference]

    async def _inject(self, request: Request) -> Response:
        body = await request.json()
        try:
            smsc_id = await asyncio.to_thread(
                self.smsc.inject, str(body["msisdn"]), str(body["text"])
            )
        except (ConnectionError, TimeoutError) as exc:
            return json_response(409, {"error": str(exc) or type(exc).__name__})
        return json_response(200, {"smsc_message_id": smsc_id})

    async def _smpp_fault(self, request: Request) -> Response:
        if request.method == "POST":
            mode = str((await request.json()).get("mode", ""))
            if mode not in SMPP_FAULTS:
                return json_response(400, {"error": f"unknown mode {mode!r}", "modes": SMPP_FAULTS})
            self.smsc.set_smpp_fault(mode)
        return json_response(200, {"mode": self.smsc.smpp_fault})
