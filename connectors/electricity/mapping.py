"""Canonical <-> electricity company message shapes, as pure functions tested without a server.

The reply arrives as plain dicts, as zeep's `serialize_object` would give them
(`connectors/soap/xsd_reader.py`): dates as `datetime.date` and money as `Decimal`, or text in
a hand-built reply; dates end as
ISO text and money as text with baisa precision, so no amount is rounded on the way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

# The company's account status words and the canonical ones.
_STATUS = {"Active": "active", "Disconnected": "disconnected"}


def _iso_date(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _omr(value: Decimal | str | int) -> str:
    """Rials with exactly three decimals (baisa), e.g. Decimal('12.5') -> '12.500'."""
    return f"{Decimal(str(value)):.3f}"


def _present(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Optional agency fields left out when absent, as the canonical model expects."""
    return {key: value for key, value in fields.items() if value is not None}


def account_standing_request(request: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of the AccountStanding operation."""
    return {"AccountNumber": request["account_no"]}


def account_to_canonical(account: Mapping[str, Any]) -> dict[str, Any]:
    """A company Account as the canonical account; an unknown status word is passed on as it
    is, for the canonical contract check to name."""
    paid = account.get("LastPaymentDate")
    status = str(account["Status"])
    return _present(
        {
            "account_no": account["AccountNumber"],
            "holder_name_en": account["HolderNameEn"],
            "holder_name_ar": account["HolderNameAr"],
            "premises_id": account["PremisesId"],
            "status": _STATUS.get(status, status),
            "arrears_omr": _omr(account["ArrearsOmr"]),
            "last_payment_date": _iso_date(paid) if paid is not None else None,
        }
    )


def account_standing_response(reply: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical account-standing reply (1.0) for an AccountStandingResponse.

    Found without an Account is passed on as such: the canonical contract check names it.
    """
    if not reply.get("Found"):
        return {"found": False}
    account = reply.get("Account")
    if account is None:
        return {"found": True}
    return {"found": True, "account": account_to_canonical(account)}


def new_connection_request(request: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of the NewConnection operation."""
    return {
        "BuildingPermitNumber": request["permit_no"],
        "Owner": {
            "CivilId": request["owner_civil_id"],
            "NameEn": request["owner_name_en"],
            "NameAr": request["owner_name_ar"],
        },
        "PlotNumber": request["plot_no"],
        "Wilayat": request["wilayat"],
        "LoadKva": request["load_kva"],
    }


def new_connection_response(reply: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical new-connection reply (1.0) for a NewConnectionResponse."""
    return {
        "request_no": reply["RequestNumber"],
        "permit_no": reply["BuildingPermitNumber"],
        "expected_connection_date": _iso_date(reply["ExpectedConnectionDate"]),
    }
