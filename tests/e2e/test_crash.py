"""`kill -9` of `hub serve` in the middle of a batch: after a restart every accepted message
has exactly one result and one record effect."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connectors.rop import data as rop_register
from hub.store.engine import make_engine
from hub.store.tables import ParkingPermit
from tests.e2e.harness import HubProcess, MunicipalBackend, run_cli

pytestmark = pytest.mark.e2e
PARKING = "permit.parking.requested"
BATCH = 60


def test_kill_9_mid_batch_loses_nothing_and_duplicates_nothing(
    engines: dict[str, str], tmp_path: Path
) -> None:
    env = engines | {"HUB_EMBEDDED_LEASE_S": "2"}
    backend = MunicipalBackend(env["HUB_TEST_BROKER_URL"])
    vehicles = rop_register.valid_vehicles()
    first = HubProcess(env, tmp_path / "hub.log").start()
    try:
        sent = set()
        for index in range(BATCH):
            vehicle = vehicles[index % len(vehicles)]
            sent.add(
                backend.send(
                    PARKING,
                    {
                        "application_no": f"PKA-CRASH-{index:05d}",
                        "plate": {"number": vehicle.plate_number, "code": vehicle.plate_code},
                        "civil_id": vehicle.owner.civil_id,
                        "zone": "qurum",
                        "months": 1,
                    },
                )
            )
        early = backend.take_at_least(5)
        first.kill()  # SIGKILL: no clean shutdown, deliveries in hand are not acked
        assert len(early) < BATCH, "the batch finished before the kill; nothing was tested"
        with HubProcess(env, tmp_path / "hub.log"):
            late = backend.results_for(sent - {r["causationid"] for r in early}, timeout_s=120)
            late += backend.results(expected=0)  # a quiet period: a duplicate would show here
    finally:
        first.kill()
        backend.close()

    results = early + late
    ids_by_cause: dict[str, set[str]] = defaultdict(set)
    for result in results:
        ids_by_cause[result["causationid"]].add(result["id"])
    assert set(ids_by_cause) == sent, f"missing {len(sent - set(ids_by_cause))}"
    # At least once out, never two different results: a re-published result keeps its id.
    assert all(len(ids) == 1 for ids in ids_by_cause.values())

    listing = run_cli(env, "replay", "list", "--json", "--limit", "1000")
    statuses = [json.loads(line)["status"] for line in listing.stdout.splitlines()]
    assert statuses.count("done") == BATCH
    store_url = env.get("HUB_DATABASE_URL") or f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    engine = make_engine(store_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ParkingPermit)) == BATCH
    engine.dispose()
