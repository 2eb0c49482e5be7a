"""The parking permit row as the flow writes it, on both stores: a first-seen application goes
in with its id and number in one statement (issue 18), a known one is looked up, updated and
numbered; both stores must store the same row and give the same permit number."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session, sessionmaker

from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.records import Records
from hub.store.tables import ParkingPermit
from tests.conftest import fresh_database

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def postgres_store(postgres_admin: Engine) -> Iterator[str]:
    """One database for this module's PostgreSQL cases."""
    with fresh_database(postgres_admin) as url:
        yield url


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{Path(tmp_path_factory.mktemp('permits')) / 'hub.sqlite3'}"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    url = request.getfixturevalue(f"{request.param}_store")
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def values(application_no: str, *, status: str = "issued") -> dict[str, Any]:
    return {
        "application_no": application_no,
        "plate_number": "12345",
        "plate_code": "AB",
        "civil_id": "09123456",
        "zone": "qurum",
        "months": 3,
        "status": status,
        "reasons": [{"code": "ok", "message_ar": "مقبول"}],
        "valid_from": date(2026, 12, 7) if status == "issued" else None,
        "valid_until": date(2027, 3, 6) if status == "issued" else None,
        "correlationid": f"corr-{application_no}",
        "updated_at": NOW,
        "owner_name_en": "Salim Al Harthy",
        "owner_name_ar": "سالم الحارثي",
    }


def write(sessions: sessionmaker[Session], row: dict[str, Any], *, issue: bool) -> Any:
    with sessions.begin() as session:
        return Records(session).write_parking_permit(row, issue_number=issue, now=NOW)


def stored(sessions: sessionmaker[Session], application_no: str) -> ParkingPermit:
    with sessions() as session:
        return session.execute(
            select(ParkingPermit).where(ParkingPermit.application_no == application_no)
        ).scalar_one()


def app_no() -> str:
    return f"PKA-{uuid.uuid4().hex[:12].upper()}"


def test_first_seen_issued_permit_is_numbered_from_its_id(sessions: sessionmaker[Session]) -> None:
    number = app_no()
    row = values(number)
    assert write(sessions, row, issue=True) is None
    permit = stored(sessions, number)
    assert row["permit_no"] == permit.permit_no == f"MCT-PK-{permit.id:07d}"
    assert permit.owner_name_ar == "سالم الحارثي"
    assert permit.reasons == [{"code": "ok", "message_ar": "مقبول"}]
    assert (permit.valid_from, permit.valid_until) == (date(2026, 12, 7), date(2027, 3, 6))
    assert permit.created_at is not None and permit.status == "issued"


def test_first_seen_refusal_has_no_number(sessions: sessionmaker[Session]) -> None:
    number = app_no()
    row = values(number, status="refused")
    assert write(sessions, row, issue=False) is None
    permit = stored(sessions, number)
    assert row["permit_no"] is None and permit.permit_no is None
    assert permit.valid_from is None and permit.status == "refused"


def test_a_known_application_is_updated_and_keeps_its_number(
    sessions: sessionmaker[Session],
) -> None:
    number = app_no()
    write(sessions, values(number), issue=True)
    first = stored(sessions, number)
    again = values(number) | {"months": 6}
    before = write(sessions, again, issue=True)
    assert before is not None and before["permit_no"] == first.permit_no
    after = stored(sessions, number)
    assert (after.id, after.permit_no, after.months) == (first.id, first.permit_no, 6)
    assert again["permit_no"] == first.permit_no


def test_a_refused_application_issued_later_gets_its_number(
    sessions: sessionmaker[Session],
) -> None:
    number = app_no()
    write(sessions, values(number, status="refused"), issue=False)
    row = values(number)
    before = write(sessions, row, issue=True)
    assert before is not None and before["status"] == "refused"
    permit = stored(sessions, number)
    assert row["permit_no"] == permit.permit_no == f"MCT-PK-{permit.id:07d}"


def _skip_ids_to(engine: Engine, last_id: int) -> None:
    """Make the next permit id `last_id + 1`, as each store allocates ids."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('parking_permits', 'id'), :n)"),
                {"n": last_id},
            )
        else:  # SQLite: the next rowid is the largest plus one
            row = values(app_no(), status="refused") | {"id": last_id, "created_at": NOW}
            conn.execute(ParkingPermit.__table__.insert(), row)


def test_first_write_is_one_statement_and_numbers_past_seven_digits(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    last = 12345677 if engine.dialect.name == "postgresql" else 22345677
    _skip_ids_to(engine, last)
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", note)
    try:
        row = values(app_no())
        write(sessions, row, issue=True)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert row["permit_no"] == f"MCT-PK-{last + 1}"
    assert len([s for s in seen if "parking_permits" in s]) == 1
