"""Network faults between `hub serve` and its broker or its database, in the middle of a
batch of parking permit requests, through the project's fault proxy: every case still gets
exactly one result on `municipal.out` and one permit, without restarting anything.

The municipal backend talks to RabbitMQ directly; only the hub's connections cross the proxy.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kombu.connection import Connection
from sqlalchemy import func, select

from connectors.rop import data as rop_register
from hub.bus.topology import INBOUND_QUEUE_NAME
from hub.store.engine import make_engine
from hub.store.tables import ParkingPermit
from tests.e2e.harness import HubProcess, MunicipalBackend, hub_env
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.e2e
BATCH = 100
# Short bounds so a fault is noticed within seconds here (production defaults are longer).
FAST_DETECTION = {"HUB_BROKER_HEARTBEAT_S": "2", "HUB_STORE_TIMEOUT_S": "3"}


@dataclass
class Network:
    """The hub's two links, each through a proxy of its own."""

    broker: FaultProxy
    store: FaultProxy
    env: dict[str, str]
    rabbitmq_url: str
    postgres_url: str


def through(url: str, port: int, proxy: FaultProxy) -> str:
    return url.replace(f"127.0.0.1:{port}", f"127.0.0.1:{proxy.port}", 1)


def purge_inbound(rabbitmq_url: str) -> None:
    """The session's vhost is shared: a test that failed must not leave its work to the next."""
    with Connection(rabbitmq_url) as conn:
        try:
            conn.default_channel.queue_purge(INBOUND_QUEUE_NAME)
        except Exception:  # not declared yet: nothing to purge
            pass


@pytest.fixture
def network(rabbitmq_url: str, postgres_url: str, tmp_path: Path) -> Iterator[Network]:
    purge_inbound(rabbitmq_url)
    with (
        FaultProxy(5672, max_lifetime_s=240) as broker,
        FaultProxy(5432, max_lifetime_s=240) as store,
    ):
        env = hub_env(tmp_path) | FAST_DETECTION
        env["HUB_BROKER_URL"] = through(rabbitmq_url, 5672, broker)
        env["HUB_DATABASE_URL"] = through(postgres_url, 5432, store)
        yield Network(broker, store, env, rabbitmq_url, postgres_url)


def send_batch(backend: MunicipalBackend, tag: str, count: int = BATCH) -> set[str]:
    vehicles = rop_register.valid_vehicles()
    return {
        backend.send(
            "permit.parking.requested",
            {
                "application_no": f"PKA-{tag}-{index:05d}",
                "plate": {"number": v.plate_number, "code": v.plate_code},
                "civil_id": v.owner.civil_id,
                "zone": "bawshar",
                "months": 6,
            },
        )
        for index, v in enumerate(vehicles[i % len(vehicles)] for i in range(count))
    }


def assert_exactly_once(
    sent: set[str], results: list[dict[str, Any]], postgres_url: str, count: int = BATCH
) -> None:
    ids_by_cause: dict[str, set[str]] = defaultdict(set)
    for result in results:
        ids_by_cause[result["causationid"]].add(result["id"])
    lost = sent - set(ids_by_cause)
    doubled = {cause for cause, ids in ids_by_cause.items() if len(ids) > 1}
    assert not lost, f"{len(lost)} of {len(sent)} cases without a result"
    assert not doubled, f"{len(doubled)} cases with more than one result"
    assert set(ids_by_cause) == sent
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(ParkingPermit)) == count
    finally:
        engine.dispose()


def run_through_fault(
    network: Network, tmp_path: Path, tag: str, fault: Callable[[], None]
) -> None:
    """A batch; once some results are out, `fault()` (returns when the network is healed);
    then every case must be answered exactly once within a bounded wait."""
    backend = MunicipalBackend(network.rabbitmq_url)
    try:
        with HubProcess(network.env, tmp_path / "hub.log"):
            sent = send_batch(backend, tag)
            results = backend.take_at_least(10, timeout_s=30)
            fault()
            missing = sent - {r["causationid"] for r in results}
            results += backend.results_for(missing, timeout_s=40)
            results += backend.results(expected=0)
    finally:
        backend.close()
    assert_exactly_once(sent, results, network.postgres_url)


def cut(proxy: FaultProxy, seconds: float) -> Callable[[], None]:
    def fault() -> None:
        proxy.cut(seconds)
        time.sleep(seconds)

    return fault


@pytest.mark.parametrize("seconds", [3, 12], ids=["inside-retry-budget", "beyond-retry-budget"])
def test_broker_connections_cut_mid_batch(network: Network, tmp_path: Path, seconds: int) -> None:
    run_through_fault(network, tmp_path, f"CUT{seconds}", cut(network.broker, seconds))


def silence(proxy: FaultProxy, seconds: float) -> Callable[[], None]:
    """The open connections go silent for good; new ones pass again after `seconds`."""

    def fault() -> None:
        proxy.silence()
        time.sleep(seconds)
        proxy.pass_through()

    return fault


@pytest.mark.parametrize("link", ["broker", "store"])
def test_connections_gone_silent_mid_batch(network: Network, tmp_path: Path, link: str) -> None:
    proxy = network.broker if link == "broker" else network.store
    run_through_fault(network, tmp_path, f"SIL{link[0].upper()}", silence(proxy, 8))
