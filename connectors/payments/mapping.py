"""The providers' native payment body to and from the hub's canonical payment contracts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NOT_FOUND_AR = "لا توجد عملية دفع بهذا الرقم"


def create_body(request: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical create request as the provider's POST /api/payments body."""
    return {
        "merchantReference": request["reference"],
        "amount": request["amount"],
        "currency": request["currency"],
        "customerReference": request["payer_reference"],
        "returnUrl": request["return_url"],
        "description": {"en": request["description_en"], "ar": request["description_ar"]},
    }


def created(body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "payment_id": body["paymentId"],
        "reference": body["merchantReference"],
        "status": body["status"],
        "amount": body["amount"],
        "currency": body["currency"],
        "payment_url": body["paymentUrl"],
        "expires_at": body["expiresAt"],
        "merchant_ar": body["merchant"]["ar"],
    }


def status(body: Mapping[str, Any] | None, payment_id: str) -> dict[str, Any]:
    if body is None:
        return {
            "found": False,
            "payment_id": payment_id,
            "message_ar": "لا توجد عملية دفع بهذا الرقم",
        }
    return {
        "found": True,
        "payment_id": body["paymentId"],
        "reference": body["merchantReference"],
        "status": body["status"],
        "amount": body["amount"],
        "currency": body["currency"],
        "paid_at": body.get("paidAt"),
        "expires_at": body["expiresAt"],
        "message_ar": body["merchant"]["ar"],
    }


def refunded(body: Mapping[str, Any] | None, payment_id: str, refused_ar: str) -> dict[str, Any]:
    if body is None or body.get("refundId") is None:
        return {"refunded": False, "payment_id": payment_id, "message_ar": refused_ar}
    return {
        "refunded": True,
        "payment_id": body["paymentId"],
        "refund_id": body["refundId"],
        "status": body["status"],
        "message_ar": body["merchant"]["ar"],
    }
