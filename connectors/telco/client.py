"""The hub's side of one telco: `charge` through its charging API (REST/JSON, an API key, the
telco's service fee added per its tariff) and `send_sms` through an SMPP transceiver session
to its SMSC, which also hands residents' messages to whoever `listen`s."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

import httpx
from aiosmpplib.utils import detect_format

from connectors.replies import ReplyRejected
from connectors.rest.client import AgencySchemas, JsonAgencyClient, judge
from connectors.telco.identity import Telco
from connectors.telco.session import EsmeSession, MobileOriginated, SessionSettings, SmppFailure
from connectors.telco.simulator import CHARGES_PATH
from contracts import CONTRACTS_DIR
from hub.plugin import (
    AgencyAuthError,
    AgencyError,
    AgencyRateLimited,
    CallContext,
    CallPolicy,
    ConfigurationError,
    Endpoint,
    Health,
    PermanentAgencyError,
    TransientAgencyError,
)

BAISA = Decimal("0.001")
Deliver = Callable[[Mapping[str, str]], Awaitable[None]]


class TelcoClient:
    """One telco endpoint: `api_key` for charging; `system_id`, `password`, `smpp_host`,
    `smpp_port` for its SMSC (bound lazily, on the first send or `listen`)."""

    def __init__(self, telco: Telco, endpoint: Endpoint, policy: CallPolicy) -> None:
        self.telco = telco
        self.policy = policy
        self._credentials = dict(endpoint.credentials)
        if "api_key" not in self._credentials:
            raise ConfigurationError(
                f"{telco.name} endpoint {endpoint.url} needs credentials 'api_key', "
                "'system_id', 'password', 'smpp_host' and 'smpp_port'"
            )
        schemas = AgencySchemas(telco.name, CONTRACTS_DIR / "agencies" / "telco")
        self._api = JsonAgencyClient(
            telco.name,
            endpoint,
            policy,
            schemas,
            headers={"X-Api-Key": self._credentials["api_key"]},
        )
        self._session: EsmeSession | None = None
        self._deliver: Deliver | None = None

    @property
    def session(self) -> EsmeSession:
        """The SMPP session to the telco's SMSC (created, not yet started, on first use)."""
        if self._session is None:
            c = self._credentials
            try:
                settings = SessionSettings(
                    host=c["smpp_host"],
                    port=int(c["smpp_port"]),
                    system_id=c["system_id"],
                    password=c["password"],
                    window=self.telco.window,
                    per_second=self.telco.per_second,
                    response_timeout_s=self.policy.timeout_s,
                )
            except (KeyError, ValueError) as exc:
                raise ConfigurationError(
                    f"{self.telco.name}: SMPP credentials incomplete or wrong ({exc!r})"
                ) from None
            self._session = EsmeSession(self.telco.name, settings, self._received)
        return self._session

    def listen(self, deliver: Deliver) -> None:
        """Bind now and hand each resident's message to `deliver` (its failure leaves the
        message with the SMSC, which delivers it again). Call inside the running loop."""
        self._deliver = deliver
        self.session.start()

    async def _received(self, message: MobileOriginated) -> None:
        if self._deliver is None:
            raise RuntimeError(f"{self.telco.name}: nobody listens for residents' messages")
        await self._deliver(
            {
                "telco": self.telco.name,
                "smsc_message_id": message.smsc_message_id,
                "msisdn": message.source,
                "short_code": message.destination,
                "text": message.text,
            }
        )

    async def call(
        self, operation: str, request: Mapping[str, Any], ctx: CallContext
    ) -> Mapping[str, Any]:
        if operation == "charge":
            return await self._charge(request)
        return await self._send(request)

    async def _charge(self, request: Mapping[str, Any]) -> Mapping[str, Any]:
        amount = Decimal(request["amount"]).quantize(BAISA)
        fee = self.telco.service_fee.quantize(BAISA)
        total = amount + fee
        body = {
            "reference": request["reference"],
            "msisdn": request["msisdn"],
            "amount": str(total),
            "currency": "OMR",
            "description": request["description"],
        }
        try:
            response = await self._api.http.post(CHARGES_PATH, json=body)
            if response.status_code == 402:
                declined = judge(response, self._api.schemas, "declined", expected=402)
                reason = (
                    "barred" if declined["code"] == "SUBSCRIBER_BARRED" else "insufficient-balance"
                )
                extra: dict[str, Any] = {"charged": False, "reason": reason}
            else:
                charged = judge(response, self._api.schemas, "charge")
                declined, extra = charged, {"charged": True, "charge_id": charged["charge_id"]}
        except (ReplyRejected, httpx.HTTPError) as exc:
            raise self._api.classify("charge", exc) from exc
        return extra | {
            "reference": request["reference"],
            "amount": str(amount),
            "fee": str(fee),
            "total": str(total),
            "currency": "OMR",
            "message_en": declined["message_en"],
            "message_ar": declined["message_ar"],
        }

    async def _send(self, request: Mapping[str, Any]) -> Mapping[str, Any]:
        text = str(request["text"])
        try:
            ids = await self.session.submit(self.telco.short_code, str(request["to"]), text)
        except SmppFailure as failure:
            raise smpp_error(self.telco.name, "send_sms", failure) from None
        encoding = "ucs2" if detect_format(text) == "ucs2" else "gsm0338"
        return {"message_ids": ids, "parts": len(ids), "encoding": encoding, "text": text}

    async def health(self) -> Health:
        return await self._api.health()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.stop()
        await self._api.aclose()


def smpp_error(telco: str, operation: str, failure: SmppFailure) -> AgencyError:
    """The hub's error class for a failed submit: throttling and a refused bind say so."""
    if failure.kind == "throttled":
        return AgencyRateLimited(telco, operation, failure.reason, retry_after=1.0)
    if failure.kind == "auth":
        return AgencyAuthError(telco, operation, failure.reason)
    if failure.kind == "refused":
        return PermanentAgencyError(telco, operation, failure.reason)
    return TransientAgencyError(telco, operation, failure.reason)
