"""Engines for SQLite (embedded default) and PostgreSQL, with the settings each needs to be safe.

PostgreSQL connections have a deadline on every round trip (`timeout_s`): libpq's connect
timeout, TCP keepalives and TCP_USER_TIMEOUT for a peer that is gone, and a client-side
limit on each wait for an answer for a peer that keeps the socket open and says nothing.
A connection past its deadline is closed and thrown out of the pool; the work fails and is
retried on a fresh connection (a delivery goes back to the queue, the inbox keeps it once).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hub.config import normalise_database_url
from hub.metrics import count_reconnection, link_down, link_up
from hub.store.deadline import deadline_connection_class

log = structlog.get_logger("hub.store")
DEFAULT_TIMEOUT_S = 30.0


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
_NO_BEGIN = "hub_single_read"


def single_read(engine: Engine) -> Engine:
    """`engine` for reads of one statement, outside a transaction: a single SELECT is consistent
    on its own, and the BEGIN and ROLLBACK round trips around it cost PostgreSQL more than the
    read (issue 18). PostgreSQL: psycopg's autocommit, set on the client. SQLite: no BEGIN."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{_NO_BEGIN: True})
    return engine


OWNER_ONLY_FILE = 0o600
OWNER_ONLY_DIR = 0o700


def owner_only_sqlite_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does (it would follow the umask), and
    tighten an existing one: the store holds residents' data. SQLite gives its -wal and -shm
    files the database file's mode. A new parent folder is made 0700."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, OWNER_ONLY_DIR)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, OWNER_ONLY_FILE))
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        sibling = path.with_name(name)
        # Only our own files: a reader under another account leaves them as they are.
        if sibling.exists() and sibling.stat().st_uid == os.getuid():
            os.chmod(sibling, OWNER_ONLY_FILE)


def _sqlite_begin(conn: Any) -> None:
    # A transaction that will write takes the write lock at BEGIN: a read-then-write
    # transaction otherwise fails with "database is locked" instead of waiting when two
    # processes commit at once. Readers begin deferred and never block a writer (WAL).
    options = conn.get_execution_options()
    if options.get(_NO_BEGIN):
        return  # pysqlite runs each statement on its own (isolation_level None)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("sqlite_immediate") else "BEGIN")


def make_engine(url: str, pool_size: int = 5, timeout_s: float = DEFAULT_TIMEOUT_S) -> Engine:
    """An engine for `url`; creates the folder of a SQLite file. `pool_size` should cover the
    threads that use the store at once: beyond it, connections are opened and closed for each
    use (a new PostgreSQL backend each time). `timeout_s` bounds each PostgreSQL round trip."""
    url = normalise_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            owner_only_sqlite_file(Path(parsed.database))
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() != "postgresql" or parsed.get_driver_name() != "psycopg":
        return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=5)
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=5,
        pool_timeout=timeout_s,
        connect_args=postgres_deadlines(timeout_s),
    )
    _watch_connections(engine, timeout_s)
    return engine


def postgres_deadlines(timeout_s: float) -> dict[str, Any]:
    """libpq settings that bound connecting and notice a dead peer within about `timeout_s`;
    the server too drops a session left idle inside a transaction by a vanished client."""
    seconds = max(int(timeout_s), 2)
    return {
        "connect_timeout": seconds,
        "keepalives": 1,
        "keepalives_idle": max(seconds // 3, 1),
        "keepalives_interval": max(seconds // 10, 1),
        "keepalives_count": 3,
        "tcp_user_timeout": seconds * 1000,
        "options": f"-c idle_in_transaction_session_timeout={seconds * 2000}",
    }


def _watch_connections(engine: Engine, timeout_s: float) -> None:
    """Every connection gets a deadline on each wait; losses and recoveries are reported."""
    connection_class = deadline_connection_class(timeout_s)
    opened = {"count": 0, "lost": False}

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        return connection_class.connect(*cargs, **cparams)

    @event.listens_for(engine, "connect")
    def _opened(_dbapi_conn: Any, _record: Any) -> None:
        opened["count"] += 1
        if opened["lost"]:
            opened["lost"] = False
            count_reconnection("store")
            log.info("store.reconnected")
        link_up("store", engine)

    @event.listens_for(engine, "invalidate")
    def _lost(_dbapi_conn: Any, _record: Any, exc: BaseException | None) -> None:
        if exc is None:
            return
        if not opened["lost"]:
            log.warning("store.connection_lost", error=f"{type(exc).__name__}: {exc}"[:200])
        opened["lost"] = True
        link_down("store", type(exc).__name__, engine)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
