"""One hub, one console and one Chromium for the browser tests: the hub runs a worker and the
agency simulators on the embedded default, takes a small batch of demo cases, and lets one
case die in a ROP outage, so the console has cases to find and a dead letter to replay.

Chromium is the distribution's (/usr/bin/chromium), never a downloaded one; where it is
missing the tests skip (and fail under CI=true) with the line that installs it. A failing
test leaves a screenshot of its page in tests/browser/artifacts/."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.bus.publisher import Publisher
from hub.bus.topology import IN_EXCHANGE
from hub.config import Settings
from hub.console.app import create_console
from hub.console.operators import OperatorBook
from hub.demo.cases import DemoCase, parking_cases
from hub.runtime.build import HubRuntime, build_runtime
from hub.runtime.worker_thread import WorkerThread
from hub.serving import LoopbackServer
from hub.store.tables import Message, MessageStatus
from tests.conftest import unavailable

CHROMIUM = Path(os.environ.get("HUB_TEST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PASSWORD = "correct horse battery"
OPERATORS = {"amal": "operator", "vera": "viewer", "adil": "admin"}


@dataclass
class ConsoleWorld:
    url: str
    runtime: HubRuntime
    first_wave: list[DemoCase]
    dead: DemoCase

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.runtime.sessions


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    """Poll the store until `check` holds; bounded, so a stuck hub fails the test."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _statuses(sessions: sessionmaker[Session], ids: set[str]) -> dict[str, str]:
    with sessions() as session:
        rows = session.execute(select(Message.id, Message.status).where(Message.id.in_(ids)))
        return {str(i): str(s) for i, s in rows}


def _send(broker_url: str, cases: list[DemoCase]) -> None:
    with Publisher(broker_url) as publisher:
        for case in cases:
            publisher.publish(case.body(), exchange=IN_EXCHANGE, routing_key=case.type)


@contextmanager
def console_world(settings: Settings, count: int = 6) -> Iterator[ConsoleWorld]:
    """A serving hub with `count` demo parking cases done (issued, refused and rejected ones)
    and one dead in a ROP outage, three operators (operator, viewer, admin) and the console
    over its store."""
    run_id = uuid.uuid4().hex[:6].upper()
    cases = parking_cases(count, run_id)
    dead = next(
        c for c in parking_cases(10, run_id + "D", seed=1) if c.scenario.startswith("owner")
    )
    runtime = build_runtime(settings)
    worker = None
    server = None
    try:
        worker = WorkerThread(runtime).start()
        _send(runtime.broker_url, cases)
        ids = {c.event_id for c in cases}

        def first_wave_final() -> bool:
            statuses = _statuses(runtime.sessions, ids)
            return len(statuses) == len(ids) and set(statuses.values()) <= set(MessageStatus.FINAL)

        wait_until(first_wave_final, "the first wave to finish")
        rop = runtime.simulators["rop"].simulator
        rop.set_fault("outage")
        _send(runtime.broker_url, [dead])
        wait_until(
            lambda: _statuses(runtime.sessions, {dead.event_id}).get(dead.event_id) == "dead",
            "the outage's case to die",
        )
        rop.set_fault("none")
        book = OperatorBook(runtime.sessions)
        for name, role in OPERATORS.items():
            book.add(name, PASSWORD, role, actor="test")
        app = create_console(settings, runtime.sessions, sorted(runtime.connectors))
        server = LoopbackServer(app).start()
        yield ConsoleWorld(server.url, runtime, cases, dead)
    finally:
        if server is not None:
            server.stop()
        if worker is not None:
            worker.stop()
        # Playwright's sync API keeps an event loop running in this thread; the runtime runs
        # its own loop to close its clients, which asyncio allows only on another thread.
        closing = threading.Thread(target=runtime.close, name="close-runtime")
        closing.start()
        closing.join(30)


FAST = {"retry_ladder": "0.2s,0.2s", "circuit_reset_s": 0.2, "log_level": "warning"}


@pytest.fixture(scope="package")
def world(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleWorld]:
    """The embedded default: SQLite store, embedded broker, simulators. (It asks for the
    browser first, so a machine without Chromium skips before building a hub.)"""
    with console_world(Settings(data_dir=tmp_path_factory.mktemp("console"), **FAST)) as built:
        yield built


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        unavailable(f"no Chromium at {CHROMIUM}; install it: apt-get install -y chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def open_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """`open_page(width=...)`: a fresh browser context (no cookies) and its page; every page
    opened is screenshotted into tests/browser/artifacts/ when the test fails."""
    contexts = []

    def make(width: int = 1200, height: int = 900) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    if request.node.stash.get(FAILED, False):
        ARTIFACTS.mkdir(exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
        for c_index, context in enumerate(contexts):
            for p_index, page in enumerate(context.pages):
                page.screenshot(path=str(ARTIFACTS / f"{stem}-{c_index}-{p_index}.png"))
    for context in contexts:
        context.close()
