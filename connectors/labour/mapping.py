"""Between the hub's canonical labour standing and the labour register's own JSON: pure
functions, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote


def standing_path(request: Mapping[str, Any]) -> str:
    """The register's resource for a canonical labour-standing request."""
    return f"/api/labour/v1/establishments/{quote(str(request['cr_no']), safe='')}/standing"


def standing_to_canonical(reply: Mapping[str, Any] | None) -> dict[str, Any]:
    """The canonical labour-standing reply (1.0) for the register's standing, or for its
    'ESTABLISHMENT_NOT_FOUND' (None). The ratio is taken from the head counts, not from the
    register's rounded percentage."""
    if reply is None:
        return {"found": False}
    manpower = reply["manpower"]
    workers, omani = manpower["total_workers"], manpower["omani_workers"]
    certificate = reply["clearance_certificate"]
    standing: dict[str, Any] = {
        "cr_no": reply["cr_number"],
        "name_en": reply["establishment"]["name_en"],
        "name_ar": reply["establishment"]["name_ar"],
        "workers": workers,
        "omani_workers": omani,
        "omanisation_ratio": round(omani / workers, 3) if workers else 0.0,
        "clearance": certificate["status"] == "VALID",
    }
    if certificate["status"] != "VALID":
        standing["clearance_reason_en"] = certificate["reason_en"]
        standing["clearance_reason_ar"] = certificate["reason_ar"]
    return {"found": True, "standing": standing}
