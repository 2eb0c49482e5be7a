"""Item 9 of the security review: the data directory is owner-only (0700) and the SQLite
store's files (database, WAL, shared memory) are 0600, whatever the umask, new or existing."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from hub.config import Settings
from hub.runtime.build import build_runtime
from hub.store.engine import make_engine


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("loose_umask")
def test_a_new_sqlite_store_is_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "fresh" / "hub.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        files = [database, database.with_name("hub.sqlite3-wal")]
        assert all(f.exists() for f in files)
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert _mode(database.parent) == 0o700
    finally:
        engine.dispose()


@pytest.mark.usefixtures("loose_umask")
def test_an_existing_world_readable_store_file_is_tightened(tmp_path: Path) -> None:
    database = tmp_path / "hub.sqlite3"
    database.touch(mode=0o644)
    os.chmod(database, 0o644)
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert _mode(database) == 0o600
    finally:
        engine.dispose()


@pytest.mark.usefixtures("loose_umask")
@pytest.mark.parametrize("existing", [False, True])
def test_the_runtime_keeps_its_data_directory_owner_only(tmp_path: Path, existing: bool) -> None:
    data_dir = tmp_path / "hub-data"
    if existing:
        data_dir.mkdir(mode=0o755)
        os.chmod(data_dir, 0o755)
    with build_runtime(Settings(data_dir=data_dir, simulators=False)):
        assert _mode(data_dir) == 0o700
        assert _mode(data_dir / "hub.sqlite3") == 0o600
