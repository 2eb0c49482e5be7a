"""REST under /api/v1 against the served app: records, the MOCI push, keys and grants, problem
documents, limits, and the checked-in OpenAPI document."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from hub.api.openapi import OPENAPI_PATH
from tests.integration.partner_hub import (
    PartnerHub,
    building_permit,
    licence,
    parking_permit,
)

PUSH = "/api/v1/push/moci/cr-status"
PROBLEM = "application/problem+json"
ALL_REST = ("licences.read", "building-permits.read", "parking-permits.read", "push.moci.cr-status")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartnerHub]:
    with PartnerHub(tmp_path_factory.mktemp("rest"), http_max_body_bytes=4096) as served:
        yield served


@pytest.fixture(scope="module")
def client(hub: PartnerHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub.url, timeout=10) as http:
        yield http


@pytest.fixture(scope="module")
def key(hub: PartnerHub) -> str:
    return hub.partner(*ALL_REST)[1]


def _unique_cr() -> str:
    return str(uuid.uuid4().int)[:7].rjust(7, "1")


def test_a_licence_is_read_by_number_with_its_arabic_name_intact(
    hub: PartnerHub, client: httpx.Client, key: str
) -> None:
    hub.insert(licence("MCT-TL-100001", name_ar="مؤسسة الخليج للمقاولات"))
    reply = client.get("/api/v1/licences/MCT-TL-100001", headers={"X-Api-Key": key})
    assert reply.status_code == 200
    body = reply.json()
    assert body["name_ar"] == "مؤسسة الخليج للمقاولات"
    assert body["activities"][0] == {
        "code": "471101",
        "name_en": "General trading",
        "name_ar": "تجارة عامة",
    }
    assert body["expiry"] == "2027-11-30"


def test_licences_of_one_cr_are_listed_and_others_are_not(
    hub: PartnerHub, client: httpx.Client, key: str
) -> None:
    cr = _unique_cr()
    hub.insert(
        licence("MCT-TL-200002", cr_no=cr),
        licence("MCT-TL-200001", cr_no=cr),
        licence("MCT-TL-200003", cr_no="9999999"),
    )
    reply = client.get(
        f"/api/v1/commercial-registrations/{cr}/licences", headers={"X-Api-Key": key}
    )
    assert reply.status_code == 200
    assert [item["licence_no"] for item in reply.json()] == ["MCT-TL-200001", "MCT-TL-200002"]


def test_a_building_permit_is_read_and_an_unknown_one_is_a_404_problem(
    hub: PartnerHub, client: httpx.Client, key: str
) -> None:
    hub.insert(building_permit("MCT-BP-2026-300001"))
    found = client.get("/api/v1/building-permits/MCT-BP-2026-300001", headers={"X-Api-Key": key})
    assert found.status_code == 200
    assert found.json()["owner_name_ar"] == "سالم بن حمد الحارثي"
    assert datetime.fromisoformat(found.json()["connected_at"]) == datetime(
        2026, 11, 28, 5, 15, tzinfo=UTC
    )
    missing = client.get("/api/v1/building-permits/MCT-BP-NONE", headers={"X-Api-Key": key})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    assert missing.json()["status"] == 404 and missing.json()["title"] == "Not Found"


def test_parking_permits_are_listed_by_plate(
    hub: PartnerHub, client: httpx.Client, key: str
) -> None:
    hub.insert(
        parking_permit("PKA-2026-4000001", ("4411", "R")),
        parking_permit("PKA-2026-4000002", ("4411", "R"), status="refused", permit_no=None),
        parking_permit("PKA-2026-4000003", ("4411", "RA")),
    )
    reply = client.get(
        "/api/v1/parking-permits",
        params={"plate_number": "4411", "plate_code": "R"},
        headers={"X-Api-Key": key},
    )
    assert reply.status_code == 200
    assert {p["application_no"] for p in reply.json()} == {"PKA-2026-4000001", "PKA-2026-4000002"}


def test_no_key_is_a_401_problem_and_is_audited(hub: PartnerHub, client: httpx.Client) -> None:
    before = len(hub.audit("partner.denied"))
    reply = client.get("/api/v1/licences/MCT-TL-100001")
    assert reply.status_code == 401
    assert reply.headers["content-type"] == PROBLEM
    assert "WWW-Authenticate" in reply.headers
    denied = hub.audit("partner.denied")[before:]
    assert [(e.detail["reason"], e.detail["channel"]) for e in denied] == [
        ("missing-credentials", "rest")
    ]


@pytest.mark.parametrize("wrong", ["not-a-key", "0123456789abcdef.forged-secret-value"])
def test_a_wrong_key_is_a_401(hub: PartnerHub, client: httpx.Client, key: str, wrong: str) -> None:
    before = len(hub.audit("partner.denied"))
    forged = f"{key.split('.')[0]}.{'x' * 43}" if wrong.startswith("0123") else wrong
    reply = client.get("/api/v1/licences/MCT-TL-100001", headers={"X-Api-Key": forged})
    assert reply.status_code == 401
    assert [e.detail["reason"] for e in hub.audit("partner.denied")[before:]] == [
        "wrong-credentials"
    ]


def test_a_partner_without_the_grant_gets_403_and_it_is_audited(
    hub: PartnerHub, client: httpx.Client
) -> None:
    name, secret = hub.partner("parking-permits.read")
    reply = client.get("/api/v1/licences/MCT-TL-100001", headers={"X-Api-Key": secret})
    assert reply.status_code == 403
    assert reply.json()["type"] == "urn:muscat-hub:problem:not-granted"
    denied = hub.audit("partner.denied", partner=name)
    assert [(e.detail["reason"], e.detail["grant"], e.actor) for e in denied] == [
        ("not-granted", "licences.read", name)
    ]


def test_calls_are_audited_with_partner_and_operation(
    hub: PartnerHub, client: httpx.Client
) -> None:
    name, secret = hub.partner("licences.read")
    client.get("/api/v1/licences/MCT-TL-100001", headers={"X-Api-Key": secret})
    calls = hub.audit("partner.call", partner=name)
    assert [c.detail["operation"] for c in calls] == ["GET /api/v1/licences/{licence_no}"]


def test_over_the_rate_limit_is_429_with_retry_after(hub: PartnerHub, client: httpx.Client) -> None:
    name, secret = hub.partner("licences.read", rate_limit=2)
    statuses = [
        client.get("/api/v1/licences/MCT-TL-100001", headers={"X-Api-Key": secret}).status_code
        for _ in range(2)
    ]
    limited = client.get("/api/v1/licences/MCT-TL-100001", headers={"X-Api-Key": secret})
    assert statuses == [200, 200]
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= hub.settings.partner_rate_window_s
    assert [e.detail["reason"] for e in hub.audit("partner.denied", partner=name)] == [
        "rate-limited"
    ]


def test_a_cr_status_push_is_published_once_as_a_cloudevent(
    hub: PartnerHub, client: httpx.Client
) -> None:
    name, secret = hub.partner("push.moci.cr-status")
    push = {
        "cr_no": "1043217",
        "status": "cancelled",
        "effective_date": "2026-12-01",
        "reason": "شطب السجل التجاري بناءً على طلب المالك",
    }
    first = client.post(PUSH, json=push, headers={"X-Api-Key": secret})
    assert first.status_code == 202, first.text
    assert first.json()["duplicate"] is False and first.json()["published"] is True
    event = hub.next_published("moci.cr.status-changed")
    assert event["id"] == first.json()["event_id"]
    assert event["type"] == "moci.cr.status-changed"
    assert event["dataschema"] == "urn:muscat-hub:events:moci.cr.status-changed:1.0"
    assert event["source"] == f"urn:muscat-hub:partner:{name}"
    assert event["data"] == push
    outbox = hub.outbox_count()
    again = client.post(PUSH, json=push, headers={"X-Api-Key": secret})
    assert again.status_code == 202
    assert again.json()["event_id"] == event["id"] and again.json()["duplicate"] is True
    assert hub.outbox_count() == outbox
    accepted = hub.audit("partner.push.accepted", partner=name)
    assert [e.detail["event_id"] for e in accepted] == [event["id"]]


def test_an_invalid_push_is_422_naming_each_field_and_changes_nothing(
    hub: PartnerHub, client: httpx.Client, key: str
) -> None:
    outbox = hub.outbox_count()
    reply = client.post(
        PUSH,
        json={"cr_no": "10432", "status": "closed", "effective_date": "2026-02-30", "extra": 1},
        headers={"X-Api-Key": key},
    )
    assert reply.status_code == 422
    assert reply.headers["content-type"] == PROBLEM
    fields = {e["field"] for e in reply.json()["errors"]}
    assert fields == {"cr_no", "status", "effective_date", "reason", "extra"}
    assert hub.outbox_count() == outbox


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"cr_no": "1043217",', "application/json", 422),
        (b"[1, 2]", "application/json", 422),
        (b"\xff\xfe not utf-8", "application/json", 422),
        (b"[" * 2000 + b"]" * 2000, "application/json", 422),
        (b"cr_no=1043217", "application/x-www-form-urlencoded", 415),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(
    hub: PartnerHub, client: httpx.Client, key: str, body: bytes, content_type: str, status: int
) -> None:
    outbox = hub.outbox_count()
    reply = client.post(
        PUSH, content=body, headers={"X-Api-Key": key, "Content-Type": content_type}
    )
    assert reply.status_code == status
    assert reply.headers["content-type"] == PROBLEM
    if status == 422:
        assert reply.json()["errors"][0]["field"] == "(body)"
    assert hub.outbox_count() == outbox


def test_a_body_over_the_limit_is_413_declared_or_streamed(
    hub: PartnerHub, client: httpx.Client, key: str
) -> None:
    big = b'{"reason": "' + b"x" * 5000 + b'"}'
    declared = client.post(
        PUSH, content=big, headers={"X-Api-Key": key, "Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.headers["content-type"] == PROBLEM

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    streamed = client.post(
        PUSH, content=chunks(), headers={"X-Api-Key": key, "Content-Type": "application/json"}
    )
    assert streamed.status_code == 413


def test_invalid_query_parameters_are_422_naming_them(client: httpx.Client, key: str) -> None:
    reply = client.get(
        "/api/v1/parking-permits", params={"plate_number": "12A"}, headers={"X-Api-Key": key}
    )
    assert reply.status_code == 422
    named = {(e["location"], e["field"]) for e in reply.json()["errors"]}
    assert named == {("query", "plate_number"), ("query", "plate_code")}


def test_unknown_paths_and_methods_are_problems(client: httpx.Client) -> None:
    assert client.get("/api/v1/nothing-here").headers["content-type"] == PROBLEM
    wrong_method = client.delete("/api/v1/licences/MCT-TL-100001")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == PROBLEM


def test_healthz_says_alive_without_credentials(client: httpx.Client) -> None:
    reply = client.get("/healthz")
    assert reply.status_code == 200 and reply.json() == {"status": "alive"}


def test_the_served_openapi_is_the_checked_in_one(client: httpx.Client) -> None:
    served = client.get("/openapi.json").json()
    checked_in = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    assert served == checked_in, (
        "contracts/partners/openapi.json is stale: run `python -m hub.api.openapi`"
    )


def test_the_openapi_document_is_3_1_with_examples_and_problem_errors(
    client: httpx.Client,
) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    push = spec["paths"][PUSH]["post"]
    assert push["requestBody"]["content"]["application/json"]["examples"]
    assert set(push["responses"]) >= {"202", "401", "403", "413", "422", "429"}
    assert PROBLEM in push["responses"]["422"]["content"]
    assert "Retry-After" in push["responses"]["429"]["headers"]
    for name in ("LicenceView", "BuildingPermitView", "ParkingPermitView", "Problem"):
        assert spec["components"]["schemas"][name]["examples"], name
    assert spec["components"]["securitySchemes"]["ApiKey"]["name"] == "X-Api-Key"
