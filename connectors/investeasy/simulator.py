"""A stand-in for the Invest Easy portal on loopback. It receives the hub's decision
callbacks and confirms them (the same decision again gets the same receipt; a different one
is refused with 409, so a test sees it if the hub ever sent two), and it plays the portal's
other side too: `submit` sends an approval request to the hub's partner endpoint. Told to
(`require_signatures`), it refuses a body without the municipality's valid detached JWS over
its exact bytes (422 SIGNATURE_REFUSED, naming the reason)."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography import x509
from starlette.requests import Request
from starlette.routing import Route

from connectors.rest.simulator import AgencyReply, Refusal, RestAgencySimulator
from hub.plugin import JwsRefused, verify_detached

DEFAULT_CREDENTIALS = {"api_key": "investeasy-sim-key"}
CONFLICT = Refusal(
    "DECISION_CONFLICT",
    "A different decision is already recorded on this application",
    "تم تسجيل قرار مختلف على هذا الطلب مسبقاً",
)
INVALID = Refusal("INVALID_REQUEST", "The decision is incomplete", "القرار غير مكتمل")
RECORDED = {"en": "Decision recorded on the application.", "ar": "تم تسجيل القرار على الطلب."}
STATUS_RECORDED = {
    "en": "Licence status recorded on the application.",
    "ar": "تم تسجيل حالة الرخصة على الطلب.",
}
APPLICATIONS_PATH = "/api/v1/investeasy/applications"
SIGNATURE_HEADER = "x-jws-signature"


class InvestEasySimulator(RestAgencySimulator):
    """The portal: `decisions` holds the one decision it recorded per application,
    `callbacks` counts every callback it received (confirmed or not)."""

    agency = "investeasy"
    default_credentials = DEFAULT_CREDENTIALS

    def __init__(self, seed: int = 0, **options: Any) -> None:
        super().__init__(seed, **options)
        self.decisions: dict[str, dict[str, Any]] = {}
        self.receipts: dict[str, dict[str, Any]] = {}
        self.callbacks: dict[str, int] = {}
        self.conflicts: list[dict[str, Any]] = []
        self.licence_statuses: dict[str, dict[str, Any]] = {}
        self.signature_refusals: list[str] = []  # the reason of each refused signature
        self._trust_anchor: x509.Certificate | None = None
        self._lock = threading.Lock()

    def require_signatures(self, trust_anchor: x509.Certificate | None) -> None:
        """From now on (None: no longer): refuse a body that does not carry a detached JWS
        over its exact bytes by a certificate of `trust_anchor`, valid now."""
        self._trust_anchor = trust_anchor

    async def _signature_refusal(self, request: Request) -> AgencyReply | None:
        anchor = self._trust_anchor
        if anchor is None:
            return None
        body = await request.body()
        try:
            verify_detached(request.headers.get(SIGNATURE_HEADER), body, anchor)
        except JwsRefused as exc:
            with self._lock:
                self.signature_refusals.append(exc.reason)
            refusal = Refusal(
                "SIGNATURE_REFUSED",
                f"The municipality's signature is refused: {exc}",
                f"توقيع البلدية مرفوض: {exc.reason}",
            )
            return self.refused(422, refusal)
        return None

    def routes(self) -> list[Route]:
        applications = "/api/portal/v1/applications/{reference}"
        return [
            Route(f"{applications}/decision", self.api(self._decision), methods=["POST"]),
            Route(
                f"{applications}/licence-status",
                self.api(self._licence_status),
                methods=["POST"],
            ),
        ]

    def authorised(self, request: Request) -> bool:
        sent = request.headers.get("x-portal-key", "")
        return hmac.compare_digest(sent.encode(), self._credentials["api_key"].encode())

    def error_body(self, code: str, message_en: str, message_ar: str) -> Any:
        return {"errorCode": code, "message": message_en, "messageAr": message_ar}

    def break_contract(self, reply: AgencyReply) -> AgencyReply:
        """A release that renamed the receipt and sent the decision in lower case."""
        status, body = reply
        if status != 200:
            return status, {"message": body.get("message", "")}
        broken = {k: v for k, v in body.items() if k != "receiptNo"}
        return 200, broken | {"receipt": body["receiptNo"], "decision": body["decision"].lower()}

    async def _decision(self, request: Request) -> AgencyReply:
        reference = request.path_params["reference"]
        refused = await self._signature_refusal(request)
        if refused is not None:
            return refused
        try:
            body = await request.json()
            decision = str(body["decision"])
        except (ValueError, KeyError, TypeError):
            return self.refused(400, INVALID)
        held = {k: v for k, v in body.items() if k != "decidedAt"}
        with self._lock:
            self.callbacks[reference] = self.callbacks.get(reference, 0) + 1
            recorded = self.decisions.setdefault(reference, held)
            if recorded != held:
                self.conflicts.append(body)
                return self.refused(409, CONFLICT)
            receipt = self.receipts.get(reference)
            if receipt is None:
                token = hashlib.sha256(f"{self.seed}:{reference}".encode()).hexdigest()[:8]
                receipt = self.receipts[reference] = {
                    "applicationReference": reference,
                    "decision": decision,
                    "receiptNo": f"IE-RCPT-{token.upper()}",
                    "recordedAt": datetime.now(UTC).isoformat(timespec="seconds"),
                    "message": dict(RECORDED),
                }
        return 200, receipt

    async def _licence_status(self, request: Request) -> AgencyReply:
        reference = request.path_params["reference"]
        refused = await self._signature_refusal(request)
        if refused is not None:
            return refused
        try:
            body = await request.json()
            licence_no, status = str(body["licenceNumber"]), str(body["licenceStatus"])
        except (ValueError, KeyError, TypeError):
            return self.refused(400, INVALID)
        with self._lock:
            self.licence_statuses[reference] = body
        token = hashlib.sha256(f"{self.seed}:{reference}:{status}".encode()).hexdigest()[:8]
        return 200, {
            "applicationReference": reference,
            "licenceNumber": licence_no,
            "licenceStatus": status,
            "receiptNo": f"IE-LS-{token.upper()}",
            "message": dict(STATUS_RECORDED),
        }


def submit(hub_url: str, api_key: str, application: Mapping[str, Any]) -> httpx.Response:
    """The portal's approval request to the hub (what Invest Easy sends when an investor's
    activities need a municipal licence)."""
    return httpx.post(
        f"{hub_url}{APPLICATIONS_PATH}",
        json=dict(application),
        headers={"X-Api-Key": api_key},
        timeout=10.0,
    )


def status(hub_url: str, api_key: str, application_ref: str) -> httpx.Response:
    """The portal asking the hub where an application stands."""
    return httpx.get(
        f"{hub_url}{APPLICATIONS_PATH}/{application_ref}",
        headers={"X-Api-Key": api_key},
        timeout=10.0,
    )
