"""An agency outage longer than the in-process retries: the cases wait on the retry ladder
(the circuit keeps the hub from hammering the agency) and end with the right decision, once,
after the agency returns."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.rop import data as rop_register
from connectors.rop.simulator import RopSimulator
from hub.serving import LoopbackServer
from tests.e2e.harness import HubProcess, MunicipalBackend, run_cli

pytestmark = pytest.mark.e2e
PARKING = "permit.parking.requested"


@pytest.fixture
def rop() -> Iterator[tuple[RopSimulator, str]]:
    """The ROP simulator run by the test itself, so the test decides when the outage ends."""
    simulator = RopSimulator()
    with LoopbackServer(simulator.app) as server:
        yield simulator, server.url


def test_cases_wait_out_an_outage_and_complete_once(
    engines: dict[str, str], rop: tuple[RopSimulator, str], tmp_path: Path
) -> None:
    simulator, url = rop
    env = engines | {
        "HUB_AGENCIES__ROP__URL": url,
        "HUB_AGENCIES__ROP__CREDENTIALS__USERNAME": simulator.credentials["username"],
        "HUB_AGENCIES__ROP__CREDENTIALS__PASSWORD": simulator.credentials["password"],
        "HUB_RETRY_LADDER": "1s,1s,1s,1s,1s,1s,1s,1s,1s,1s",
        # Still a circuit between the cases and the agency, with a short wait before its trial
        # call (production waits 30 s), so the cases complete soon after the agency is back.
        "HUB_CIRCUIT_RESET_S": "2",
    }
    simulator.set_fault("outage")
    backend = MunicipalBackend(env["HUB_TEST_BROKER_URL"])
    owner = rop_register.valid_vehicles()[0]
    lapsed = rop_register.lapsed_vehicles()[0]
    try:
        with HubProcess(env, tmp_path / "hub.log"):
            issued = backend.send(
                PARKING,
                {
                    "application_no": "PKA-OUT-00001",
                    "plate": {"number": owner.plate_number, "code": owner.plate_code},
                    "civil_id": owner.owner.civil_id,
                    "zone": "ruwi",
                    "months": 3,
                },
            )
            refused = backend.send(
                PARKING,
                {
                    "application_no": "PKA-OUT-00002",
                    "plate": {"number": lapsed.plate_number, "code": lapsed.plate_code},
                    "civil_id": lapsed.owner.civil_id,
                    "zone": "ruwi",
                    "months": 3,
                },
            )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                listing = run_cli(env, "replay", "list", "--json", "--status", "retrying")
                if listing.stdout.count("\n") == 2:
                    break
                time.sleep(0.5)
            assert listing.stdout.count("\n") == 2, "both cases should be waiting on the ladder"
            assert backend.take_at_least(1, timeout_s=2) == []  # no decision during the outage
            simulator.set_fault("none")
            results = backend.results_for({issued, refused}, timeout_s=60)
            results += backend.results(expected=0)
    finally:
        backend.close()
    decisions = {r["causationid"]: r["data"]["decision"] for r in results}
    assert decisions == {issued: "issued", refused: "refused"}
    assert len(results) == 2
