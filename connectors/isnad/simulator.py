"""A stand-in for the Tender Board's Isnad on loopback: it files tenders (the same reference
again gets the same number) and pushes each tender's status changes to the hub's partner
endpoint, numbered in order per tender, as Isnad would. Tests resend or reorder pushes with
`send`."""

from __future__ import annotations

import base64
import hmac
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.requests import Request
from starlette.routing import Route

from connectors.rest.simulator import AgencyReply, Refusal, RestAgencySimulator

DEFAULT_CREDENTIALS = {"username": "muscat-municipality", "password": "isnad-sim-secret"}
INVALID = Refusal("INVALID_TENDER", "The tender is incomplete", "بيانات المناقصة غير مكتملة")
PUSH_PATH = "/api/v1/push/isnad/tender-status"


class IsnadSimulator(RestAgencySimulator):
    """Isnad: `tenders` holds each filed tender by its number."""

    agency = "isnad"
    default_credentials = DEFAULT_CREDENTIALS

    def __init__(self, seed: int = 0, **options: Any) -> None:
        super().__init__(seed, **options)
        self.tenders: dict[str, dict[str, Any]] = {}
        self._numbers: dict[str, str] = {}  # entity reference -> tender number
        self._sequences: dict[str, int] = {}
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [Route("/api/isnad/v1/tenders", self.api(self._file), methods=["POST"])]

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
        return {"error": {"code": code, "descriptionEn": message_en, "descriptionAr": message_ar}}

    def break_contract(self, reply: AgencyReply) -> AgencyReply:
        """A release that dropped the tender number and sent the title as one string."""
        status, body = reply
        if status != 200:
            return status, {"message": "error"}
        broken = {k: v for k, v in body.items() if k != "tenderNumber"}
        return 200, broken | {"title": body["title"]["en"]}

    async def _file(self, request: Request) -> AgencyReply:
        try:
            body = await request.json()
            reference = str(body["entityReference"])
            title = {"en": str(body["titleEn"]), "ar": str(body["titleAr"])}
        except (ValueError, KeyError, TypeError):
            return self.refused(400, INVALID)
        with self._lock:
            number = self._numbers.get(reference)
            if number is None:
                number = f"ISN-{datetime.now(UTC).year}-{4217 + len(self._numbers):06d}"
                self._numbers[reference] = number
                self.tenders[number] = {
                    "tenderNumber": number,
                    "entityReference": reference,
                    "status": "FILED",
                    "title": title,
                    "closingDate": body.get("closingDate"),
                    "filedAt": datetime.now(UTC).isoformat(timespec="seconds"),
                }
        return 200, self.tenders[number]

    def change(
        self,
        tender_no: str,
        status: str,
        *,
        award: Mapping[str, Any] | None = None,
        note: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The next status change of a tender as Isnad pushes it (numbered in order)."""
        with self._lock:
            sequence = self._sequences[tender_no] = self._sequences.get(tender_no, 0) + 1
        body: dict[str, Any] = {
            "tender_no": tender_no,
            "sequence": sequence,
            "status": status,
            "changed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if award is not None:
            body["award"] = dict(award)
        if note is not None:
            body["note"] = dict(note)
        return body


def send(hub_url: str, api_key: str, change: Mapping[str, Any]) -> httpx.Response:
    """Push one status change to the hub's partner endpoint."""
    return httpx.post(
        f"{hub_url}{PUSH_PATH}", json=dict(change), headers={"X-Api-Key": api_key}, timeout=10.0
    )
