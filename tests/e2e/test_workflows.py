"""Every municipal workflow end to end: a `hub serve` process with the five agency simulators,
driven only through municipal.in / municipal.out (agency pushes arrive as the CloudEvents the
push endpoints publish)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors import world
from connectors.rop import data as rop_register
from connectors.rop import violations
from connectors.world import Establishment
from tests.e2e.harness import HubProcess, MunicipalBackend

pytestmark = pytest.mark.e2e


@pytest.fixture
def hub(engines: dict[str, str], tmp_path: Path) -> Iterator[MunicipalBackend]:
    backend = MunicipalBackend(engines["HUB_TEST_BROKER_URL"])
    try:
        with HubProcess(engines, tmp_path / "hub.log"):
            yield backend
    finally:
        backend.close()


def premises(establishment: Establishment) -> dict[str, str]:
    return {
        "premises_id": establishment.premises_id,
        "wilayat": establishment.wilayat,
        "plot_no": establishment.plot_no,
        "electricity_account": establishment.account_no,
    }


def renewal(establishment: Establishment) -> dict[str, Any]:
    return {
        "licence_no": establishment.licence_no,
        "cr_no": establishment.cr_no,
        "activities": [establishment.licence_activity.code],
        "premises": premises(establishment),
    }


def one_result(backend: MunicipalBackend, cause: str) -> dict[str, Any]:
    [result] = [r for r in backend.results_for({cause}, timeout_s=60) if r["causationid"] == cause]
    return result


def test_licence_renewal_approved_and_rejected_with_a_line_per_check(hub: MunicipalBackend) -> None:
    good = world.healthy()[0]
    in_arrears = world.with_weakness("arrears")[0]
    approved = one_result(hub, hub.send("licence.renewal.requested", renewal(good)))
    rejected = one_result(hub, hub.send("licence.renewal.requested", renewal(in_arrears)))

    assert approved["type"] == "licence.renewal.completed"
    assert approved["data"]["decision"] == "approved"
    assert [c["outcome"] for c in approved["data"]["checks"]] == ["pass"] * 5
    assert approved["data"]["expiry"] > good.licence_expiry.isoformat()
    assert approved["data"]["name_ar"] == good.name_ar

    data = rejected["data"]
    assert data["decision"] == "rejected" and "expiry" not in data
    failing = {c["check"]: c["reason"] for c in data["checks"] if c["outcome"] == "fail"}
    assert "electricity-account" in failing
    assert "متأخرات" in failing["electricity-account"]["ar"]


def test_licence_issue_creates_a_licence(hub: MunicipalBackend) -> None:
    good = world.healthy()[1]
    request = {
        "application_no": "TLA-E2E-000001",
        "cr_no": good.cr_no,
        "activities": [good.activities[0].code],
        "premises": premises(good),
    }
    result = one_result(hub, hub.send("licence.issue.requested", request))
    assert result["data"]["decision"] == "approved"
    assert result["data"]["licence_no"].startswith("MCT-TL-1")


def test_cancelled_cr_suspends_its_licences(hub: MunicipalBackend) -> None:
    good = world.healthy()[2]
    one_result(hub, hub.send("licence.renewal.requested", renewal(good)))
    push = {
        "cr_no": good.cr_no,
        "status": "cancelled",
        "effective_date": "2026-12-01",
        "reason": "شطب السجل التجاري بناءً على طلب المالك",
    }
    suspended = one_result(hub, hub.send("moci.cr.status-changed", push))
    assert suspended["type"] == "licence.suspended"
    assert suspended["data"]["licence_no"] == good.licence_no
    assert "ألغت" in suspended["data"]["reason"]["ar"]


def test_building_permit_to_electricity_request_then_connection(hub: MunicipalBackend) -> None:
    owner = rop_register.valid_vehicles()[0].owner
    permit = {
        "permit_no": "MCT-BP-2026-700001",
        "owner": {"civil_id": owner.civil_id, "name_en": owner.name_en, "name_ar": owner.name_ar},
        "plot_no": "3/771",
        "wilayat": "Seeb",
        "load_kva": 80,
    }
    requested = one_result(hub, hub.send("permit.building.issued", permit))
    assert requested["type"] == "permit.building.electricity-requested"
    request_no = requested["data"]["request_no"]
    push = {
        "request_no": request_no,
        "permit_no": permit["permit_no"],
        "meter_no": "MTR-1",
        "connected_at": "2026-12-18T09:15:00+04:00",
    }
    connected = one_result(hub, hub.send("electricity.connection.completed", push))
    assert connected["type"] == "permit.building.electricity-connected"
    assert connected["data"]["meter_no"] == "MTR-1"


def test_paid_violation_is_settled_with_rop(hub: MunicipalBackend) -> None:
    known = violations.violations()[0]
    paid = {
        "violation_no": known.violation_no,
        "plate": {"number": known.plate_number, "code": known.plate_code},
        "amount_omr": known.amount_omr,
        "payment_reference": "MM-PAY-2026-7000001",
    }
    settled = one_result(hub, hub.send("violation.parking.paid", paid))
    assert settled["data"]["outcome"] == "settled"
    unknown = {**paid, "violation_no": violations.unknown_violation_numbers(1)[0]}
    refused = one_result(hub, hub.send("violation.parking.paid", unknown))
    assert refused["data"]["outcome"] == "not-found"


def test_ownership_transfer_flags_the_parking_permit(hub: MunicipalBackend) -> None:
    vehicle = rop_register.valid_vehicles()[5]
    issued = one_result(
        hub,
        hub.send(
            "permit.parking.requested",
            {
                "application_no": "PKA-FLAG-00001",
                "plate": {"number": vehicle.plate_number, "code": vehicle.plate_code},
                "civil_id": vehicle.owner.civil_id,
                "zone": "qurum",
                "months": 12,
            },
        ),
    )
    assert issued["data"]["decision"] == "issued"
    push = {
        "plate": {"number": vehicle.plate_number, "code": vehicle.plate_code},
        "old_owner_civil_id": vehicle.owner.civil_id,
        "new_owner_civil_id": "19999999",
        "transferred_at": "2026-11-27T11:42:00+04:00",
    }
    flagged = one_result(hub, hub.send("rop.ownership.transferred", push))
    assert flagged["type"] == "permit.parking.flagged"
    assert flagged["data"]["permit_no"] == issued["data"]["permit_no"]


def test_renewal_waits_out_an_electricity_outage_then_decides(tmp_path: Path) -> None:
    """The agency is down when the case arrives: it is not rejected, it waits; once the agency
    is back it ends with the right decision, once."""
    from connectors.electricity.simulator import ElectricitySimulator
    from hub.serving import LoopbackServer
    from tests.e2e.harness import hub_env

    simulator = ElectricitySimulator()
    simulator.set_fault("outage")
    with LoopbackServer(simulator.app) as server:
        env = hub_env(tmp_path) | {
            "HUB_AGENCIES__ELECTRICITY__URL": server.url,
            "HUB_AGENCIES__ELECTRICITY__CREDENTIALS__USERNAME": simulator.credentials["username"],
            "HUB_AGENCIES__ELECTRICITY__CREDENTIALS__PASSWORD": simulator.credentials["password"],
            "HUB_RETRY_LADDER": ",".join(["1s"] * 60),
            # The circuit opens in the outage; a short wait before its trial call, so the case
            # decides within seconds of the agency's return (production waits 30 s).
            "HUB_CIRCUIT_RESET_S": "1",
        }
        backend = MunicipalBackend(f"embedded+sqlite:///{tmp_path / 'broker.sqlite3'}")
        good = world.healthy()[3]
        try:
            with HubProcess(env, tmp_path / "hub.log"):
                cause = backend.send("licence.renewal.requested", renewal(good))
                assert backend.take_at_least(1, timeout_s=4) == []  # waiting, not rejected
                simulator.set_fault("none")
                results = backend.results_for({cause}, timeout_s=90)
                results += backend.results(expected=0)
        finally:
            backend.close()
    assert [r["data"]["decision"] for r in results] == ["approved"]
