"""The hub's side of a payment provider's REST API: create a payment, ask its status, refund
it, fetch the day's settlement report. Replies are checked against the providers' JSON
Schemas (contracts/agencies/payments) before mapping; failures leave as the hub's errors."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import httpx

from connectors.payments import mapping
from connectors.payments.identity import Provider
from connectors.payments.settlement import SettlementReportError, read_report
from connectors.replies import ReplyRejected, judge_status
from connectors.rest.client import AgencySchemas, JsonAgencyClient, judge
from contracts import CONTRACTS_DIR
from hub.plugin import (
    CallContext,
    CallPolicy,
    ConfigurationError,
    Endpoint,
    Health,
    PermanentAgencyError,
)

SCHEMAS = CONTRACTS_DIR / "agencies" / "payments"


class PaymentClient:
    """One provider's endpoint, authenticated by its merchant key header."""

    def __init__(self, provider: Provider, endpoint: Endpoint, policy: CallPolicy) -> None:
        try:
            key = endpoint.credentials["api_key"]
        except KeyError:
            raise ConfigurationError(
                f"{provider.name} endpoint {endpoint.url} needs credential 'api_key'"
            ) from None
        self.provider = provider
        self.schemas = AgencySchemas(provider.name, SCHEMAS)
        self._api = JsonAgencyClient(
            provider.name, endpoint, policy, self.schemas, headers={provider.key_header: key}
        )

    async def call(
        self, operation: str, request: Mapping[str, Any], ctx: CallContext
    ) -> Mapping[str, Any]:
        if operation == "create_payment":
            reply = await self._send(
                operation, "POST", "/api/payments", mapping.create_body(request)
            )
            assert reply is not None  # a create never answers "not found"
            return mapping.created(reply)
        payment_id = str(request["payment_id"])
        if operation == "payment_status":
            reply = await self._send(operation, "GET", f"/api/payments/{payment_id}", None)
            return mapping.status(reply, payment_id)
        body = {
            "refundReference": request["refund_reference"],
            "amount": request["amount"],
            "reason": request["reason"],
        }
        path = f"/api/payments/{payment_id}/refunds"
        reply = await self._send(operation, "POST", path, body, refusable=True)
        return mapping.refunded(reply, payment_id, "لا يمكن رد هذا المبلغ")

    async def _send(
        self,
        operation: str,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        refusable: bool = False,
    ) -> Any:
        """The validated payment body; None for a well-formed 404 (and 409 when `refusable`)."""
        try:
            response = await self._api.http.request(method, path, json=body)
            if response.status_code == 404 or (refusable and response.status_code == 409):
                judge(response, self.schemas, "error", expected=response.status_code)
                return None
            expected = 201 if response.status_code == 201 else 200
            return judge(response, self.schemas, "payment", expected=expected)
        except (ReplyRejected, httpx.HTTPError) as exc:
            raise self._api.classify(operation, exc) from exc

    async def settlement_report(self, day: date) -> str:
        """The provider's settlement CSV for `day`, as shipped."""
        try:
            response = await self._api.http.get(f"/api/settlements/{day.isoformat()}")
            judge_status(response.status_code, response.headers)
        except (ReplyRejected, httpx.HTTPError) as exc:
            raise self._api.classify("settlement_report", exc) from exc
        if not response.headers.get("content-type", "").startswith("text/csv"):
            raise PermanentAgencyError(self.provider.name, "settlement_report", "reply is not CSV")
        return response.text

    async def settlement(self, day: date) -> list[dict[str, str]]:
        """The settlement report of `day` as canonical rows (amounts as three-decimal text);
        a report the hub cannot read is a permanent error naming the line."""
        try:
            rows = read_report(await self.settlement_report(day))
        except SettlementReportError as exc:
            raise PermanentAgencyError(self.provider.name, "settlement_report", str(exc)) from None
        return [
            {
                "payment_id": row.payment_id,
                "reference": row.merchant_reference,
                "amount": f"{row.amount}",
                "currency": row.currency,
                "paid_at": row.paid_at,
            }
            for row in rows
        ]

    async def health(self) -> Health:
        return await self._api.health()

    async def aclose(self) -> None:
        await self._api.aclose()
