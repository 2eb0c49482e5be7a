"""A payment provider's REST API on loopback: payments created idempotently by merchant
reference, a payment page the payer "pays" on (`pay`), the signed notification sent to the
merchant's callback URL, status queries, refunds once, and the daily settlement report as CSV.
Every fault mode of the agency simulators applies to the API routes."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.payments.identity import Provider
from connectors.payments.settlement import SettledPayment, write_report
from connectors.payments.signature import sign
from connectors.rest.simulator import AgencyReply, Refusal, RestAgencySimulator, json_response

MILLS = Decimal("0.001")
NO_PAYMENT = Refusal("PAYMENT_NOT_FOUND", "No payment has this id", "لا توجد عملية دفع بهذا الرقم")
NOT_PAID = Refusal(
    "NOT_REFUNDABLE", "Only a paid payment can be refunded", "لا يمكن رد مبلغ غير مدفوع"
)


@dataclass
class SimulatedPayment:
    payment_id: str
    reference: str
    amount: Decimal
    currency: str
    payer_reference: str
    created_at: datetime
    expires_at: datetime
    status: str = "PENDING"
    paid_at: datetime | None = None
    refund_id: str | None = None
    refund_reference: str | None = None


@dataclass(frozen=True)
class Notification:
    """What the provider POSTs to the merchant: the exact body and its signature header."""

    body: bytes
    signature: str
    header: str

    @property
    def headers(self) -> dict[str, str]:
        return {self.header: self.signature, "Content-Type": "application/json"}


class PaymentSimulator(RestAgencySimulator):
    """One provider's simulator; `provider` says which (names, headers, keys)."""

    provider: Provider

    def __init__(self, seed: int = 0, **options: Any) -> None:
        self.agency = self.provider.name
        self.notify_key = self.provider.notify_key
        self.callback_url: str | None = None  # the merchant's notification URL
        self.expiry_s = 900.0
        self.skew = Decimal(0)  # a faulty release: pages ask this much more than was asked
        self.payments: dict[str, SimulatedPayment] = {}
        self.notifications_sent: list[Notification] = []
        self._lock = threading.Lock()
        credentials = options.pop("credentials", None) or {"api_key": self.provider.api_key}
        super().__init__(seed, credentials=credentials, **options)

    @property
    def credentials(self) -> dict[str, str]:
        """The merchant key the client sends, and the key notifications are signed with (the
        hub's configuration for a simulated provider)."""
        return dict(self._credentials) | {"notify_key": self.notify_key}

    def routes(self) -> list[Route]:
        return [
            Route("/api/payments", self.api(self._create), methods=["POST"]),
            Route("/api/payments/{payment_id}", self.api(self._status), methods=["GET"]),
            Route("/api/payments/{payment_id}/refunds", self.api(self._refund), methods=["POST"]),
            Route("/api/settlements/{day}", self._settlement, methods=["GET"]),
            Route("/_sim/pay/{payment_id}", self._sim_pay, methods=["POST"]),
            Route("/_sim/callback", self._sim_callback, methods=["POST"]),
        ]

    def authorised(self, request: Request) -> bool:
        return request.headers.get(self.provider.key_header) == self._credentials.get("api_key")

    def error_body(self, code: str, message_en: str, message_ar: str) -> Any:
        return {"error": {"code": code, "message": {"en": message_en, "ar": message_ar}}}

    def break_contract(self, reply: AgencyReply) -> AgencyReply:
        status, body = reply
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k not in ("status", "error")}
            body["amount"] = 12.5  # a float where a string belongs
        return status, body

    # The API.

    def body(self, payment: SimulatedPayment) -> dict[str, Any]:
        return {
            "paymentId": payment.payment_id,
            "merchantReference": payment.reference,
            "status": payment.status,
            "amount": f"{payment.amount}",
            "currency": payment.currency,
            "paymentUrl": f"https://{self.agency}.example.om/pay/{payment.payment_id}",
            "expiresAt": payment.expires_at.isoformat(),
            "paidAt": payment.paid_at.isoformat() if payment.paid_at else None,
            "merchant": {"en": "Muscat Municipality", "ar": "بلدية مسقط"},
            "refundId": payment.refund_id,
        }

    async def _create(self, request: Request) -> AgencyReply:
        asked = await request.json()
        with self._lock:
            for payment in self.payments.values():  # idempotent by merchant reference
                if payment.reference == asked["merchantReference"]:
                    return 200, self.body(payment)
            now = datetime.now(UTC)
            payment = SimulatedPayment(
                payment_id=f"{self.provider.id_prefix}{len(self.payments) + 1:06d}",
                reference=asked["merchantReference"],
                amount=(Decimal(asked["amount"]) + self.skew).quantize(MILLS),
                currency=asked["currency"],
                payer_reference=asked["customerReference"],
                created_at=now,
                expires_at=now + timedelta(seconds=self.expiry_s),
            )
            self.payments[payment.payment_id] = payment
        return 201, self.body(payment)

    async def _status(self, request: Request) -> AgencyReply:
        payment = self.payments.get(request.path_params["payment_id"])
        self._expire(payment)
        return self.answer(payment, self.body, NO_PAYMENT)

    async def _refund(self, request: Request) -> AgencyReply:
        asked = await request.json()
        with self._lock:
            payment = self.payments.get(request.path_params["payment_id"])
            if payment is None:
                return self.refused(404, NO_PAYMENT)
            if payment.refund_reference == asked["refundReference"]:
                return 200, self.body(payment)  # the same refund asked again: refunded once
            if payment.status != "PAID":
                return self.refused(409, NOT_PAID)
            payment.status = "REFUNDED"
            payment.refund_reference = asked["refundReference"]
            payment.refund_id = f"{self.provider.id_prefix}RF-{payment.payment_id}"
        return 201, self.body(payment)

    def _expire(self, payment: SimulatedPayment | None) -> None:
        if payment and payment.status == "PENDING" and payment.expires_at < datetime.now(UTC):
            payment.status = "EXPIRED"

    # The settlement report.

    def settled_on(self, day: date) -> list[SettledPayment]:
        return [
            SettledPayment(
                day, p.payment_id, p.reference, p.amount, p.currency, p.paid_at.isoformat()
            )
            for p in sorted(self.payments.values(), key=lambda p: p.payment_id)
            if p.paid_at is not None and p.paid_at.date() == day
        ]

    async def _settlement(self, request: Request) -> Response:
        refused = await self._transport_fault(request)
        if refused is not None:
            return refused
        if not self.authorised(request):
            return json_response(*self.refused(401, UNAUTHORISED_REFUSAL))
        try:
            day = date.fromisoformat(request.path_params["day"])
        except ValueError:
            return json_response(400, self.error_body("BAD_DATE", "Not a date", "تاريخ غير صالح"))
        return Response(write_report(self.settled_on(day)), media_type="text/csv")

    # The payer's side, driven by tests and the demo.

    def pay(
        self,
        payment_id: str,
        *,
        status: str = "PAID",
        amount: str | None = None,
        currency: str | None = None,
        when: datetime | None = None,
    ) -> Notification:
        """The payer pays (or the payment fails): the payment's new state and the signed
        notification the provider sends about it (`amount`/`currency` override what it says,
        as a faulty provider might)."""
        payment = self.payments[payment_id]
        now = when or datetime.now(UTC)
        if status == "PAID":
            payment.status, payment.paid_at = "PAID", now
        else:
            payment.status = status
        sent = len(self.notifications_sent) + 1
        body = {
            "notificationId": f"{self.provider.id_prefix}N-{sent:06d}",
            "paymentId": payment.payment_id,
            "merchantReference": payment.reference,
            "status": status,
            "amount": amount if amount is not None else f"{payment.amount}",
            "currency": currency or payment.currency,
            "paidAt": payment.paid_at.isoformat() if payment.paid_at else None,
            "sentAt": now.isoformat(),
        }
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        notification = Notification(raw, sign(raw, self.notify_key), self.provider.signature_header)
        self.notifications_sent.append(notification)
        return notification

    def deliver(self, notification: Notification, url: str | None = None) -> httpx.Response:
        """POST a notification to the merchant's callback (what the provider does after `pay`)."""
        target = url or self.callback_url
        if target is None:
            raise RuntimeError(f"{self.agency} simulator: no callback URL to notify")
        return httpx.post(
            target, content=notification.body, headers=notification.headers, timeout=10
        )

    async def _sim_pay(self, request: Request) -> Response:
        """POST {"status": "PAID"}: the payer pays; the notification goes to the callback URL
        when one is set (`"notify": false` holds it back, as a lost notification)."""
        asked = await request.json() if await request.body() else {}
        payment_id = request.path_params["payment_id"]
        if payment_id not in self.payments:
            return json_response(*self.refused(404, NO_PAYMENT))
        notification = self.pay(payment_id, status=str(asked.get("status", "PAID")))
        delivered = None
        if self.callback_url and asked.get("notify", True):
            async with httpx.AsyncClient(timeout=10) as client:
                reply = await client.post(
                    self.callback_url, content=notification.body, headers=notification.headers
                )
                delivered = reply.status_code
        return json_response(
            200, {"notification": json.loads(notification.body), "delivered": delivered}
        )

    async def _sim_callback(self, request: Request) -> Response:
        """POST {"url": ...}: where notifications go (the merchant's configured callback)."""
        self.callback_url = str((await request.json())["url"])
        return json_response(200, {"url": self.callback_url})


UNAUTHORISED_REFUSAL = Refusal("UNAUTHORIZED", "Invalid credentials", "بيانات اعتماد غير صالحة")
