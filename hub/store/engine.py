"""Engines for SQLite (embedded default) and PostgreSQL, with the settings each needs to be safe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers (the CLI) run beside the writer; NORMAL is durable across a process crash.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    # Let SQLAlchemy's BEGIN decide, not pysqlite's implicit transactions.
    dbapi_conn.isolation_level = None


WRITE_INTENT = {"sqlite_immediate": True}


def _sqlite_begin(conn: Any) -> None:
    # A transaction that will write takes the write lock at BEGIN: a read-then-write
    # transaction otherwise fails with "database is locked" instead of waiting when two
    # processes commit at once. Readers begin deferred and never block a writer (WAL).
    immediate = conn.get_execution_options().get("sqlite_immediate")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


_POSTGRES_SCHEMES = ("postgres://", "postgresql://")


def normalise_url(url: str) -> str:
    """`postgres://` and `postgresql://` (what libpq and psql accept) as SQLAlchemy's
    `postgresql+psycopg://`, the driver the hub ships; other URLs unchanged."""
    for scheme in _POSTGRES_SCHEMES:
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def make_engine(url: str, pool_size: int = 5) -> Engine:
    """An engine for `url`; creates the folder of a SQLite file. `pool_size` should cover the
    threads that use the store at once: beyond it, connections are opened and closed for each
    use (a new PostgreSQL backend each time)."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=5)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
