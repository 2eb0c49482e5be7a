"""`hub serve --workers 2`: two worker processes compete on one queue; every message gets
one result and one record effect, and both workers take a share."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest
from kombu import Connection
from sqlalchemy import func, select

from connectors.rop import data as rop_register
from hub.bus.topology import INBOUND_QUEUE_NAME, is_amqp
from hub.store.engine import make_engine
from hub.store.tables import ParkingPermit
from tests.e2e.harness import HubProcess, MunicipalBackend

pytestmark = pytest.mark.e2e
BATCH = 80


def wait_for_consumers(broker_url: str, count: int, timeout_s: float = 30.0) -> None:
    """On RabbitMQ, until `count` consumers are on the inbound queue: a worker that is still
    starting must not find the batch already handled by the other (a worker takes 80
    messages in well under a second)."""
    if not is_amqp(broker_url):
        return  # the embedded broker's workers poll the same file; nothing to count
    deadline = time.monotonic() + timeout_s
    with Connection(broker_url) as conn:
        while True:
            _, _, consumers = conn.default_channel.queue_declare(INBOUND_QUEUE_NAME, passive=True)
            if consumers >= count or time.monotonic() > deadline:
                assert consumers >= count, f"{consumers} of {count} workers consuming"
                return
            time.sleep(0.2)


def test_two_workers_share_the_queue_without_duplicates(
    engines: dict[str, str], tmp_path: Path
) -> None:
    backend = MunicipalBackend(engines["HUB_TEST_BROKER_URL"])
    vehicles = rop_register.valid_vehicles()
    log_path = tmp_path / "hub.log"
    try:
        with HubProcess(engines, log_path, "--workers", "2"):
            wait_for_consumers(engines["HUB_TEST_BROKER_URL"], 2)
            sent = {
                backend.send(
                    "permit.parking.requested",
                    {
                        "application_no": f"PKA-TWO-{index:05d}",
                        "plate": {"number": v.plate_number, "code": v.plate_code},
                        "civil_id": v.owner.civil_id,
                        "zone": "seeb-souq",
                        "months": 12,
                    },
                )
                for index, v in enumerate(vehicles[i % len(vehicles)] for i in range(BATCH))
            }
            results = backend.results_for(sent, timeout_s=120)
            results += backend.results(expected=0)
    finally:
        backend.close()
    per_cause = Counter(r["causationid"] for r in results)
    assert set(per_cause) == sent
    assert max(per_cause.values()) == 1

    store_url = engines.get("HUB_DATABASE_URL") or f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    engine = make_engine(store_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ParkingPermit)) == BATCH
    engine.dispose()

    done_by_pid = Counter(
        line["pid"]
        for line in map(json.loads, log_path.read_text().splitlines())
        if line.get("event") == "message.done"
    )
    assert len(done_by_pid) == 2, done_by_pid
