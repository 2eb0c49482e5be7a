"""A stand-in for MOCI's REST API on loopback: OAuth 2.0 client credentials with expiring
bearer tokens, commercial registrations from the simulated world, every fault mode."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.routing import Route

from connectors import world
from connectors.rest.simulator import AgencyReply, Refusal, RestAgencySimulator

DEFAULT_CREDENTIALS = {"client_id": "muscat-hub", "client_secret": "moci-sim-secret"}
NO_REGISTRATION = Refusal(
    "CR_NOT_FOUND", "No commercial registration has this number", "لا يوجد سجل تجاري بهذا الرقم"
)


def registration_body(e: world.Establishment) -> dict[str, Any]:
    """An establishment as MOCI's registration resource shows it."""
    return {
        "crNumber": e.cr_no,
        "commercialName": {"en": e.name_en, "ar": e.name_ar},
        "legalType": {"code": e.legal_form, "en": e.legal_form_en, "ar": e.legal_form_ar},
        "status": e.cr_status.upper(),
        "registrationDate": e.cr_issued.isoformat(),
        "expiryDate": e.cr_expiry.isoformat(),
        "activities": [
            {"isicCode": a.code, "description": {"en": a.name_en, "ar": a.name_ar}}
            for a in e.activities
        ],
        "partners": [
            {
                "civilId": o.civil_id,
                "name": {"en": o.name_en, "ar": o.name_ar},
                "sharePercentage": o.share_pct,
            }
            for o in e.owners
        ],
        "address": {
            "governorate": {"en": "Muscat", "ar": "مسقط"},
            "wilayat": {"en": e.wilayat, "ar": e.wilayat_ar},
        },
    }


class MociSimulator(RestAgencySimulator):
    """MOCI's commercial register; `revoke_tokens()` invalidates every issued token, as a key
    rotation on the agency's side would."""

    agency = "moci"
    default_credentials = DEFAULT_CREDENTIALS

    def __init__(
        self,
        seed: int = 0,
        *,
        credentials: Mapping[str, str] | None = None,
        today: date | None = None,
        latency_s: float = 1.5,
        stall_s: float = 30.0,
        token_ttl_s: int = 300,
    ) -> None:
        self.token_ttl_s = token_ttl_s
        self._tokens: dict[str, float] = {}  # bearer token -> when it expires (monotonic)
        self.tokens_issued = 0
        super().__init__(
            seed,
            credentials=credentials,
            today=today,
            latency_s=latency_s,
            stall_s=stall_s,
        )

    def routes(self) -> list[Route]:
        return [
            Route("/oauth/token", self.open(self._issue_token), methods=["POST"]),
            Route("/api/v1/commercial-registrations/{cr_no}", self.api(self._registration)),
        ]

    def revoke_tokens(self) -> None:
        self._tokens.clear()

    def authorised(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expires = self._tokens.get(token) if scheme.lower() == "bearer" else None
        return expires is not None and time.monotonic() < expires

    def error_body(self, code: str, message_en: str, message_ar: str) -> Any:
        return {"errorCode": code, "message": message_en, "messageAr": message_ar}

    def break_contract(self, reply: AgencyReply) -> AgencyReply:
        """A release that renamed the status values, wrote dates the local way and dropped
        the CR number; its 'not found' lost the error code."""
        status, body = reply
        if status != 200:
            return status, {"message": body.get("message", "")}
        broken = {k: v for k, v in body.items() if k != "crNumber"}
        broken["status"] = str(body["status"]).title()
        broken["expiryDate"] = date.fromisoformat(body["expiryDate"]).strftime("%d/%m/%Y")
        return 200, broken

    async def _issue_token(self, request: Request) -> AgencyReply:
        # A form body (client_secret_post); parse_qs spares a multipart dependency.
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8")).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":  # client_secret_basic, the RFC's default
            decoded = base64.b64decode(encoded).decode("utf-8", "replace")
            client_id, _, client_secret = decoded.partition(":")
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if (client_id, client_secret) != (
            self._credentials["client_id"],
            self._credentials["client_secret"],
        ):
            return 401, {"error": "invalid_client", "error_description": "unknown client"}
        token = secrets.token_urlsafe(24)
        self._tokens[token] = time.monotonic() + self.token_ttl_s
        self.tokens_issued += 1
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl_s}

    async def _registration(self, request: Request) -> AgencyReply:
        found = world.by_cr(request.path_params["cr_no"], self.seed, self.today)
        return self.answer(found, registration_body, NO_REGISTRATION)
