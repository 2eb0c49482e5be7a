"""Canonical <-> ROP message shapes, as pure functions so they are tested without a server.

The reply arrives here as plain dicts, as zeep's `serialize_object` would give them
(`connectors/soap/xsd_reader.py`); dates may be `datetime.date` or ISO text (a hand-built
reply), both end as ISO text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def vehicle_inquiry_request(request: Mapping[str, Any]) -> dict[str, str]:
    """Keyword arguments of the VehicleInquiry operation for a canonical vehicle inquiry."""
    return {"PlateNumber": request["plate_number"], "PlateCode": request["plate_code"]}


def _iso_date(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _present(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Optional agency fields left out when absent, as the canonical model expects."""
    return {key: value for key, value in fields.items() if value is not None}


def owner_to_canonical(owner: Mapping[str, Any]) -> dict[str, Any]:
    """A ROP Person as the canonical owner."""
    return _present(
        {
            "civil_id": owner["CivilId"],
            "name_en": owner["NameEn"],
            "name_ar": owner["NameAr"],
            "phone": owner.get("Phone"),
        }
    )


def vehicle_to_canonical(vehicle: Mapping[str, Any]) -> dict[str, Any]:
    """A ROP Vehicle as the canonical vehicle."""
    year = vehicle.get("Year")
    return _present(
        {
            "plate_number": vehicle["PlateNumber"],
            "plate_code": vehicle["PlateCode"],
            "make": vehicle.get("Make"),
            "model": vehicle.get("Model"),
            "year": int(year) if year is not None else None,
            "colour_en": vehicle.get("ColourEn"),
            "colour_ar": vehicle.get("ColourAr"),
            "registration_expiry": _iso_date(vehicle["RegistrationExpiry"]),
            "owner": owner_to_canonical(vehicle["Owner"]),
        }
    )


def vehicle_inquiry_response(reply: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical vehicle-inquiry reply (1.0) for a VehicleInquiryResponse.

    Found without a Vehicle is passed on as such: the canonical contract check names it.
    """
    if not reply.get("Found"):
        return {"found": False}
    vehicle = reply.get("Vehicle")
    if vehicle is None:
        return {"found": True}
    return {"found": True, "vehicle": vehicle_to_canonical(vehicle)}


def _iso_datetime(value: datetime | str) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def civil_defence_certificate_request(request: Mapping[str, Any]) -> dict[str, str]:
    """Keyword arguments of the CivilDefenceCertificate operation."""
    return {"PremisesId": request["premises_id"]}


def civil_defence_certificate_response(reply: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical civil-defence-certificate reply (1.0) for a CivilDefenceCertificateResponse.

    Found without a Certificate is passed on as such: the canonical contract check names it.
    """
    if not reply.get("Found"):
        return {"found": False}
    certificate = reply.get("Certificate")
    if certificate is None:
        return {"found": True}
    issued = certificate.get("IssuedOn")
    return {
        "found": True,
        "certificate": _present(
            {
                "certificate_no": certificate["CertificateNumber"],
                "premises_id": certificate["PremisesId"],
                "issued_on": _iso_date(issued) if issued is not None else None,
                "valid_until": _iso_date(certificate["ValidUntil"]),
            }
        ),
    }


def parking_violation_settled_request(request: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of the ParkingViolationSettled operation; the amount stays exact."""
    return {
        "ViolationNumber": request["violation_no"],
        "PlateNumber": request["plate_number"],
        "PlateCode": request["plate_code"],
        "AmountOmr": Decimal(request["amount_omr"]),
        "PaymentReference": request["payment_reference"],
    }


def parking_violation_settled_response(reply: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical parking-violation-settled reply (1.0): ROP's settlement, or found=false."""
    if not reply.get("Found"):
        return {"found": False}
    settled_at = reply.get("SettledAt")
    return _present(
        {
            "found": True,
            "settlement_reference": reply.get("SettlementReference"),
            "settled_at": _iso_datetime(settled_at) if settled_at is not None else None,
        }
    )
