"""Isnad tenders through a whole hub on the embedded default: a tender floated from
municipal.in comes back with Isnad's number; Isnad's status pushes are relayed to
municipal.out once each and in order per tender, whether pushed twice or out of order; an
award carries the winner's eligibility from MOCI, the Chamber and the labour register; a
malformed or unauthorised push is a problem document that stores nothing."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors import world
from connectors.isnad.simulator import send
from hub.api.grants import PUSH_ISNAD_TENDER_STATUS
from hub.config import Settings
from hub.replay.history import case_story
from hub.store.tables import IsnadTender, IsnadTenderChange, Message, OutboxEvent
from tests.integration.investisnad_hub import InvestIsnadHub, award, start, tender, wait_until

ARABIC = re.compile("[\u0600-\u06ff]")
_refs = iter(range(1000, 9999))


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InvestIsnadHub]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("isnad"),
        retry_ladder="0.3s,0.3s",
        partner_pepper="test-pepper",
        auth_fail_limit=10_000,
    )
    yield from start(settings)


@pytest.fixture(scope="module")
def isnad_key(hub: InvestIsnadHub) -> str:
    return hub.partner(PUSH_ISNAD_TENDER_STATUS)


def floated(hub: InvestIsnadHub, min_grade: int = 3) -> tuple[str, str, str]:
    """A tender floated through the hub: (tender_ref, tender_no, case id)."""
    ref = f"MM-TND-2026-{next(_refs):04d}"
    case = f"CASE-TND-{uuid.uuid4().hex[:8]}"
    hub.backend.send("tender.float.requested", tender(ref, min_grade), correlationid=case)
    found = [
        r for r in hub.results("tender.floated", 1) if r["data"]["tender_ref"] == ref
    ] or wait_until(
        lambda: [r for r in hub.results("tender.floated", 1) if r["data"]["tender_ref"] == ref],
        f"{ref} floated",
    )
    return ref, found[0]["data"]["tender_no"], case


def relayed(hub: InvestIsnadHub, tender_no: str, count: int) -> list[dict[str, Any]]:
    def mine() -> list[dict[str, Any]]:
        got = [
            r
            for r in hub.results("tender.status-changed", 1)
            if r["data"]["tender_no"] == tender_no
        ]
        return got if len(got) >= count else []

    return wait_until(mine, f"{count} changes of {tender_no}")


def check_floated_awarded_and_checked(hub: InvestIsnadHub, key: str) -> None:
    ref, tender_no, case = floated(hub)
    assert tender_no in hub.isnad.tenders
    assert hub.isnad.tenders[tender_no]["title"]["ar"].startswith("إعادة")
    winner = world.healthy()[0]
    opened = hub.isnad.change(tender_no, "open")
    closed = hub.isnad.change(tender_no, "bids-closed")
    awarded = hub.isnad.change(tender_no, "awarded", award=award(winner))
    for change in (awarded, opened, closed, opened):  # the award early, the opening twice
        assert send(hub.url, key, change).status_code == 202
    changes = relayed(hub, tender_no, 3)
    assert [c["data"]["status"] for c in changes] == ["open", "bids-closed", "awarded"]
    assert all(c["correlationid"] == case and c["data"]["tender_ref"] == ref for c in changes)
    eligibility = changes[-1]["data"]["eligibility"]
    assert eligibility["eligible"] is True
    assert {c["check"] for c in eligibility["checks"]} == {
        "commercial-registration",
        "chamber-membership",
        "chamber-grade",
        "labour-standing",
    }
    assert all(ARABIC.search(c["reason"]["ar"]) for c in eligibility["checks"])
    (row,) = hub.rows(IsnadTender, tender_no=tender_no)
    assert (row.status, row.last_sequence, row.tender_ref) == ("awarded", 3, ref)
    with hub.runtime.sessions() as session:  # `hub replay show <case>`: the whole tender
        story = [s["message"]["type"] for s in case_story(session, case)]
    assert story == ["tender.float.requested"] + ["isnad.tender.status-changed"] * 3


def test_a_tender_floated_awarded_and_the_winner_checked(
    hub: InvestIsnadHub, isnad_key: str
) -> None:
    check_floated_awarded_and_checked(hub, isnad_key)


def test_an_award_to_a_company_without_standing_is_reported_ineligible_with_reasons(
    hub: InvestIsnadHub, isnad_key: str
) -> None:
    _, tender_no, _ = floated(hub, min_grade=1)
    loser = world.with_weakness("no-clearance")[0]
    send(hub.url, isnad_key, hub.isnad.change(tender_no, "open"))
    send(hub.url, isnad_key, hub.isnad.change(tender_no, "awarded", award=award(loser)))
    changes = relayed(hub, tender_no, 2)
    eligibility = changes[-1]["data"]["eligibility"]
    assert eligibility["eligible"] is False
    failing = {c["check"] for c in eligibility["checks"] if c["outcome"] == "fail"}
    assert "labour-standing" in failing


def test_repeated_and_out_of_order_pushes_are_relayed_once_in_order(
    hub: InvestIsnadHub, isnad_key: str
) -> None:
    _, tender_no, _ = floated(hub)
    first, second, third, fourth = (
        hub.isnad.change(tender_no, status)
        for status in ("open", "bids-closed", "cancelled", "cancelled")
    )
    fourth = fourth | {"note": {"en": "Cancelled again by mistake", "ar": "أُلغيت مرة أخرى خطأً"}}
    for push in (third, first, first, third):
        assert send(hub.url, isnad_key, push).status_code == 202
    wait_until(
        lambda: hub.rows(IsnadTenderChange, tender_no=tender_no, sequence=3),
        "the early change held",
    )
    early = relayed(hub, tender_no, 1)
    assert [c["data"]["sequence"] for c in early] == [1]
    assert send(hub.url, isnad_key, second).status_code == 202
    assert (
        send(hub.url, isnad_key, first | {"changed_at": "2027-01-01T08:00:00+04:00"}).status_code
        == 202
    )
    changes = relayed(hub, tender_no, 3)
    assert [c["data"]["sequence"] for c in changes] == [1, 2, 3]
    assert send(hub.url, isnad_key, fourth).status_code == 202
    relayed(hub, tender_no, 4)
    every = [
        r for r in hub.all_results("tender.status-changed") if r["data"]["tender_no"] == tender_no
    ]
    assert [c["data"]["sequence"] for c in every] == [1, 2, 3, 4]
    assert len({c["id"] for c in every}) == 4
    repeats = wait_until(
        lambda: [
            e for e in hub.audit("tender.change.repeat") if e.detail["tender_no"] == tender_no
        ],
        "the resend with another time called a repeat",
    )
    assert [e.detail["sequence"] for e in repeats] == [1]
    held = [e for e in hub.audit("tender.change.held") if e.detail["tender_no"] == tender_no]
    # Held once, waiting for 1 or 2: the two first pushes run concurrently, either may be first.
    assert [e.detail["sequence"] for e in held] == [3]
    assert held[0].detail["waiting_for"] in (1, 2)


def test_malformed_or_unauthorised_pushes_are_problems_that_store_nothing(
    hub: InvestIsnadHub, isnad_key: str
) -> None:
    def stored() -> tuple[int, int]:
        return len(hub.rows(Message)), len(hub.rows(OutboxEvent))

    before = stored()
    change = {
        "tender_no": "ISN-2026-999999",
        "sequence": 1,
        "status": "awarded",
        "changed_at": "2027-01-20T09:30:00+04:00",
    }
    unsigned = httpx.post(f"{hub.url}/api/v1/push/isnad/tender-status", json=change)
    assert unsigned.status_code == 401
    assert unsigned.headers["content-type"].startswith("application/problem+json")
    wrong = send(hub.url, hub.partner("licences.read"), change)
    assert wrong.status_code == 403
    no_award = send(hub.url, isnad_key, change)  # an award must name the winner
    assert no_award.status_code == 422
    assert no_award.headers["content-type"].startswith("application/problem+json")
    bad_status = send(
        hub.url, isnad_key, change | {"status": "sold", "award": award(world.healthy()[0])}
    )
    assert bad_status.status_code == 422
    assert stored() == before
    assert hub.rows(IsnadTender, tender_no="ISN-2026-999999") == []
    assert len(hub.audit("partner.denied")) >= 2
    refused = [e.detail["fields"] for e in hub.audit("partner.push.refused")]
    assert ["award"] in refused and ["status"] in refused


def test_a_filing_isnad_cannot_use_fails_without_a_tender(
    hub: InvestIsnadHub, isnad_key: str
) -> None:
    hub.isnad.set_fault("contract-break")
    try:
        ref = f"MM-TND-2026-{next(_refs):04d}"
        hub.backend.send("tender.float.requested", tender(ref))
        failed = wait_until(
            lambda: hub.message("tender.float.requested", "failed"), "the filing failed"
        )
        assert "isnad" in (failed.last_error or "")
    finally:
        hub.isnad.set_fault("none")
    assert hub.rows(IsnadTender, tender_ref=ref) == []
    assert not [r for r in hub.all_results("tender.floated", 0.2) if r["data"]["tender_ref"] == ref]
