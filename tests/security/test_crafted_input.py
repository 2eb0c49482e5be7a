"""Item 6 of the security review: crafted input is the sender's fault, never a 5xx: a 5,000
digit integer, a lone surrogate escape and a duplicate key get a 422 problem; an xs:dateTime
at year 1 or 9999 with an offset gets a soap:Client fault. And every log line is JSON, the
web server's own (a traceback included) too."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.api.grants import soap_grant
from hub.observability import configure_logging
from hub.serving import LoopbackServer
from tests.integration.partner_hub import PartnerHub
from tests.integration.test_api_soap import ELECTRICITY, envelope

PUSH = "/api/v1/push/moci/cr-status"
VALID = '"cr_no": "1043217", "status": "cancelled", "effective_date": "2026-12-01"'
BODIES = {
    "huge-integer": '{"cr_no": ' + "9" * 5000 + "}",
    "lone-surrogate": "{" + VALID + ', "reason": "\\ud800"}',
    "duplicate-key": "{" + VALID + ', "reason": "a", "reason": "b"}',
}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartnerHub]:
    with PartnerHub(tmp_path_factory.mktemp("crafted")) as served:
        yield served


@pytest.mark.parametrize("body", BODIES.values(), ids=list(BODIES))
def test_crafted_json_is_a_422_problem(hub: PartnerHub, body: str) -> None:
    _, secret = hub.partner("push.moci.cr-status")
    reply = httpx.post(
        f"{hub.url}{PUSH}",
        content=body.encode(),
        headers={"X-Api-Key": secret, "Content-Type": "application/json"},
        timeout=10,
    )
    assert reply.status_code == 422, reply.text
    assert reply.json()["errors"][0]["field"] == "(body)"


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+04:00", "9999-12-31T23:59:59-04:00"])
def test_a_date_time_at_the_edge_of_the_calendar_is_a_client_fault(
    hub: PartnerHub, moment: str
) -> None:
    credentials = hub.partner(soap_grant(ELECTRICITY, "ConnectionCompleted"))
    payload = (
        '<m:ConnectionCompletedNotification xmlns:m="urn:medc.om:services:1">'
        "<m:RequestNumber>NC-2026-004211</m:RequestNumber>"
        "<m:BuildingPermitNumber>MCT-BP-2026-001234</m:BuildingPermitNumber>"
        "<m:MeterNumber>MTR-88120457</m:MeterNumber>"
        f"<m:ConnectedAt>{moment}</m:ConnectedAt>"
        "</m:ConnectionCompletedNotification>"
    )
    reply = httpx.post(
        f"{hub.url}/soap/{ELECTRICITY}",
        content=envelope(payload, credentials),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=10,
    )
    assert b"<faultcode>soap:Client</faultcode>" in reply.content, reply.text
    assert b"ConnectedAt" in reply.content


async def _crash(request: Request) -> Response:
    raise RuntimeError("boom in a handler")


def test_the_web_servers_own_lines_and_tracebacks_are_json() -> None:
    stream = io.StringIO()
    configure_logging("info", stream)
    with LoopbackServer(Starlette(routes=[Route("/", _crash)])) as server:
        assert httpx.get(server.url, timeout=10).status_code == 500
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # a plain-text line fails here
    crash = [p for p in parsed if "boom in a handler" in str(p.get("exception", ""))]
    assert crash and crash[0]["level"] == "error"
