"""Between the hub's canonical tender filing and Isnad's own JSON: pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CATEGORIES = {
    "construction": "WORKS",
    "supplies": "GOODS",
    "services": "SERVICES",
    "consultancy": "CONSULTANCY",
    "maintenance": "MAINTENANCE",
}
TENDERS_PATH = "/api/isnad/v1/tenders"


def filing_to_isnad(request: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical filing as Isnad's tender body."""
    return {
        "entityReference": request["tender_ref"],
        "entity": "MUSCAT_MUNICIPALITY",
        "titleEn": request["title"]["en"],
        "titleAr": request["title"]["ar"],
        "category": CATEGORIES[request["category"]],
        "closingDate": request["closing_date"],
        "estimatedValue": {"amount": request["estimated_value_omr"], "currency": "OMR"},
        "minimumChamberGrade": request["min_chamber_grade"],
    }


def tender_to_canonical(reply: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical filing reply (1.0) for Isnad's tender resource."""
    return {
        "tender_ref": reply["entityReference"],
        "tender_no": reply["tenderNumber"],
        "status": "filed",
        "title": {"en": reply["title"]["en"], "ar": reply["title"]["ar"]},
        "filed_at": reply["filedAt"],
    }
