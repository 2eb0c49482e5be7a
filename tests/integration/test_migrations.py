"""The Alembic migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.store.engine import make_engine
from hub.store.migrate import upgrade
from hub.store.tables import Base


@pytest.mark.parametrize("engine_kind", ["sqlite", "postgres"])
def test_migrations_match_the_tables(
    engine_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        request.getfixturevalue("postgres_url")
        if engine_kind == "postgres"
        else f"sqlite:///{tmp_path / 'm.sqlite3'}"
    )
    engine = make_engine(url)
    upgrade(engine)
    upgrade(engine)  # a second start changes nothing
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []
