"""Item 1 of the security review: a partner's X-Correlation-Id is a reference it may quote,
never a way onto another case. Validated to the strict pattern at REST and SOAP (the queue's
envelope is checked in tests/unit/test_envelope.py); a push joins a case only when the same
partner started it; reads never attach their audit entries to a case."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from hub.api.grants import soap_grant
from tests.integration.partner_hub import PartnerHub
from tests.integration.test_api_soap import ELECTRICITY, envelope

PUSH = "/api/v1/push/moci/cr-status"
RESIDENTS_CASE = "CASE-BP-2026-001234"  # another resident's case, known to the attacker
BAD_REFERENCES = ["[bold red]forged[/]", "a" * 129, "case 1", "case\t1", "x;rm", "-dash"]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartnerHub]:
    with PartnerHub(tmp_path_factory.mktemp("doors")) as served:
        yield served


def _push(cr_no: str) -> dict[str, str]:
    return {"cr_no": cr_no, "status": "cancelled", "effective_date": "2026-12-01", "reason": "x"}


def _cr() -> str:
    return str(uuid.uuid4().int)[:7].rjust(7, "1")


def test_a_push_naming_another_case_gets_a_case_of_its_own(hub: PartnerHub) -> None:
    name, secret = hub.partner("push.moci.cr-status")
    reply = httpx.post(
        f"{hub.url}{PUSH}",
        json=_push(_cr()),
        headers={"X-Api-Key": secret, "X-Correlation-Id": RESIDENTS_CASE},
        timeout=10,
    )
    assert reply.status_code == 202, reply.text
    event = hub.next_published("moci.cr.status-changed")
    assert event["correlationid"] == event["id"] == reply.json()["correlationid"]
    assert not [e for e in hub.audit() if e.correlationid == RESIDENTS_CASE]
    [accepted] = hub.audit("partner.push.accepted", partner=name)
    assert accepted.detail["reference"] == RESIDENTS_CASE
    assert accepted.correlationid == event["id"]


def test_a_partner_may_continue_a_case_it_started_but_not_one_another_started(
    hub: PartnerHub,
) -> None:
    _, first_secret = hub.partner("push.moci.cr-status")
    _, other_secret = hub.partner("push.moci.cr-status")
    opened = httpx.post(
        f"{hub.url}{PUSH}", json=_push(_cr()), headers={"X-Api-Key": first_secret}, timeout=10
    ).json()
    hub.next_published("moci.cr.status-changed")
    case = opened["correlationid"]
    again = httpx.post(
        f"{hub.url}{PUSH}",
        json=_push(_cr()),
        headers={"X-Api-Key": first_secret, "X-Correlation-Id": case},
        timeout=10,
    ).json()
    assert hub.next_published("moci.cr.status-changed")["correlationid"] == case
    assert again["correlationid"] == case and again["event_id"] != case
    stolen = httpx.post(
        f"{hub.url}{PUSH}",
        json=_push(_cr()),
        headers={"X-Api-Key": other_secret, "X-Correlation-Id": case},
        timeout=10,
    ).json()
    assert hub.next_published("moci.cr.status-changed")["correlationid"] == stolen["event_id"]


@pytest.mark.parametrize("reference", BAD_REFERENCES)
def test_a_reference_outside_the_pattern_is_a_422_naming_the_header(
    hub: PartnerHub, reference: str
) -> None:
    _, secret = hub.partner("push.moci.cr-status", "licences.read")
    before = hub.outbox_count()
    headers = {"X-Api-Key": secret, "X-Correlation-Id": reference}
    for reply in (
        httpx.post(f"{hub.url}{PUSH}", json=_push(_cr()), headers=headers, timeout=10),
        httpx.get(f"{hub.url}/api/v1/licences/MCT-TL-000001", headers=headers, timeout=10),
    ):
        assert reply.status_code == 422, reply.text
        [error] = reply.json()["errors"]
        assert (error["field"], error["location"]) == ("X-Correlation-Id", "header")
    assert hub.outbox_count() == before


def test_a_read_with_a_reference_is_audited_outside_any_case(hub: PartnerHub) -> None:
    name, secret = hub.partner("licences.read")
    reply = httpx.get(
        f"{hub.url}/api/v1/licences/MCT-TL-000001",
        headers={"X-Api-Key": secret, "X-Correlation-Id": RESIDENTS_CASE},
        timeout=10,
    )
    assert reply.status_code == 404
    [call] = hub.audit("partner.call", partner=name)
    assert call.correlationid is None and call.detail["reference"] == RESIDENTS_CASE


CONNECTION = (
    '<m:ConnectionCompletedNotification xmlns:m="urn:medc.om:services:1">'
    "<m:RequestNumber>NC-2026-{n}</m:RequestNumber>"
    "<m:BuildingPermitNumber>MCT-BP-2026-001234</m:BuildingPermitNumber>"
    "<m:MeterNumber>MTR-88120457</m:MeterNumber>"
    "<m:ConnectedAt>2026-11-28T09:15:00Z</m:ConnectedAt>"
    "</m:ConnectionCompletedNotification>"
)


def _soap(hub: PartnerHub, credentials: tuple[str, str], reference: str) -> httpx.Response:
    body = envelope(CONNECTION.format(n=uuid.uuid4().int % 10**6), credentials)
    return httpx.post(
        f"{hub.url}/soap/{ELECTRICITY}",
        content=body,
        headers={"Content-Type": "text/xml; charset=utf-8", "X-Correlation-Id": reference},
        timeout=10,
    )


def test_soap_pushes_follow_the_same_rule(hub: PartnerHub) -> None:
    credentials = hub.partner(soap_grant(ELECTRICITY, "ConnectionCompleted"))
    before = hub.outbox_count()
    for reference in BAD_REFERENCES:
        refused = _soap(hub, credentials, reference)
        assert refused.status_code == 500 and b"X-Correlation-Id" in refused.content
    assert hub.outbox_count() == before
    assert _soap(hub, credentials, RESIDENTS_CASE).status_code == 200
    event = hub.next_published("electricity.connection.completed")
    assert event["correlationid"] == event["id"]
    [accepted] = hub.audit("partner.push.accepted", partner=credentials[0])
    assert accepted.detail["reference"] == RESIDENTS_CASE
