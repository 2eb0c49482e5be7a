"""The municipal records partners may read, as one set of views that REST returns as JSON and
SOAP writes as XML, so the two faces cannot drift apart."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.api.grants import UNMASKED
from hub.errors import HubError
from hub.observability import mask_digits
from hub.store.tables import BuildingPermit, ParkingPermit, TradeLicence

MAX_LISTED = 100
"""At most this many records in one list reply (newest first for parking permits)."""


class RecordNotFound(HubError):
    """No record with that key (REST answers 404; SOAP answers Found=false)."""


class ActivityView(BaseModel):
    """One licensed activity: its code and its names."""

    code: str
    name_en: str | None = None
    name_ar: str | None = None


class LicenceView(BaseModel):
    """A trade licence as a partner sees it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "licence_no": "MCT-TL-004217",
                    "cr_no": "1043217",
                    "name_en": "Al Noor Trading LLC",
                    "name_ar": "شركة النور للتجارة ش.م.م",
                    "status": "active",
                    "expiry": "2027-11-30",
                    "activities": [
                        {"code": "471101", "name_en": "General trading", "name_ar": "تجارة عامة"}
                    ],
                    "premises": {"premises_id": "MCT-PR-00123", "wilayat": "Bawshar"},
                }
            ]
        }
    )

    licence_no: str
    cr_no: str
    name_en: str
    name_ar: str
    status: str
    expiry: date | None
    activities: list[ActivityView]
    premises: dict[str, Any]


class BuildingPermitView(BaseModel):
    """A building permit and the state of its electricity connection."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "permit_no": "MCT-BP-2026-001234",
                    "owner_civil_id": "09123456",
                    "owner_name_en": "Salim bin Hamad Al Harthy",
                    "owner_name_ar": "سالم بن حمد الحارثي",
                    "plot_no": "2/1457",
                    "wilayat": "Seeb",
                    "load_kva": 60,
                    "status": "electricity-connected",
                    "electricity_request_no": "NC-2026-004211",
                    "connected_at": "2026-11-28T05:15:00Z",
                }
            ]
        }
    )

    permit_no: str
    owner_civil_id: str
    owner_name_en: str | None
    owner_name_ar: str | None
    plot_no: str
    wilayat: str
    load_kva: int
    status: str
    electricity_request_no: str | None
    connected_at: datetime | None


class ParkingPermitView(BaseModel):
    """A parking permit application and the hub's decision on it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "application_no": "PKA-2026-000123",
                    "permit_no": "MCT-PK-0000042",
                    "plate_number": "12345",
                    "plate_code": "AB",
                    "civil_id": "09123456",
                    "zone": "qurum",
                    "months": 6,
                    "status": "issued",
                    "owner_name_en": "Salim bin Hamad Al Harthy",
                    "owner_name_ar": "سالم بن حمد الحارثي",
                    "valid_from": "2026-11-29",
                    "valid_until": "2027-05-28",
                }
            ]
        }
    )

    application_no: str
    permit_no: str | None
    plate_number: str
    plate_code: str
    civil_id: str
    zone: str
    months: int
    status: str
    owner_name_en: str | None
    owner_name_ar: str | None
    valid_from: date | None
    valid_until: date | None


def _activity(item: Any) -> ActivityView:
    """Activities are stored as the flow wrote them: a code, or a mapping with names."""
    if isinstance(item, dict):
        name_en, name_ar = item.get("name_en"), item.get("name_ar")
        return ActivityView(
            code=str(item.get("code", "")),
            name_en=str(name_en) if name_en is not None else None,
            name_ar=str(name_ar) if name_ar is not None else None,
        )
    return ActivityView(code=str(item))


def licence_view(row: TradeLicence) -> LicenceView:
    return LicenceView(
        licence_no=row.licence_no,
        cr_no=row.cr_no,
        name_en=row.name_en,
        name_ar=row.name_ar,
        status=row.status,
        expiry=row.expiry,
        activities=[_activity(item) for item in row.activities or []],
        premises=dict(row.premises) if isinstance(row.premises, dict) else {},
    )


def building_permit_view(row: BuildingPermit) -> BuildingPermitView:
    return BuildingPermitView.model_validate(row, from_attributes=True)


def parking_permit_view(row: ParkingPermit) -> ParkingPermitView:
    return ParkingPermitView.model_validate(row, from_attributes=True)


class RecordReader:
    """Read-only queries over the records store, one short session each."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def licence(self, licence_no: str) -> LicenceView | None:
        with self._sessions() as session:
            row = session.scalars(
                select(TradeLicence).where(TradeLicence.licence_no == licence_no)
            ).first()
            return licence_view(row) if row is not None else None

    def licences_by_cr(self, cr_no: str) -> list[LicenceView]:
        with self._sessions() as session:
            rows = session.scalars(
                select(TradeLicence)
                .where(TradeLicence.cr_no == cr_no)
                .order_by(TradeLicence.licence_no)
                .limit(MAX_LISTED)
            )
            return [licence_view(row) for row in rows]

    def building_permit(self, permit_no: str) -> BuildingPermitView | None:
        with self._sessions() as session:
            row = session.scalars(
                select(BuildingPermit).where(BuildingPermit.permit_no == permit_no)
            ).first()
            return building_permit_view(row) if row is not None else None

    def parking_permits(self, plate_number: str, plate_code: str) -> list[ParkingPermitView]:
        with self._sessions() as session:
            rows = session.scalars(
                select(ParkingPermit)
                .where(
                    ParkingPermit.plate_number == plate_number,
                    ParkingPermit.plate_code == plate_code,
                )
                .order_by(ParkingPermit.created_at.desc(), ParkingPermit.id.desc())
                .limit(MAX_LISTED)
            )
            return [parking_permit_view(row) for row in rows]


CIVIL_ID_FIELDS = ("owner_civil_id", "civil_id")
V = TypeVar("V", bound=BaseModel)


def scoped(view: V, scopes: frozenset[str]) -> V:
    """The record as the caller's grant lets it see it: civil ids masked (last two digits
    kept) unless the grant carries the `unmasked` scope (docs/PARTNERS.md, scoped grants)."""
    if UNMASKED in scopes:
        return view
    update = {
        name: mask_digits(value)
        for name in CIVIL_ID_FIELDS
        if isinstance(value := getattr(view, name, None), str)
    }
    return view.model_copy(update=update) if update else view
