"""Audit details are stored as the RFC 8785 text their entry hash covers, and verify hashes that
text as it is (hub/audit/rehash.py): on SQLite and PostgreSQL, readers get the values written,
and rows stored otherwise (before this change, or edited) get the full check's verdict."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from sqlalchemy import Engine, select, text

from hub.audit import rehash
from hub.audit.chain import AuditDraft, append_entries
from hub.audit.findings import ProblemKind
from hub.audit.verify import verify_chain
from hub.store.engine import WRITE_INTENT, make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.tables import AuditEntry

ARABIC = "طلب تصريح موقف — سالم بن حمد الحارثي"
DETAILS: list[dict[str, Any]] = [
    {"zone": "qurum", "owner_ar": ARABIC, "months": 3, "latency_ms": 3.25, "ok": True},
    {"قيمة": "مفتاح عربي", "nested": {"b": [1, None, 2.5], "a": 'a "quote" \\ line\nbreak'}},
    {"whole": 12.0, "tiny": 1e-7},  # RFC 8785 writes these its own way: stored as JSON does
    {},
]
WHOLE_FLOAT = 3  # seq of the detail whose canonical text would read back other types


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = (
        request.getfixturevalue("postgres_url")
        if request.param == "postgres"
        else f"sqlite:///{tmp_path / 'hub.db'}"
    )
    made = make_engine(url)
    upgrade(made)
    with make_session_factory(made).begin() as session:
        session.connection(execution_options=WRITE_INTENT)
        append_entries(session, [AuditDraft("test.canonical", detail) for detail in DETAILS])
    yield made
    made.dispose()


def stored_details(engine: Engine) -> list[str]:
    column = "detail::text" if engine.dialect.name == "postgresql" else "detail"
    with engine.connect() as conn:
        return list(conn.scalars(text(f"SELECT {column} FROM audit_entries ORDER BY seq")))


def set_detail(engine: Engine, seq: int, stored: str) -> None:
    cast = "CAST(:detail AS json)" if engine.dialect.name == "postgresql" else ":detail"
    with engine.begin() as conn:
        conn.execute(
            text(f"UPDATE audit_entries SET detail = {cast} WHERE seq = :seq"),
            {"detail": stored, "seq": seq},
        )


def verify(engine: Engine, workers: int = 0) -> Any:
    return verify_chain(
        make_session_factory(engine), public_key=None, journal=None, workers=workers
    )


def test_details_are_stored_as_the_canonical_text_hashed(engine: Engine) -> None:
    stored = stored_details(engine)
    for seq, (text_, detail) in enumerate(zip(stored, DETAILS, strict=True), start=1):
        if seq != WHOLE_FLOAT:
            assert text_ == rfc8785.dumps(detail).decode()
    assert f'"owner_ar":"{ARABIC}"' in stored[0]  # Arabic as characters, no escapes
    assert stored[0].startswith('{"latency_ms":3.25,"months":3,"ok":true,"owner_ar"')
    assert stored[1].endswith('"قيمة":"مفتاح عربي"}')
    assert stored[3] == "{}"
    assert json.loads(stored[WHOLE_FLOAT - 1]) == {"whole": 12.0, "tiny": 1e-7}


def test_readers_get_the_values_written(engine: Engine) -> None:
    with make_session_factory(engine)() as session:
        read = list(session.scalars(select(AuditEntry.detail).order_by(AuditEntry.seq)))
    assert read == DETAILS
    # the same types too (a whole float stays a float, not the integer RFC 8785 writes); the
    # keys now come back sorted, as the canonical text has them
    assert [json.dumps(v, sort_keys=True) for v in read] == [
        json.dumps(v, sort_keys=True) for v in DETAILS
    ]


def test_canonical_rows_are_accepted_on_their_stored_text(engine: Engine) -> None:
    rows = raw_rows(engine)
    matched = [rehash._stored_text_matches(row) for row in rows]
    assert matched == [seq != WHOLE_FLOAT for seq in range(1, len(DETAILS) + 1)]
    for workers in (0, 2):
        result = verify(engine, workers)
        assert result.ok, result.problems
        assert result.entries == len(DETAILS)


def test_a_row_stored_before_as_json_dumps_text_verifies_by_the_full_check(
    engine: Engine,
) -> None:
    set_detail(engine, 1, json.dumps(DETAILS[0]))  # spaces, \u escapes, insertion order
    assert not rehash._stored_text_matches(raw_rows(engine)[0])
    assert "\\u0637" in stored_details(engine)[0]
    result = verify(engine)
    assert result.ok, result.problems


def test_an_edit_that_keeps_the_text_canonical_is_caught(engine: Engine) -> None:
    edited = DETAILS[0] | {"months": 4}
    set_detail(engine, 1, rfc8785.dumps(edited).decode())
    result = verify(engine)
    assert not result.ok and result.first is not None
    assert (result.first.seq, result.first.kind) == (1, ProblemKind.EDITED)


def test_text_that_is_not_one_json_value_is_not_hashed_as_it_is(engine: Engine) -> None:
    # the writer's detail followed by what the next field would be: never accepted as stored
    row = raw_rows(engine)[0]
    spliced = (*row[:4], '"x"', row[5], row[6] + ',"kind":"x"', *row[7:])
    assert not rehash._stored_text_matches(spliced)
    assert not rehash._stored_text_matches((*row[:6], row[6] + " x", *row[7:]))


def raw_rows(engine: Engine) -> list[tuple[Any, ...]]:
    column = "detail::text" if engine.dialect.name == "postgresql" else "detail"
    with engine.connect() as conn:
        result = conn.execute(
            text(
                f"SELECT seq, recorded_at, correlationid, message_id, kind, actor, {column},"
                " prev_hash, entry_hash FROM audit_entries ORDER BY seq"
            )
        )
        return [tuple(row) for row in result]
