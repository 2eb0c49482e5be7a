"""Between the hub's canonical commercial registration and MOCI's own JSON: pure functions,
no I/O, so they are tested without a server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote


def registration_path(request: Mapping[str, Any]) -> str:
    """The MOCI resource for a canonical commercial-registration request."""
    return f"/api/v1/commercial-registrations/{quote(str(request['cr_no']), safe='')}"


def _bilingual(value: Mapping[str, Any], prefix: str = "name") -> dict[str, str]:
    return {f"{prefix}_en": value["en"], f"{prefix}_ar": value["ar"]}


def registration_to_canonical(reply: Mapping[str, Any] | None) -> dict[str, Any]:
    """The canonical commercial-registration reply (1.0) for MOCI's registration, or for
    its 'CR_NOT_FOUND' (None)."""
    if reply is None:
        return {"found": False}
    legal = reply["legalType"]
    registration = {
        "cr_no": reply["crNumber"],
        **_bilingual(reply["commercialName"]),
        "legal_form": legal["code"],
        **_bilingual(legal, "legal_form"),
        "status": str(reply["status"]).lower(),
        "issued": reply["registrationDate"],
        "expiry": reply["expiryDate"],
        "activities": [
            {"code": a["isicCode"], **_bilingual(a["description"])} for a in reply["activities"]
        ],
        "owners": [
            {"civil_id": p["civilId"], **_bilingual(p["name"])}
            | ({"share_pct": p["sharePercentage"]} if "sharePercentage" in p else {})
            for p in reply["partners"]
        ],
    }
    return {"found": True, "registration": registration}
