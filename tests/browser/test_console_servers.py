"""The console on RabbitMQ + PostgreSQL: the same pages over the production engines. A case
is found and read, and a dead message is replayed to done once, in the browser."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import Engine, func, select, text

from hub.config import Settings
from hub.store.tables import OutboxEvent
from tests.browser.conftest import FAST, ConsoleWorld, console_world
from tests.browser.test_console import OpenPage, sign_in
from tests.conftest import POSTGRES_ADMIN_URL

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]


@pytest.fixture(scope="module")
def servers_world(
    browser: Browser,
    postgres_admin: Engine,
    rabbitmq_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ConsoleWorld]:
    name = f"hub_console_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with postgres_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("console-servers"),
        database_url=POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}",
        broker_url=rabbitmq_url,
        simulators=True,
        **FAST,
    )
    try:
        with console_world(settings, count=5) as built:
            yield built
    finally:
        with postgres_admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_find_a_case_and_replay_a_dead_one_on_the_servers(
    servers_world: ConsoleWorld, open_page: OpenPage
) -> None:
    world = servers_world
    page = open_page()
    sign_in(page, world.url, "amal")
    expect(page.locator("[data-live='queue_depth']")).to_have_text("0")  # RabbitMQ answered
    expect(page.locator("[data-live='by_status.dead']")).to_have_text("1")
    issued = next(c for c in world.first_wave if c.scenario.startswith("owner"))
    page.goto(f"{world.url}/cases?correlationid={issued.event_id}")
    page.click("a.case-link")
    expect(page.locator("section.story [data-field=status]")).to_have_text("done")
    expect(page.locator("tr.step-record-changed")).to_contain_text("issued")
    page.click("nav >> text=Dead letters")
    page.locator("button.replay-group").click()
    page.fill("textarea[name=reason]", "ROP is answering again")
    page.check("input[name=confirm]")
    page.click("#replay-confirm button")
    expect(page).to_have_url(re.compile(r"/replay/jobs/"))
    expect(page.locator(f"[data-live='statuses.{world.dead.event_id}']")).to_have_text(
        "done", timeout=30_000
    )
    with world.sessions() as session:
        results = session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.message_id == world.dead.event_id)
        )
    assert results == 1
