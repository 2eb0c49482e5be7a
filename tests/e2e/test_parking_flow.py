"""The parking permit flow end to end: a `hub serve` process with the ROP simulator on loopback,
driven only through municipal.in / municipal.out and the `hub` command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.rop import data as rop_register
from tests.e2e.harness import HubProcess, MunicipalBackend, run_cli

pytestmark = pytest.mark.e2e
PARKING = "permit.parking.requested"


def parking(
    application_no: str, plate: tuple[str, str], civil_id: str, **extra: Any
) -> dict[str, Any]:
    return {
        "application_no": application_no,
        "plate": {"number": plate[0], "code": plate[1]},
        "civil_id": civil_id,
        "zone": "muttrah-corniche",
        "months": 6,
    } | extra


@pytest.fixture
def running_hub(
    engines: dict[str, str], tmp_path: Path
) -> Iterator[tuple[HubProcess, MunicipalBackend]]:
    backend = MunicipalBackend(engines["HUB_TEST_BROKER_URL"])
    hub = HubProcess(engines, tmp_path / "hub.log").start()
    try:
        yield hub, backend
    finally:
        hub.stop()
        backend.close()


def by_cause(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["causationid"]: r for r in results}


def test_each_parking_outcome_through_the_queue(running_hub, engines) -> None:  # type: ignore[no-untyped-def]
    hub, backend = running_hub
    owner_vehicle = rop_register.valid_vehicles()[1]
    lapsed = rop_register.lapsed_vehicles()[0]
    stranger = rop_register.valid_vehicles()[2].owner
    unknown = rop_register.unknown_plates(1)[0]
    sent = {
        "issued": backend.send(
            PARKING,
            parking(
                "PKA-E2E-00001",
                (owner_vehicle.plate_number, owner_vehicle.plate_code),
                owner_vehicle.owner.civil_id,
            ),
            correlationid="case-issued",
        ),
        "lapsed": backend.send(
            PARKING,
            parking(
                "PKA-E2E-00002", (lapsed.plate_number, lapsed.plate_code), lapsed.owner.civil_id
            ),
        ),
        "not-owner": backend.send(
            PARKING,
            parking(
                "PKA-E2E-00003",
                (owner_vehicle.plate_number, owner_vehicle.plate_code),
                stranger.civil_id,
            ),
        ),
        "unknown": backend.send(PARKING, parking("PKA-E2E-00004", unknown, stranger.civil_id)),
        "malformed": backend.send(
            PARKING,
            {
                "application_no": "PKA-E2E-00005",
                "plate": {"number": "1", "code": "A"},
                "zone": "qurum",
                "months": 2,
            },
        ),
    }
    results = backend.results(expected=len(sent), timeout_s=60)
    assert len(results) == len(sent), f"results: {results}; log: {hub.log_path.read_text()[-3000:]}"
    got = by_cause(results)

    issued = got[sent["issued"]]
    assert issued["type"] == "permit.parking.completed"
    assert issued["correlationid"] == "case-issued"
    assert issued["dataschema"] == "urn:muscat-hub:events:permit.parking.completed:1.0"
    assert issued["data"]["decision"] == "issued"
    assert issued["data"]["permit_no"].startswith("MCT-PK-")

    refusal = got[sent["lapsed"]]["data"]
    assert refusal["decision"] == "refused"
    assert [r["code"] for r in refusal["reasons"]] == ["registration-lapsed"]
    assert "انتهت صلاحية تسجيل المركبة" in refusal["reasons"][0]["ar"]
    assert got[sent["lapsed"]]["correlationid"] == sent["lapsed"]  # defaults to the event id

    assert [r["code"] for r in got[sent["not-owner"]]["data"]["reasons"]] == ["not-owner"]
    assert [r["code"] for r in got[sent["unknown"]]["data"]["reasons"]] == ["vehicle-not-found"]

    rejected = got[sent["malformed"]]
    assert rejected["type"] == "hub.message.rejected"
    assert {e["field"] for e in rejected["data"]["errors"]} == {"data.civil_id", "data.months"}

    listing = run_cli(engines, "replay", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    statuses = {row["id"]: row["status"] for row in map(json.loads, listing.stdout.splitlines())}
    assert statuses == {
        sent["issued"]: "done",
        sent["lapsed"]: "done",
        sent["not-owner"]: "done",
        sent["unknown"]: "done",
        sent["malformed"]: "rejected",
    }


def test_a_message_sent_twice_gets_one_result(running_hub) -> None:  # type: ignore[no-untyped-def]
    hub, backend = running_hub
    vehicle = rop_register.valid_vehicles()[3]
    body = json.dumps(
        {
            "specversion": "1.0",
            "id": "dup-evt-1",
            "source": "urn:test",
            "type": PARKING,
            "data": parking(
                "PKA-DUP-00001", (vehicle.plate_number, vehicle.plate_code), vehicle.owner.civil_id
            ),
        }
    ).encode()
    backend.send_raw(body, PARKING)
    backend.send_raw(body, PARKING)
    results = backend.results(expected=1, timeout_s=20)  # and a quiet period for a second one
    assert [r["causationid"] for r in results] == ["dup-evt-1"]


def test_undecodable_message_does_not_block_the_queue(running_hub) -> None:  # type: ignore[no-untyped-def]
    hub, backend = running_hub
    backend.send_raw(b"\x00\x01 not a cloud event", PARKING)
    vehicle = rop_register.valid_vehicles()[4]
    good = backend.send(
        PARKING,
        parking(
            "PKA-POI-00001", (vehicle.plate_number, vehicle.plate_code), vehicle.owner.civil_id
        ),
    )
    results = backend.results(expected=2, timeout_s=30)
    types = sorted(r["type"] for r in results)
    assert types == ["hub.message.rejected", "permit.parking.completed"]
    assert by_cause(results)[good]["data"]["decision"] == "issued"
