"""`--agency` (hub replay list/run) matches whole agency names exactly: `%` and `_` in the
value match only themselves, never as LIKE wildcards (issue 21, item 9)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.queries import MessageFilter, select_messages
from hub.store.tables import Message

AGENCIES = {"m1": "rop", "m2": "rop,mol", "m3": "moh", "m4": "a%b", "m5": "x_y,rop", "m6": "axb"}


@pytest.fixture(params=["sqlite", "postgres"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = (
        f"sqlite:///{tmp_path / 'hub.sqlite3'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        for mid, agency in AGENCIES.items():
            session.add(
                Message(id=mid, correlationid=mid, status="dead", agency=agency, envelope="{}")
            )
        session.commit()
    yield factory
    engine.dispose()


def _ids(sessions: sessionmaker[Session], agency: str) -> set[str]:
    with sessions() as session:
        return {m.id for m in select_messages(session, MessageFilter(agency=agency))}


@pytest.mark.parametrize("agency", ["%", "_", "%%", "r_p", "ro%", "%op", "_op,%"])
def test_wildcards_match_nothing_they_do_not_spell(
    sessions: sessionmaker[Session], agency: str
) -> None:
    assert _ids(sessions, agency) == set()


def test_a_literal_percent_or_underscore_matches_only_itself(
    sessions: sessionmaker[Session],
) -> None:
    assert _ids(sessions, "a%b") == {"m4"}
    assert _ids(sessions, "x_y") == {"m5"}
    assert _ids(sessions, "a_b") == set()


def test_whole_names_in_joined_lists_still_match(sessions: sessionmaker[Session]) -> None:
    assert _ids(sessions, "rop") == {"m1", "m2", "m5"}
    assert _ids(sessions, "mol") == {"m2"}
