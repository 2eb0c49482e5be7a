"""The replay promise end to end: cases die in a ROP outage (a serving hub, a short retry
ladder), ROP comes back, one `hub replay run --status dead --agency rop` re-drives them, each case
completes exactly once, and the same command again re-drives nothing."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.rop import data as rop_register
from connectors.rop.simulator import RopSimulator
from hub.serving import LoopbackServer
from hub.store.engine import make_engine
from hub.store.tables import ParkingPermit
from tests.e2e.harness import HubProcess, MunicipalBackend, run_cli

pytestmark = pytest.mark.e2e
PARKING = "permit.parking.requested"
REPLAY = (
    *("replay", "run", "--status", "dead", "--agency", "rop"),
    *("--reason", "ROP back at 09:40", "--operator", "ops.duty"),
)


@pytest.fixture
def rop() -> Iterator[tuple[RopSimulator, str]]:
    """The ROP simulator run by the test itself, so the test decides when the outage ends."""
    simulator = RopSimulator()
    with LoopbackServer(simulator.app) as server:
        yield simulator, server.url


def parking(index: int, vehicle: Any) -> dict[str, Any]:
    return {
        "application_no": f"PKA-RPL-{index:05d}",
        "plate": {"number": vehicle.plate_number, "code": vehicle.plate_code},
        "civil_id": vehicle.owner.civil_id,
        "zone": "al-khuwair",
        "months": 6,
    }


def listed(env: dict[str, str], *filters: str) -> list[dict[str, Any]]:
    result = run_cli(env, "replay", "list", "--json", *filters)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_cases_dead_from_an_outage_complete_once_after_one_replay(
    engines: dict[str, str], rop: tuple[RopSimulator, str], tmp_path: Path
) -> None:
    simulator, url = rop
    env = engines | {
        "HUB_AGENCIES__ROP__URL": url,
        "HUB_AGENCIES__ROP__CREDENTIALS__USERNAME": simulator.credentials["username"],
        "HUB_AGENCIES__ROP__CREDENTIALS__PASSWORD": simulator.credentials["password"],
        "HUB_RETRY_LADDER": "1s,1s",
    }
    vehicles = rop_register.valid_vehicles()[:3] + rop_register.lapsed_vehicles()[:1]
    expected = ["issued", "issued", "issued", "refused"]
    backend = MunicipalBackend(env["HUB_TEST_BROKER_URL"])
    simulator.set_fault("outage")
    # A circuit that retries its trial call often: the cases use up their ladder in seconds
    # (production waits 30 s between trials, and cases wait on the circuit without dying).
    with HubProcess(env | {"HUB_CIRCUIT_RESET_S": "0.2"}, tmp_path / "outage.log"):
        sent = {
            backend.send(PARKING, parking(index, vehicle)): decision
            for index, (vehicle, decision) in enumerate(zip(vehicles, expected, strict=True))
        }
        deadline = time.monotonic() + 90
        while len(dead := listed(env, "--status", "dead")) < len(sent):
            assert time.monotonic() < deadline, f"not all dead: {dead}"
            time.sleep(0.5)
    assert {row["id"] for row in dead} == set(sent)
    assert all(row["agency"] == "rop" and row["attempts"] == 3 for row in dead)
    simulator.set_fault("none")

    try:
        with HubProcess(env, tmp_path / "hub.log"):
            first = run_cli(env, *REPLAY)
            assert first.returncode == 0, first.stderr
            assert "re-drive 4, re-publish 0, skip 0" in first.stdout
            results = backend.results_for(set(sent), timeout_s=60)
            results += backend.results(expected=0)  # a quiet period: a duplicate would show
            second = run_cli(env, *REPLAY)
            assert second.returncode == 0, second.stderr
            assert "re-drive 0, re-publish 0, skip 0" in second.stdout
            by_id = run_cli(env, "replay", "run", *sent, "--reason", "again", "--json")
            assert {json.loads(r)["action"] for r in by_id.stdout.splitlines()} == {"skip"}
            late = backend.results(expected=0)
            shown = run_cli(env, "replay", "show", next(iter(sent)), "--json")
    finally:
        backend.close()
    log = (tmp_path / "hub.log").read_text()[-3000:]
    assert Counter(r["causationid"] for r in results) == Counter(set(sent)), log
    assert {r["causationid"]: r["data"]["decision"] for r in results} == sent
    assert late == []
    story = json.loads(shown.stdout)
    marked = [h["detail"]["replay"] for h in story["history"] if "replay" in h["detail"]]
    assert marked and marked[0]["operator"] == "ops.duty"  # the marker came through the worker
    assert [r["operator"] for r in story["replays"]] == ["ops.duty"]
    assert {row["id"] for row in listed(env, "--status", "done")} == set(sent)
    engine = make_engine(env.get("HUB_DATABASE_URL") or f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    with engine.connect() as conn:
        permits = conn.execute(select(func.count()).select_from(ParkingPermit)).scalar_one()
    engine.dispose()
    assert permits == len(sent)  # one record effect per case
