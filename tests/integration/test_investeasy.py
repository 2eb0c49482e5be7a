"""Invest Easy approvals through a whole hub on the embedded default: the portal's request is
acknowledged at once with the case id, the licence checks decide, the portal is called back
with the one decision and confirms it; the same application twice is one case; a portal that
stays down is dead after the ladder, then one replay gives it the one decision; a malformed or
unauthorised request is a problem document, stores nothing, and is audited."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from rich.console import Console
from sqlalchemy import func, select

from connectors import world
from connectors.investeasy.simulator import status, submit
from hub.api.grants import INVESTEASY_READ, INVESTEASY_SUBMIT, PUSH_MOCI_CR_STATUS
from hub.config import Settings
from hub.demo.investeasy import InvestEasyDemo, render_investeasy
from hub.flows.investeasy_rules import licence_fee
from hub.replay.history import case_story
from hub.store.tables import InvestEasyApplication, Message, OutboxEvent, TradeLicence
from tests.integration.investisnad_hub import (
    InvestIsnadHub,
    application,
    healthy_without_inspection,
    start,
    wait_until,
)

ARABIC = re.compile("[\u0600-\u06ff]")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InvestIsnadHub]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("investeasy"),
        retry_ladder="0.3s,0.3s",
        circuit_reset_s=0.3,
        partner_pepper="test-pepper",
        auth_fail_limit=10_000,
    )
    yield from start(settings)


@pytest.fixture(scope="module")
def portal_key(hub: InvestIsnadHub) -> str:
    return hub.partner(INVESTEASY_SUBMIT, INVESTEASY_READ)


@pytest.fixture(autouse=True)
def portal_up(hub: InvestIsnadHub) -> Iterator[None]:
    hub.portal.set_fault("none")
    yield
    hub.portal.set_fault("none")


def refused_establishment() -> world.Establishment:
    return world.with_weakness("no-clearance")[0]


def check_approved_and_refused(hub: InvestIsnadHub, key: str) -> None:
    good = application(healthy_without_inspection(), declared_area_m2=180)
    bad = application(refused_establishment())
    acks = {}
    for body in (good, bad):
        answered = submit(hub.url, key, body)
        assert answered.status_code == 202, answered.text
        ack = answered.json()
        assert ack["application_ref"] == body["application_ref"] and ack["status"] == "received"
        assert ack["duplicate"] is False and ack["case_id"]
        acks[body["application_ref"]] = ack["case_id"]
    decided = {
        r["data"]["application_ref"]: r for r in hub.results("investeasy.approval.decided", 2)
    }
    confirmed = hub.results("investeasy.callback.confirmed", 2)
    assert {r["data"]["application_ref"] for r in confirmed} >= set(acks)

    approved = decided[good["application_ref"]]
    assert approved["correlationid"] == acks[good["application_ref"]]
    assert approved["data"]["decision"] == "approved"
    fee = licence_fee(1, 180)
    assert approved["data"]["fee"] == fee.as_dict()
    assert (fee.municipal, fee.service) == (Decimal("52.000"), Decimal("10.400"))
    licence_no = approved["data"]["licence_no"]
    (licence,) = hub.rows(TradeLicence, licence_no=licence_no)
    assert licence.status == "active" and licence.correlationid == acks[good["application_ref"]]

    refused = decided[bad["application_ref"]]["data"]
    assert refused["decision"] == "refused" and "licence_no" not in refused
    assert refused["reasons"] and all(
        ARABIC.search(r["ar"]) and r["en"] for r in refused["reasons"]
    )
    assert "labour-no-clearance" in {r["code"] for r in refused["reasons"]}

    # The portal holds one decision each, as the hub decided it.
    held = hub.portal.decisions
    assert held[good["application_ref"]]["decision"] == "APPROVED"
    assert held[good["application_ref"]]["licenceNumber"] == licence_no
    assert held[good["application_ref"]]["fees"]["total"] == f"{fee.total:.3f}"
    assert held[bad["application_ref"]]["decision"] == "REFUSED"
    assert held[bad["application_ref"]]["reasons"][0]["textAr"] == refused["reasons"][0]["ar"]
    assert hub.portal.conflicts == []

    # The portal asks where each stands.
    seen = status(hub.url, key, good["application_ref"]).json()
    assert seen["status"] == "confirmed" and seen["licence_no"] == licence_no
    assert Decimal(str(seen["fee_total_omr"])) == fee.total and seen["receipt"]
    assert seen["case_id"] == acks[good["application_ref"]]
    seen_bad = status(hub.url, key, bad["application_ref"]).json()
    assert seen_bad["decision"] == "refused" and seen_bad["reasons"][0]["ar"]


def test_an_application_approved_and_one_refused_with_reasons_in_both_languages(
    hub: InvestIsnadHub, portal_key: str
) -> None:
    check_approved_and_refused(hub, portal_key)


def test_a_large_site_needs_an_inspection_and_gets_no_licence(
    hub: InvestIsnadHub, portal_key: str
) -> None:
    body = application(healthy_without_inspection(), declared_area_m2=1800)
    assert submit(hub.url, portal_key, body).status_code == 202
    wait_until(
        lambda: hub.rows(
            InvestEasyApplication, application_ref=body["application_ref"], status="confirmed"
        ),
        "the inspection decision confirmed",
    )
    (row,) = hub.rows(InvestEasyApplication, application_ref=body["application_ref"])
    assert row.decision == "inspection-required" and row.licence_no is None
    assert row.callback["reasons"][0]["code"] == "inspection-area"
    assert hub.portal.decisions[body["application_ref"]]["decision"] == "SITE_INSPECTION"


def test_the_same_application_sent_twice_is_one_case(hub: InvestIsnadHub, portal_key: str) -> None:
    body = application(healthy_without_inspection())
    first = submit(hub.url, portal_key, body).json()
    again = submit(hub.url, portal_key, body | {"declared_area_m2": 300}).json()
    assert again["case_id"] == first["case_id"] and again["duplicate"] is True
    reference = body["application_ref"]
    wait_until(
        lambda: hub.rows(InvestEasyApplication, application_ref=reference, status="confirmed"),
        "the decision confirmed",
    )
    assert hub.portal.callbacks[reference] == 1
    decided = [
        r
        for r in hub.all_results("investeasy.approval.decided")
        if r["data"]["application_ref"] == reference
    ]
    assert len(decided) == 1
    assert len(hub.audit("partner.push.duplicate")) >= 1


def test_a_portal_down_beyond_the_ladder_is_dead_then_one_replay_gives_one_decision(
    hub: InvestIsnadHub, portal_key: str
) -> None:
    hub.portal.set_fault("outage")
    body = application(healthy_without_inspection())
    reference = body["application_ref"]
    assert submit(hub.url, portal_key, body).status_code == 202
    dead = wait_until(
        lambda: hub.message("investeasy.callback.requested", "dead"), "the callback dead"
    )
    (row,) = hub.rows(InvestEasyApplication, application_ref=reference)
    assert row.status == "decided" and reference not in hub.portal.decisions
    assert status(hub.url, portal_key, reference).json()["status"] == "decided"

    hub.portal.set_fault("none")
    code, out = hub.cli("replay", "run", dead.id, "--reason", "portal back", "--operator", "ops")
    assert code == 0, out
    wait_until(
        lambda: hub.rows(InvestEasyApplication, application_ref=reference, status="confirmed"),
        "the replayed callback confirmed",
    )
    assert hub.portal.callbacks[reference] == 1  # the outage answered before the portal saw it
    assert hub.portal.decisions[reference]["licenceNumber"] == row.licence_no
    assert hub.portal.conflicts == []
    with hub.runtime.sessions() as session:  # what `hub replay show <case>` renders
        stories = case_story(session, dead.correlationid)
    assert [s["message"]["type"] for s in stories] == [
        "investeasy.approval.requested",
        "investeasy.callback.requested",
    ]
    results = {r["type"] for s in stories for r in s["results"]}
    assert {"investeasy.approval.decided", "investeasy.callback.confirmed"} <= results


def stored(hub: InvestIsnadHub) -> tuple[int, int]:
    with hub.runtime.sessions() as session:
        messages = session.scalar(select(func.count()).select_from(Message)) or 0
        outbox = session.scalar(select(func.count()).select_from(OutboxEvent)) or 0
    return int(messages), int(outbox)


def test_malformed_or_unauthorised_requests_are_problems_that_store_nothing(
    hub: InvestIsnadHub, portal_key: str
) -> None:
    before = stored(hub)
    body = application(healthy_without_inspection())
    denied_before = len(hub.audit("partner.denied"))

    unsigned = httpx.post(f"{hub.url}/api/v1/investeasy/applications", json=body)
    assert unsigned.status_code == 401
    assert unsigned.headers["content-type"].startswith("application/problem+json")
    reader_only = hub.partner(INVESTEASY_READ)
    forbidden = submit(hub.url, reader_only, body)
    assert forbidden.status_code == 403 and forbidden.json()["status"] == 403

    malformed = submit(
        hub.url,
        portal_key,
        body | {"cr_no": "12AB", "declared_area_m2": -5, "activities": []},
    )
    assert malformed.status_code == 422, malformed.text
    problem = malformed.json()
    assert malformed.headers["content-type"].startswith("application/problem+json")
    fields = " ".join(str(error) for error in problem.get("errors", []))
    assert "cr_no" in fields and "declared_area_m2" in fields

    assert stored(hub) == before
    assert hub.rows(InvestEasyApplication, application_ref=body["application_ref"]) == []
    assert len(hub.audit("partner.denied")) >= denied_before + 2
    (refused,) = [
        e for e in hub.audit("partner.push.refused") if "declared_area_m2" in e.detail["fields"]
    ]
    assert refused.detail["type"] == "investeasy.approval.requested"
    assert {"cr_no", "declared_area_m2", "activities"} <= set(refused.detail["fields"])
    assert "12AB" not in json.dumps(refused.detail)  # the values are not kept
    unknown = status(hub.url, portal_key, "IE-2026-999999")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")


def test_the_demo_part_shows_both_systems_cases(hub: InvestIsnadHub) -> None:
    demo = InvestEasyDemo(hub.runtime, uuid.uuid4().hex[:6].upper())
    demo.run(30)
    assert [case.decision for case in demo.applications] == ["approved", "refused"]
    assert demo.applications[0].detail.startswith("MCT-TL-")
    assert demo.applications[1].detail == "labour-no-clearance"
    assert [change["sequence"] for change in demo.tender.relayed] == [1, 2, 3]
    assert demo.tender.relayed[-1]["eligibility"]["eligible"] is True
    console = Console(record=True, width=120)
    render_investeasy(console, demo)
    shown = console.export_text()
    assert "Invest Easy and Isnad" in shown and "awarded" in shown
    assert demo.applications[1].reasons[0]["ar"] in shown


def test_a_cr_cancelled_after_approval_suspends_the_licence_and_tells_the_portal(
    hub: InvestIsnadHub, portal_key: str
) -> None:
    establishment = world.healthy()[1]
    body = application(establishment)
    reference = body["application_ref"]
    assert submit(hub.url, portal_key, body).status_code == 202
    (row,) = wait_until(
        lambda: hub.rows(InvestEasyApplication, application_ref=reference, status="confirmed"),
        "the approval confirmed",
    )
    assert row.decision == "approved" and row.licence_no
    moci = hub.partner(PUSH_MOCI_CR_STATUS)
    push = {
        "cr_no": establishment.cr_no,
        "status": "cancelled",
        "effective_date": "2026-12-20",
        "reason": "شطب السجل التجاري بناءً على طلب المالك",
    }
    pushed = httpx.post(
        f"{hub.url}/api/v1/push/moci/cr-status", json=push, headers={"X-Api-Key": moci}
    )
    assert pushed.status_code == 202, pushed.text
    told = wait_until(
        lambda: hub.portal.licence_statuses.get(reference), "the portal told of the suspension"
    )
    assert told["licenceNumber"] == row.licence_no and told["licenceStatus"] == "SUSPENDED"
    assert told["reason"]["code"] == "cr-cancelled" and ARABIC.search(told["reason"]["textAr"])
    (licence,) = hub.rows(TradeLicence, licence_no=row.licence_no)
    assert licence.status == "suspended"
    confirmed = [
        r
        for r in hub.results("investeasy.licence-status.confirmed", 1)
        if r["data"]["application_ref"] == reference
    ]
    assert confirmed and confirmed[0]["correlationid"] == row.correlationid
    assert hub.portal.decisions[reference]["decision"] == "APPROVED"  # the decision stands
