"""The operations a partner may be granted, by name: one per REST capability and one per SOAP
operation, so that an agency can be given exactly the calls its agreement covers.

A grant may carry a scope, written `<grant>:<scope>`: it grants the operation and widens what
the partner sees of its records. One scope exists: `unmasked` on a record-reading grant shows
civil ids in full; without it they are masked (last two digits kept). Holding `<grant>:<scope>`
implies holding `<grant>`."""

from __future__ import annotations

from difflib import get_close_matches

from hub.errors import HubError

LICENCES_READ = "licences.read"
BUILDING_PERMITS_READ = "building-permits.read"
PARKING_PERMITS_READ = "parking-permits.read"
PUSH_MOCI_CR_STATUS = "push.moci.cr-status"
INVESTEASY_SUBMIT = "investeasy.applications.submit"
INVESTEASY_READ = "investeasy.applications.read"
PUSH_ISNAD_TENDER_STATUS = "push.isnad.tender-status"

REST_GRANTS = {
    LICENCES_READ: "GET /api/v1/licences/{licence_no}, "
    "GET /api/v1/commercial-registrations/{cr_no}/licences",
    BUILDING_PERMITS_READ: "GET /api/v1/building-permits/{permit_no}",
    PARKING_PERMITS_READ: "GET /api/v1/parking-permits?plate_number=&plate_code=",
    PUSH_MOCI_CR_STATUS: "POST /api/v1/push/moci/cr-status",
    INVESTEASY_SUBMIT: "POST /api/v1/investeasy/applications",
    INVESTEASY_READ: "GET /api/v1/investeasy/applications/{application_ref}",
    PUSH_ISNAD_TENDER_STATUS: "POST /api/v1/push/isnad/tender-status",
}

SOAP_OPERATIONS = {
    "MunicipalRecords": ("GetLicence", "GetLicencesByCR", "GetBuildingPermit", "GetParkingPermits"),
    "ElectricityNotifications": ("ConnectionCompleted",),
    "RopNotifications": ("OwnershipTransferred",),
}


def soap_grant(service: str, operation: str) -> str:
    """The grant that lets a partner call one SOAP operation."""
    return f"soap.{service}.{operation}"


SOAP_GRANTS = {
    soap_grant(service, op): f"SOAP /soap/{service} {op}"
    for service, ops in SOAP_OPERATIONS.items()
    for op in ops
}

ALL_GRANTS: dict[str, str] = REST_GRANTS | SOAP_GRANTS
"""Every grant name and what it allows."""

UNMASKED = "unmasked"
RECORD_GRANTS = frozenset(
    {LICENCES_READ, BUILDING_PERMITS_READ, PARKING_PERMITS_READ}
    | {soap_grant("MunicipalRecords", op) for op in SOAP_OPERATIONS["MunicipalRecords"]}
)
SCOPES: dict[str, frozenset[str]] = {UNMASKED: RECORD_GRANTS}
"""Each scope and the grants it may be put on."""


def holds(granted: list[str], grant: str) -> bool:
    """Whether a partner's grants include `grant`, with or without a scope."""
    return any(g == grant or g.startswith(f"{grant}:") for g in granted)


def scopes_of(granted: list[str], grant: str) -> frozenset[str]:
    """The scopes a partner's grants put on `grant`."""
    return frozenset(g.split(":", 1)[1] for g in granted if g.startswith(f"{grant}:"))


class UnknownGrant(HubError):
    """A grant name that no operation has; the message suggests the nearest one."""


def check_grants(names: list[str]) -> list[str]:
    """The names, de-duplicated in order, or `UnknownGrant` naming the first unknown one."""
    for name in names:
        grant, _, scope = name.partition(":")
        if scope and grant in ALL_GRANTS:
            if grant not in SCOPES.get(scope, frozenset()):
                where = sorted(SCOPES)
                raise UnknownGrant(f"grant {grant!r} takes no scope {scope!r} (scopes: {where})")
            continue
        if name not in ALL_GRANTS:
            near = get_close_matches(name, list(ALL_GRANTS), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise UnknownGrant(f"unknown grant {name!r}{hint} (see `hub partners grants`)")
    return list(dict.fromkeys(names))
