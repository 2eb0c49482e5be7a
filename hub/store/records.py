"""The municipality's records as the flows read and change them: one repository over the
licence, permit and violation tables, so a flow says what it needs ("the licence numbered
X", "the issued permits of this plate and owner") and never writes SQL.

The rows are the ORM's plain objects; changes to them are written when the unit of work
commits (or at `save`, when a flow needs a new row's id now). The parking permit, written
once per parking message (the hub's busiest path), goes through Core statements instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import RowMapping, Table, insert, select, update
from sqlalchemy.orm import Session

from hub.store.tables import (
    BuildingPermit,
    IssuedDocument,
    ParkingPermit,
    ParkingViolation,
    TradeLicence,
)

PERMIT_NO_PREFIX = "MCT-PK-"
_PERMITS = cast(Table, ParkingPermit.__table__)
Record = TradeLicence | BuildingPermit | ParkingPermit | ParkingViolation


class Records:
    """Reads and writes of the municipal records inside one unit of work's transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def licence(self, licence_no: str) -> TradeLicence | None:
        return self._session.execute(
            select(TradeLicence).where(TradeLicence.licence_no == licence_no)
        ).scalar_one_or_none()

    def licences_of_cr(self, cr_no: str, *, not_status: str) -> Sequence[TradeLicence]:
        """A commercial registration's licences not (yet) in `not_status`, by number."""
        return self._session.scalars(
            select(TradeLicence)
            .where(TradeLicence.cr_no == cr_no, TradeLicence.status != not_status)
            .order_by(TradeLicence.licence_no)
        ).all()

    def building_permit(self, permit_no: str) -> BuildingPermit | None:
        return self._session.execute(
            select(BuildingPermit).where(BuildingPermit.permit_no == permit_no)
        ).scalar_one_or_none()

    def issued_parking_permits(
        self, plate_number: str, plate_code: str, civil_id: str
    ) -> Sequence[ParkingPermit]:
        """The issued permits of one vehicle held by one owner, by application number."""
        return self._session.scalars(
            select(ParkingPermit)
            .where(
                ParkingPermit.plate_number == plate_number,
                ParkingPermit.plate_code == plate_code,
                ParkingPermit.civil_id == civil_id,
                ParkingPermit.status == "issued",
            )
            .order_by(ParkingPermit.application_no)
        ).all()

    def parking_permit(self, application_no: str) -> ParkingPermit | None:
        return self._session.execute(
            select(ParkingPermit).where(ParkingPermit.application_no == application_no)
        ).scalar_one_or_none()

    def violation(self, violation_no: str) -> ParkingViolation | None:
        return self._session.execute(
            select(ParkingViolation).where(ParkingViolation.violation_no == violation_no)
        ).scalar_one_or_none()

    def add(self, record: Record) -> None:
        """A new record, written with the unit of work."""
        self._session.add(record)

    def deliver(self, document: IssuedDocument) -> None:
        """A signed document delivered for a record, written with the unit of work."""
        self._session.add(document)

    def save(self) -> None:
        """Write pending changes now (new rows get their ids; the audit's `after` is what the
        store holds)."""
        self._session.flush()

    def write_parking_permit(
        self, values: dict[str, Any], *, issue_number: bool, now: datetime
    ) -> RowMapping | None:
        """Insert or update the permit row with `values`; the row as it was before, if any.
        An issued permit keeps the number it has, or gets one from its row id; `values`
        gains `permit_no`."""
        session = self._session
        before = (
            session.execute(
                select(_PERMITS).where(_PERMITS.c.application_no == values["application_no"])
            )
            .mappings()
            .one_or_none()
        )
        if before is None:
            permit_id = session.execute(
                insert(_PERMITS).returning(_PERMITS.c.id), values | {"created_at": now}
            ).scalar_one()
            values["permit_no"] = None
        else:
            permit_id = before["id"]
            values["permit_no"] = before["permit_no"]
            session.execute(update(_PERMITS).where(_PERMITS.c.id == permit_id).values(values))
        if issue_number and values["permit_no"] is None:
            values["permit_no"] = f"{PERMIT_NO_PREFIX}{permit_id:07d}"
            session.execute(
                update(_PERMITS)
                .where(_PERMITS.c.id == permit_id)
                .values(permit_no=values["permit_no"])
            )
        return before
