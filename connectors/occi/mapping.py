"""Between the hub's canonical chamber membership and OCCI's own JSON: pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def membership_query(request: Mapping[str, Any]) -> dict[str, str]:
    """The query of OCCI's membership search for a canonical chamber-membership request."""
    return {"crNo": str(request["cr_no"])}


def membership_to_canonical(reply: Mapping[str, Any] | None) -> dict[str, Any]:
    """The canonical chamber-membership reply (1.0) for OCCI's membership, or for its
    'MEMBERSHIP_NOT_FOUND' (None). OCCI's own status is not kept: validity is a date."""
    if reply is None:
        return {"found": False}
    data = reply["data"]
    grade = data["grade"]
    membership = {
        "cr_no": data["crNo"],
        "member_no": data["membershipNo"],
        "grade": grade["level"],
        "valid_until": data["validUntil"],
        "name_en": data["companyName"]["en"],
        "name_ar": data["companyName"]["ar"],
    }
    if "en" in grade:
        membership["grade_name_en"] = grade["en"]
    if "ar" in grade:
        membership["grade_name_ar"] = grade["ar"]
    return {"found": True, "membership": membership}
