"""Canonical <-> ROP message shapes, as pure functions so they are tested without a server.

The zeep reply arrives here already turned into plain dicts (`zeep.helpers.serialize_object`);
dates may be `datetime.date` (zeep) or ISO text (a hand-built reply), both end as ISO text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
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
