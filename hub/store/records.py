"""The municipality's records as the flows read and change them: one repository over the
licence, permit and violation tables, so a flow says what it needs ("the licence numbered
X", "the issued permits of this plate and owner") and never writes SQL.

The rows are the ORM's plain objects; changes to them are written when the unit of work
commits (or at `save`, when a flow needs a new row's id now). The parking permit, written
once per parking message (the hub's busiest path), goes through Core statements instead.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Insert,
    RowMapping,
    Table,
    Text,
    bindparam,
    func,
    insert,
    literal,
    null,
    select,
    true,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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
        gains `permit_no`.

        A first-seen application is one statement (the row, its id and its number together)
        instead of three (look, insert, number): see `_numbered_insert`."""
        session = self._session
        dialect = session.get_bind().dialect.name
        if dialect in ("postgresql", "sqlite"):
            row = values | {"created_at": now}
            inserted = session.execute(
                _numbered_insert(tuple(row), issue_number, dialect), row
            ).one_or_none()
            if inserted is not None:
                values["permit_no"] = inserted.permit_no
                return None
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


@functools.cache
def _numbered_insert(columns: tuple[str, ...], issue_number: bool, dialect: str) -> Insert:
    """INSERT the permit row unless its application is already there, taking its id first so
    an issued permit's number (`MCT-PK-` and the id, at least seven digits, as
    `write_parking_permit` writes it) goes in with the row. Returns nothing when the
    application exists (ON CONFLICT DO NOTHING): the caller then updates it. Built once per
    set of columns and store, its values bound by column name.

    PostgreSQL takes the id from the table's sequence. SQLite takes the next rowid as SQLite
    itself would (the largest plus one; the table has no AUTOINCREMENT), under the write lock
    the settling transaction holds from its BEGIN IMMEDIATE."""
    padded: ColumnElement[str]
    insert_into: PgInsert | SqliteInsert
    if dialect == "postgresql":
        next_id = select(
            func.nextval(func.pg_get_serial_sequence(_PERMITS.name, "id")).label("id")
        ).cte("next_permit_id")
        digits = sql_cast(next_id.c.id, Text)
        padded = func.concat(
            PERMIT_NO_PREFIX, func.lpad(digits, func.greatest(7, func.length(digits)), "0")
        )
        insert_into = pg_insert(_PERMITS)
    else:
        next_id = select((func.coalesce(func.max(_PERMITS.c.id), 0) + 1).label("id")).cte(
            "next_permit_id"
        )
        padded = literal(PERMIT_NO_PREFIX, Text) + func.printf("%07d", next_id.c.id)
        insert_into = sqlite_insert(_PERMITS)
    row = (
        select(next_id.c.id, padded if issue_number else null(), *_values(columns, dialect))
        .select_from(next_id)
        .where(true())  # SQLite: without a WHERE, "ON CONFLICT" would parse as a join's ON
    )
    return (
        insert_into.from_select(["id", "permit_no", *columns], row)
        .on_conflict_do_nothing(index_elements=[_PERMITS.c.application_no])
        .returning(_PERMITS.c.id, _PERMITS.c.permit_no)
    )


def _values(columns: tuple[str, ...], dialect: str) -> list[Any]:
    """Each value bound as its column's name; on PostgreSQL CAST to the column's type so a NULL
    in a SELECT list is typed right (SQLite would turn a CAST timestamp into a number)."""
    bound = [bindparam(name, type_=_PERMITS.c[name].type) for name in columns]
    if dialect != "postgresql":
        return bound
    return [sql_cast(value, value.type) for value in bound]
