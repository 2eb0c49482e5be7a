"""Fresh, throw-away RabbitMQ vhosts and PostgreSQL databases, so no run collides with another
(or with the test suite running beside it); and the ROP simulator every row calls."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import psycopg

from connectors.rop.simulator import DEFAULT_CREDENTIALS
from hub.serving import free_port

RABBIT = ("127.0.0.1", 5672)
POSTGRES = ("127.0.0.1", 5432)
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
ROP_CREDENTIALS = dict(DEFAULT_CREDENTIALS)


def reachable(address: tuple[str, int]) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(address, timeout=1.0):
        return True
    return False


def unreachable_reason() -> str | None:
    """Why the RabbitMQ + PostgreSQL rows cannot run here, or None when they can."""
    if not reachable(RABBIT):
        return "RabbitMQ not reachable on 127.0.0.1:5672"
    if not reachable(POSTGRES):
        return "PostgreSQL not reachable on 127.0.0.1:5432"
    return None


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


@contextlib.contextmanager
def fresh_vhost(tag: str) -> Iterator[str]:
    """An AMQP URL on a new vhost (guest has all rights on it); deleted afterwards."""
    vhost = f"bench_{tag}_{uuid.uuid4().hex[:6]}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@contextlib.contextmanager
def fresh_database(tag: str) -> Iterator[str]:
    """A SQLAlchemy (psycopg) URL of a new database; dropped afterwards."""
    name = f"bench_{tag}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_backends(url: str) -> list[int]:
    """The PostgreSQL backends connected to the database of `url` (a row's own, fresh one):
    their CPU is that row's share of PostgreSQL, apart from other sessions on the machine."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        rows = admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,))
        return [int(pid) for (pid,) in rows.fetchall()]


@contextlib.contextmanager
def rop_simulator() -> Iterator[str]:
    """The ROP simulator on loopback in a process of its own, shared by every row."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.simulator", str(port)], stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while not reachable(("127.0.0.1", port)):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the ROP simulator did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
