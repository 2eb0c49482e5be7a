"""Between the hub's canonical decision and the Invest Easy portal's own JSON: pure
functions, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

PORTAL_DECISIONS = {
    "approved": "APPROVED",
    "refused": "REFUSED",
    "inspection-required": "SITE_INSPECTION",
}
CANONICAL_DECISIONS = {portal: canonical for canonical, portal in PORTAL_DECISIONS.items()}


def decision_path(request: Mapping[str, Any]) -> str:
    """The portal's resource for one application's decision."""
    return f"/api/portal/v1/applications/{quote(str(request['application_ref']), safe='')}/decision"


def decision_to_portal(request: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical decision as the portal's callback body."""
    body: dict[str, Any] = {
        "applicationReference": request["application_ref"],
        "municipalCaseId": request["case_id"],
        "decision": PORTAL_DECISIONS[request["decision"]],
        "reasons": [
            {"code": r["code"], "textEn": r["en"], "textAr": r["ar"]} for r in request["reasons"]
        ],
        "decidedAt": request["decided_at"],
    }
    if "licence_no" in request:
        body["licenceNumber"] = request["licence_no"]
    if "fee" in request:
        fee = request["fee"]
        body["fees"] = {
            "currency": "OMR",
            "municipalFee": fee["municipal_fee_omr"],
            "serviceFee": fee["service_fee_omr"],
            "total": fee["total_omr"],
        }
    return body


def receipt_to_canonical(reply: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical confirmation (1.0) for the portal's receipt."""
    return {
        "application_ref": reply["applicationReference"],
        "decision": CANONICAL_DECISIONS[reply["decision"]],
        "receipt": reply["receiptNo"],
        "confirmed_at": reply["recordedAt"],
        "message_en": reply["message"]["en"],
        "message_ar": reply["message"]["ar"],
    }


def licence_status_path(request: Mapping[str, Any]) -> str:
    """The portal's resource for the status of the licence given for one application."""
    reference = quote(str(request["application_ref"]), safe="")
    return f"/api/portal/v1/applications/{reference}/licence-status"


def licence_status_to_portal(request: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical licence status as the portal's body."""
    reason = request["reason"]
    return {
        "applicationReference": request["application_ref"],
        "municipalCaseId": request["case_id"],
        "licenceNumber": request["licence_no"],
        "licenceStatus": str(request["status"]).upper(),
        "effectiveDate": request["effective_date"],
        "reason": {"code": reason["code"], "textEn": reason["en"], "textAr": reason["ar"]},
    }


def licence_receipt_to_canonical(reply: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical confirmation (1.0) for the portal's licence status receipt."""
    return {
        "application_ref": reply["applicationReference"],
        "licence_no": reply["licenceNumber"],
        "status": str(reply["licenceStatus"]).lower(),
        "receipt": reply["receiptNo"],
        "message_en": reply["message"]["en"],
        "message_ar": reply["message"]["ar"],
    }
