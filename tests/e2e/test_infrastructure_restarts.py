"""A RabbitMQ restart and a PostgreSQL restart in the middle of a batch: every accepted
message still reaches exactly one result and one record effect."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connectors.rop import data as rop_register
from hub.store.engine import make_engine
from hub.store.tables import ParkingPermit
from tests.conftest import reachable, unavailable
from tests.e2e.harness import HubProcess, MunicipalBackend, hub_env

# serial: restarts the shared services, so never beside other tests (tests/conftest.py).
pytestmark = [pytest.mark.e2e, pytest.mark.serial]
BATCH = 60


def _wait_for_port(port: int, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while not reachable("127.0.0.1", port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"port {port} did not come back")
        time.sleep(0.5)


def restart_rabbitmq() -> None:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        unavailable("rabbitmqctl is not on PATH; cannot restart RabbitMQ")
    subprocess.run([ctl, "stop_app"], check=True, capture_output=True, timeout=120)
    subprocess.run([ctl, "start_app"], check=True, capture_output=True, timeout=120)
    subprocess.run([ctl, "await_startup"], check=True, capture_output=True, timeout=120)
    _wait_for_port(5672)


def restart_postgres() -> None:
    ctl = shutil.which("pg_ctlcluster")
    versions = sorted(Path("/etc/postgresql").glob("*")) if Path("/etc/postgresql").exists() else []
    if ctl is None or not versions:
        unavailable("pg_ctlcluster is not available; cannot restart PostgreSQL")
    subprocess.run(
        [ctl, "--skip-systemctl-redirect", versions[-1].name, "main", "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    _wait_for_port(5432)


@pytest.mark.parametrize(
    "restart", [restart_rabbitmq, restart_postgres], ids=["rabbitmq", "postgres"]
)
def test_restart_during_a_batch_loses_and_duplicates_nothing(
    restart: Callable[[], None], rabbitmq_url: str, postgres_url: str, tmp_path: Path
) -> None:
    env = hub_env(tmp_path) | {"HUB_BROKER_URL": rabbitmq_url, "HUB_DATABASE_URL": postgres_url}
    backend = MunicipalBackend(rabbitmq_url)
    vehicles = rop_register.valid_vehicles()
    with HubProcess(env, tmp_path / "hub.log"):
        sent = {
            backend.send(
                "permit.parking.requested",
                {
                    "application_no": f"PKA-RST-{index:05d}",
                    "plate": {"number": v.plate_number, "code": v.plate_code},
                    "civil_id": v.owner.civil_id,
                    "zone": "bawshar",
                    "months": 6,
                },
            )
            for index, v in enumerate(vehicles[i % len(vehicles)] for i in range(BATCH))
        }
        results = backend.take_at_least(5)
        restart()
        if restart is restart_rabbitmq:
            backend.abandon()  # the broker cut it; the durable results queue kept what came
            backend = MunicipalBackend(rabbitmq_url, backend.queue_name)
        try:
            missing = sent - {r["causationid"] for r in results}
            results += backend.results_for(missing, timeout_s=180)
            results += backend.results(expected=0)
        finally:
            backend.close()

    ids_by_cause: dict[str, set[str]] = defaultdict(set)
    for result in results:
        ids_by_cause[result["causationid"]].add(result["id"])
    assert set(ids_by_cause) == sent, f"{len(sent - set(ids_by_cause))} without a result"
    assert all(len(ids) == 1 for ids in ids_by_cause.values())
    engine = make_engine(postgres_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ParkingPermit)) == BATCH
    engine.dispose()
