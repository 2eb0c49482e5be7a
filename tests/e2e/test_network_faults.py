"""Network faults between `hub serve` and its broker or its database, in the middle of a
batch of parking permit requests, through the project's fault proxy: every case still gets
exactly one result on `municipal.out` and one permit, without restarting anything.

The municipal backend talks to RabbitMQ directly; only the hub's connections cross the proxy.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from kombu.connection import Connection
from sqlalchemy import func, select, text

from connectors.rop import data as rop_register
from hub.bus.topology import INBOUND_QUEUE_NAME
from hub.store.engine import make_engine
from hub.store.tables import ParkingPermit
from tests.conftest import unavailable
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def readyz(url: str) -> tuple[int, dict[str, Any]]:
    try:
        answer = httpx.get(f"{url}/readyz", timeout=10)
    except httpx.HTTPError:
        return 0, {}
    return answer.status_code, answer.json()


def wait_readyz(
    url: str, status: int, timeout_s: float, naming: str | None = None
) -> dict[str, Any]:
    """The first /readyz answer with `status` (and, given `naming`, a lost connection of that
    kind in `checks.connections`)."""
    deadline = time.monotonic() + timeout_s
    seen: tuple[int, dict[str, Any]] = (0, {})
    while time.monotonic() < deadline:
        seen = readyz(url)
        named = naming is None or naming in seen[1].get("checks", {}).get("connections", {})
        if seen[0] == status and named:
            return seen[1]
        time.sleep(0.5)
    raise AssertionError(f"/readyz never answered {status}; last {seen}")


def wait_for_line(log_path: Path, text: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if log_path.exists() and text in log_path.read_text():
            return
        time.sleep(0.3)
    raise AssertionError(f"{text} never logged")


def run_through_fault(
    network: Network,
    tmp_path: Path,
    tag: str,
    fault: Callable[[], None],
    during: Callable[[str], None] | None = None,
    reopen_backend: bool = False,
) -> str:
    """A batch; once some results are out, `fault()` (returns when the network is healed;
    `during(url)` runs meanwhile, given the endpoints' address); then every case must be
    answered exactly once within a bounded wait. Returns the hub's log."""
    backend = MunicipalBackend(network.rabbitmq_url)
    log_path = tmp_path / "hub.log"
    try:
        port = free_port()
        env = network.env | {"HUB_HTTP_PORT": str(port)}
        with HubProcess(env, log_path):
            sent = send_batch(backend, tag)
            results = backend.take_at_least(10, timeout_s=30)
            if during is None:
                fault()
            else:
                worker = threading.Thread(target=fault)
                worker.start()
                try:
                    during(f"http://127.0.0.1:{port}")
                finally:
                    worker.join(120)
            if reopen_backend:  # the fault cut the backend's connection too; its queue stays
                backend.abandon()
                backend = MunicipalBackend(network.rabbitmq_url, backend.queue_name)
            missing = sent - {r["causationid"] for r in results}
            results += backend.results_for(missing, timeout_s=40)
            results += backend.results(expected=0)
    finally:
        backend.close()
    assert_exactly_once(sent, results, network.postgres_url)
    return log_path.read_text()


def cut(proxy: FaultProxy, seconds: float) -> Callable[[], None]:
    def fault() -> None:
        proxy.cut(seconds)
        time.sleep(seconds)

    return fault


def test_broker_connections_cut_inside_the_retry_budget(network: Network, tmp_path: Path) -> None:
    run_through_fault(network, tmp_path, "CUT3", cut(network.broker, 3))


def test_broker_connections_cut_beyond_the_retry_budget_and_readyz_says_so(
    network: Network, tmp_path: Path
) -> None:
    seen: dict[str, dict[str, Any]] = {}

    def watch(url: str) -> None:
        seen["lost"] = wait_readyz(url, 503, timeout_s=10)
        seen["back"] = wait_readyz(url, 200, timeout_s=40)
        seen["metrics"] = {"text": httpx.get(f"{url}/metrics", timeout=10).text}

    log = run_through_fault(network, tmp_path, "CUT12", cut(network.broker, 12), during=watch)
    assert seen["lost"]["checks"]["broker"] == "down"
    assert {"consumer", "publisher"} & set(seen["lost"]["checks"].get("connections", {}))
    assert "connections" not in seen["back"]["checks"]
    metrics = seen["metrics"]["text"]
    assert 'hub_reconnections_total{kind="consumer"}' in metrics
    assert "hub_outbox_backlog" in metrics
    assert "hub_last_confirmed_publish_timestamp_seconds" in metrics
    assert "outbox.sweep_failed" not in log  # once per state change, not a traceback a sweep


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


@pytest.mark.parametrize("link", ["broker", "store"])
def test_started_while_a_link_is_down_waits_then_serves(
    network: Network, tmp_path: Path, link: str
) -> None:
    """`hub serve` started during an outage waits (one line per attempt, no traceback);
    while the broker or the store is away /readyz answers 503 naming it; then it serves on its
    own."""
    proxy = network.broker if link == "broker" else network.store
    port = free_port()
    env = network.env | {"HUB_HTTP_PORT": str(port)}
    log_path = tmp_path / "hub.log"
    backend = MunicipalBackend(network.rabbitmq_url)
    hub = HubProcess(env, log_path)
    proxy.cut(120)  # down until the hub has been seen waiting for it
    starting = threading.Thread(target=hub.start, kwargs={"timeout_s": 60})
    starting.start()
    try:
        if link == "broker":
            # The endpoints answer first; the consumer then records its lost connection.
            waiting = wait_readyz(f"http://127.0.0.1:{port}", 503, timeout_s=40, naming="broker")
            assert waiting["checks"]["broker"] == "down"
            assert "broker" in waiting["checks"]["connections"]
        else:
            wait_for_line(log_path, '"startup.waiting"', timeout_s=40)
            waiting = wait_readyz(f"http://127.0.0.1:{port}", 503, timeout_s=20)
            assert waiting["checks"]["store"] == "down"
        time.sleep(2)  # a few attempts
        proxy.cut(0)
        starting.join(60)
        wait_readyz(f"http://127.0.0.1:{port}", 200, timeout_s=20)
        sent = send_batch(backend, f"START{link[0].upper()}", count=20)
        results = backend.results(expected=20, timeout_s=40)
    finally:
        hub.stop()
        backend.close()
    assert_exactly_once(sent, results, network.postgres_url, count=20)
    log = log_path.read_text()
    waits = [line for line in log.splitlines() if '"startup.waiting"' in line]
    assert waits and all(f'"waiting_for": "{link}"' in line for line in waits)
    assert "Traceback" not in log


def test_rabbitmq_closes_every_connection_of_the_vhost(network: Network, tmp_path: Path) -> None:
    ctl = shutil.which("rabbitmqctl")
    vhost = network.rabbitmq_url.rsplit("/", 1)[1]
    if ctl is None or not vhost:
        unavailable("rabbitmqctl and a vhost of the test's own are needed")

    def close_all() -> None:
        subprocess.run(
            [ctl, "close_all_connections", "-p", vhost, "network fault test"],
            check=True,
            capture_output=True,
            timeout=60,
        )

    run_through_fault(network, tmp_path, "RMQCLOSE", close_all, reopen_backend=True)


def test_postgres_terminates_every_backend_of_the_database(
    network: Network, tmp_path: Path
) -> None:
    database = network.postgres_url.rsplit("/", 1)[1]

    def terminate_all() -> None:
        engine = make_engine(network.postgres_url)
        try:
            with engine.connect() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": database},
                )
        finally:
            engine.dispose()

    run_through_fault(network, tmp_path, "PGTERM", terminate_all)


def test_slow_broker_and_store_links_mid_batch(network: Network, tmp_path: Path) -> None:
    def slow_both() -> None:
        network.broker.slow(0.05)
        network.store.slow(0.02)
        time.sleep(6)
        network.broker.pass_through()
        network.store.pass_through()

    run_through_fault(network, tmp_path, "SLOW", slow_both)


@pytest.mark.parametrize("link", ["broker", "store"])
def test_reset_in_the_middle_of_a_frame(network: Network, tmp_path: Path, link: str) -> None:
    proxy = network.broker if link == "broker" else network.store

    def reset() -> None:
        proxy.reset_after(37)  # a few bytes into whatever is on the wire next
        time.sleep(2)

    run_through_fault(network, tmp_path, f"RST{link[0].upper()}", reset)
