"""The operations console in a real Chromium: sign-in, a wrong password, finding a demo case
and reading its timeline, a replay from the dead letters that ends with the message done
once, a viewer refused a replay, the Arabic view, a post without its CSRF token refused, and
an expired session sent back to sign in."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import func, select, update

from hub.api.partners import PartnerRegistry, SecretHasher
from hub.store.engine import WRITE_INTENT
from hub.store.tables import AuditEntry, ConsoleSession, Message, OutboxEvent, ParkingPermit
from tests.browser.conftest import PASSWORD, ConsoleWorld

OpenPage = Callable[..., Page]
SCREENSHOTS = os.environ.get("HUB_CONSOLE_SCREENSHOTS")  # a folder: docs/ images are made here


def sign_in(page: Page, url: str, name: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/signin")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("#signin button[type=submit]")


def audit_kinds(world: ConsoleWorld, kind: str) -> list[dict[str, object]]:
    with world.sessions() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.kind == kind))
        return [{"actor": r.actor, **r.detail} for r in rows]


def test_sign_in_shows_the_overview_with_live_counts(
    world: ConsoleWorld, open_page: OpenPage
) -> None:
    page = open_page()
    complaints: list[str] = []  # what the browser says it refused (CSP) or failed to run
    page.on("console", lambda m: complaints.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: complaints.append(str(e)))
    sign_in(page, world.url, "amal")
    expect(page).to_have_url(f"{world.url}/")
    expect(page.locator("#operator-name")).to_have_text("amal")
    expect(page.locator("[data-live='by_status.dead']")).to_have_text("1")
    expect(page.locator("[data-live='by_status.done']")).not_to_have_text("0")
    expect(page.locator("[data-live='queue_depth']")).to_have_text("0")  # the broker answered
    rendered = page.locator("[data-live='at']").inner_text()
    expect(page.locator("[data-live='at']")).not_to_have_text(rendered)  # refreshed live
    assert complaints == []
    headers = page.request.get(f"{world.url}/").headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert any(e["operator"] == "amal" for e in audit_kinds(world, "console.signed-in"))
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / "console-overview.png"))


def test_a_wrong_password_is_refused_and_audited(world: ConsoleWorld, open_page: OpenPage) -> None:
    page = open_page()
    sign_in(page, world.url, "amal", "not the password at all")
    expect(page.locator(".error")).to_have_text("Wrong name or password.")
    expect(page).to_have_url(f"{world.url}/signin")
    page.goto(f"{world.url}/cases")  # still not signed in
    expect(page).to_have_url(f"{world.url}/signin")
    failed = audit_kinds(world, "console.sign-in-failed")
    assert any(e["tried"] == "amal" and e["actor"] == "console" for e in failed)


def test_find_a_demo_case_and_read_its_whole_story(
    world: ConsoleWorld, open_page: OpenPage
) -> None:
    refused = next(c for c in world.first_wave if c.scenario == "registration lapsed")
    page = open_page()
    sign_in(page, world.url, "amal")
    page.click("nav >> text=Cases")
    page.fill("input[name=correlationid]", refused.event_id)
    page.click("#case-search button")
    page.click(f"a.case-link:has-text('{refused.event_id}')")
    story = page.locator("section.story")
    expect(story.locator("[data-field=status]")).to_have_text("done")
    expect(story.locator("tr.step-agency-call")).to_have_count(1)
    expect(story.locator("tr.step-agency-call")).to_contain_text("rop.")
    expect(story.locator("tr.step-agency-call")).to_contain_text(" ms")
    expect(story.locator("tr.step-record-changed")).to_have_count(1)
    arabic = story.locator(".reason-ar").first
    expect(arabic).to_have_attribute("dir", "rtl")
    assert re.search("[\u0600-\u06ff]", arabic.inner_text())
    civil_id = str(refused.data["civil_id"])
    story.locator("details.payload summary").click()
    payload = story.locator("details.payload pre").inner_text()
    assert civil_id not in payload and civil_id[-2:] in payload  # masked for an operator
    assert str(refused.data["applicant_name"]["ar"]) in payload  # Arabic intact
    kinds = story.locator("tr.step td:nth-child(2)").all_inner_texts()
    assert kinds.index(next(k for k in kinds if k.startswith("message.received"))) < kinds.index(
        next(k for k in kinds if k.startswith("agency.call"))
    )  # in order
    # The civil id goes in a POST body; the page shows it masked to this role.
    page.click("nav >> text=Cases")
    page.fill("input[name=civil_id]", civil_id)
    page.click("#civil-search button")
    expect(page.locator("#messages a.case-link").first).to_be_visible()
    assert civil_id not in page.url and civil_id not in page.content()
    if SCREENSHOTS:
        page.goto(f"{world.url}/cases/{refused.event_id}")
        page.screenshot(path=str(Path(SCREENSHOTS) / "console-case.png"), full_page=True)


def test_a_viewer_is_refused_a_replay(world: ConsoleWorld, open_page: OpenPage) -> None:
    page = open_page()
    sign_in(page, world.url, "vera")
    page.goto(f"{world.url}/dead-letters")
    expect(page.locator("section.group")).to_have_count(1)
    expect(page.locator("button.replay-group")).to_have_count(0)
    expect(page.locator("input[name=ids]")).to_have_count(0)  # nothing to tick for a viewer
    expect(page.locator("#replay-filter")).to_have_count(0)
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    response = page.request.post(
        f"{world.url}/replay/plan", form={"csrf": csrf or "", "ids": world.dead.event_id}
    )
    assert response.status == 403
    assert "does not allow" in response.text()
    refusals = audit_kinds(world, "console.refused")
    assert any(e["operator"] == "vera" and e["permission"] == "replay" for e in refusals)
    with world.sessions() as session:
        assert session.get(Message, world.dead.event_id).status == "dead"  # type: ignore[union-attr]


def test_a_post_without_its_csrf_token_is_refused(world: ConsoleWorld, open_page: OpenPage) -> None:
    page = open_page()
    sign_in(page, world.url, "amal")
    response = page.request.post(f"{world.url}/replay/plan", form={"ids": world.dead.event_id})
    assert response.status == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "CSRF token missing"
    forged = page.request.post(
        f"{world.url}/replay/plan", form={"ids": world.dead.event_id, "csrf": "forged"}
    )
    assert forged.status == 403
    stranger = open_page()  # and the sign-in form itself
    stranger.goto(f"{world.url}/signin")
    bare = stranger.request.post(f"{world.url}/signin", form={"name": "amal", "password": PASSWORD})
    assert bare.status == 403
    refused = audit_kinds(world, "console.csrf-refused")
    assert [e["actor"] for e in refused if e["path"] == "/replay/plan"][-2:] == [
        "operator:amal"
    ] * 2


def test_the_arabic_view_is_right_to_left(world: ConsoleWorld, open_page: OpenPage) -> None:
    page = open_page(width=390, height=844)  # a phone
    sign_in(page, world.url, "vera")
    page.click("#lang-switch")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.locator("nav")).to_contain_text("الرسائل المتوقفة")
    page.click("nav >> text=الحالات")
    expect(page.locator("h1")).to_have_text("الحالات")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing runs off a narrow screen
    page.click("#lang-switch")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")


def test_an_expired_session_signs_out(world: ConsoleWorld, open_page: OpenPage) -> None:
    page = open_page()
    sign_in(page, world.url, "vera")
    expect(page.locator("#operator-name")).to_have_text("vera")
    with world.sessions.begin() as session:
        session.connection(execution_options=WRITE_INTENT)
        session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.operator == "vera")
            .values(last_seen_at=datetime.now(UTC) - timedelta(days=1))
        )
    page.goto(f"{world.url}/cases")
    expect(page).to_have_url(f"{world.url}/signin")


def test_other_pages_read_the_same_store(world: ConsoleWorld, open_page: OpenPage) -> None:
    page = open_page()
    sign_in(page, world.url, "adil")
    page.goto(f"{world.url}/agencies")
    expect(page.locator("#agency-rop dd").first).not_to_have_text("0")
    expect(page.locator("#agency-rop svg.chart rect.bad").first).to_be_attached()
    rop = world.runtime.simulators["rop"].simulator
    fault = page.locator("#agency-rop form")
    fault.locator("select[name=mode]").select_option("latency")
    fault.locator("button").click()
    expect(page).to_have_url(f"{world.url}/agencies")
    assert rop.fault == "latency"
    page.locator("#agency-rop select[name=mode]").select_option("none")
    page.locator("#agency-rop form button").click()
    expect(page).to_have_url(f"{world.url}/agencies")
    assert rop.fault == "none"
    switched = [e["mode"] for e in audit_kinds(world, "console.simulator-fault")]
    assert switched[-2:] == ["latency", "none"]
    page.goto(f"{world.url}/audit")
    page.click("#verify button")
    expect(page.locator("#verify-result h2")).to_have_text("intact")
    registry = PartnerRegistry(world.sessions, SecretHasher(b"p" * 32))
    registry.add("moci-portal", ["push.moci.cr-status"], actor="test")
    page.goto(f"{world.url}/partners")
    row = page.locator("#partners tr", has_text="moci-portal")
    expect(row).to_contain_text("push.moci.cr-status")
    row.locator("button").click()  # an admin may revoke
    expect(page.locator("#partners tr", has_text="moci-portal").locator("button")).to_have_count(0)
    assert [e["actor"] for e in audit_kinds(world, "partner.revoked")] == ["operator:adil"]
    case = world.first_wave[0]
    page.goto(f"{world.url}/cases/{case.event_id}")
    page.locator("details.payload summary").click()
    assert str(case.data["civil_id"]) in page.locator("details.payload pre").inner_text()
    export = page.request.get(f"{world.url}/audit/export/{world.first_wave[0].event_id}")
    assert export.status == 200 and '"entry_hash"' in export.text()


def test_a_dead_message_replayed_from_dead_letters_ends_done_once(
    world: ConsoleWorld, open_page: OpenPage
) -> None:
    page = open_page()
    sign_in(page, world.url, "amal")
    page.click("nav >> text=Dead letters")
    group = page.locator("section.group")
    expect(group).to_contain_text("rop")
    group.locator("button.replay-group").click()
    expect(page.locator("#plan td.action")).to_have_text(["re-drive"])
    with world.sessions() as session:  # the dry run changed nothing
        assert session.get(Message, world.dead.event_id).status == "dead"  # type: ignore[union-attr]
    page.click("#replay-confirm button")  # no reason, no confirmation: the browser stops it
    expect(page.locator("#plan")).to_be_visible()
    page.fill("textarea[name=reason]", "ROP back after the outage")
    page.check("input[name=confirm]")
    page.click("#replay-confirm button")
    expect(page).to_have_url(re.compile(r"/replay/jobs/"))
    expect(page.locator(f"[data-live='statuses.{world.dead.event_id}']")).to_have_text(
        "done", timeout=30_000
    )
    expect(page.locator("[data-live-flag=finished]")).to_have_text("finished")
    with world.sessions() as session:
        results = session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.message_id == world.dead.event_id)
        )
        permits = session.scalar(
            select(func.count())
            .select_from(ParkingPermit)
            .where(ParkingPermit.application_no == world.dead.data["application_no"])
        )
        replayed = session.scalars(
            select(AuditEntry).where(
                AuditEntry.kind == "message.replayed",
                AuditEntry.message_id == world.dead.event_id,
            )
        ).all()
    assert (results, permits) == (1, 1)
    assert [e.actor for e in replayed] == ["operator:amal"]
    assert replayed[0].detail["reason"] == "ROP back after the outage"
