"""Shared fixtures: real PostgreSQL and RabbitMQ when reachable; under CI=true their absence
fails the suites that need them instead of skipping them."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

POSTGRES_ADMIN_URL = os.environ.get(
    "HUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
RABBITMQ_URL = os.environ.get("HUB_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")

HOW_TO_START = {
    "postgres": "start PostgreSQL: pg_ctlcluster --skip-systemctl-redirect "
    "$(ls /etc/postgresql) main start",
    "rabbitmq": "start RabbitMQ: rabbitmq-server -detached",
}


def in_parallel_worker() -> bool:
    """True inside a pytest-xdist worker process (`pytest -n N`)."""
    return "PYTEST_XDIST_WORKER" in os.environ


SHARED_SCOPES = {"class", "module", "package"}


def shares_a_fixture(item: pytest.Item) -> bool:
    """Whether `item` uses a fixture set up once for its class, module or package (a hub, a
    simulator, a store), whose state the module's tests may build on in file order."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(defs and defs[-1].scope in SHARED_SCOPES for defs in info.name2fixturedefs.values())


@functools.cache
def declares_a_shared_fixture(source: Path) -> bool:
    """Whether a test file or conftest declares a class-, module- or package-scoped fixture."""
    if not source.is_file():
        return False
    text = source.read_text(encoding="utf-8")
    return any(f'scope="{scope}"' in text for scope in SHARED_SCOPES)


def keeps_its_tests_together(test_file: Path) -> bool:
    """A test file that declares such a fixture, or whose conftest files (up to tests/) do."""
    for folder in (test_file.parent, *test_file.parent.parents):
        if declares_a_shared_fixture(folder / "conftest.py"):
            return True
        if folder.name == "tests":
            break
    return declares_a_shared_fixture(test_file)


def work_unit(rootpath: Path, nodeid: str) -> str:
    """What one parallel worker takes at a time: a whole file whose tests share a fixture set
    up once (in file order, as in a plain run), otherwise a single test."""
    path = nodeid.split("::", 1)[0]
    return path if keeps_its_tests_together(rootpath / path) else nodeid


class SplitByTest:
    """`--dist loadscope`, with single tests as the work units of the files whose tests share
    nothing: the slow end-to-end files then spread over the workers instead of running on one.
    (`xdist_group` marks, which `--dist loadgroup` reads, are ignored under pytest 9.2.)"""

    @staticmethod
    def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
        if config.getvalue("dist") != "loadscope":
            return None
        from xdist.scheduler import LoadScopeScheduling

        class ModuleOrTestScheduling(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                return work_unit(config.rootpath, nodeid)

        return ModuleOrTestScheduling(config, log)  # type: ignore[arg-type]


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(SplitByTest(), "split-by-test")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A parallel run (inside a pytest-xdist worker) leaves out the `serial` tests: they restart
    the shared PostgreSQL and RabbitMQ, which would break every test running beside them. The
    README command runs them afterwards on their own (`pytest -m serial`); a plain `pytest`
    runs them in line."""
    if not in_parallel_worker():
        return
    serial = [item for item in items if item.get_closest_marker("serial")]
    if serial:
        items[:] = [item for item in items if not item.get_closest_marker("serial")]
        config.hook.pytest_deselected(items=serial)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """In a parallel run, a test that uses a class-, module- or package-scoped fixture declared
    outside its file would be handed out alone (`work_unit`), so it would pass or fail by the
    order of the workers: it fails here instead, saying what to do."""
    if not in_parallel_worker() or not shares_a_fixture(item):
        return
    if work_unit(item.config.rootpath, item.nodeid) == item.nodeid:
        pytest.fail(
            f"{item.nodeid} uses a class-, module- or package-scoped fixture declared outside "
            "its file: declare one in the file too (tests/conftest.py `work_unit` keeps such a "
            "file on one worker)",
            pytrace=False,
        )


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Say so when a parallel run left the `serial` tests to a run of their own."""
    if getattr(config.option, "numprocesses", None) and not in_parallel_worker():
        terminalreporter.write_line(
            "serial tests (service restarts) were left out of this parallel run: "
            "run them alone with `pytest -m serial`"
        )


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def unavailable(message: str) -> None:
    """Skip a test that needs what this machine lacks; under CI=true fail instead, so a
    missing service or tool can never pass as a green run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or, under CI, fail) a test whose real service is not there."""
    if reachable(host, port):
        return
    unavailable(f"{name} not reachable on {host}:{port}; {HOW_TO_START[name]}")


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    require_service("postgres", "127.0.0.1", 5432)
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    yield admin
    admin.dispose()


@contextmanager
def fresh_database(admin: Engine) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards (for fixtures of any
    scope: `with fresh_database(postgres_admin) as url: yield url`)."""
    name = f"hub_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def postgres_url(postgres_admin: Engine) -> Iterator[str]:
    """A fresh, empty database for one test, dropped after it."""
    with fresh_database(postgres_admin) as url:
        yield url


@pytest.fixture(scope="session")
def rabbitmq_url() -> Iterator[str]:
    """A virtual host of its own for this test session, so concurrent runs never share
    queues; the default vhost when rabbitmqctl is not at hand."""
    require_service("rabbitmq", "127.0.0.1", 5672)
    ctl = shutil.which("rabbitmqctl")
    if ctl is None or "HUB_TEST_RABBITMQ_URL" in os.environ:
        yield RABBITMQ_URL
        return
    vhost = f"hub_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    subprocess.run([ctl, "add_vhost", vhost], check=True, capture_output=True, timeout=60)
    subprocess.run(
        [ctl, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    yield RABBITMQ_URL.rstrip("/") + "/" + vhost
    subprocess.run([ctl, "delete_vhost", vhost], capture_output=True, timeout=60)
