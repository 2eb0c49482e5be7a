"""A soak: `hub serve --workers 2` through the fault proxies for about two minutes, batch
after batch, with every kind of fault in turn; prints the lost and doubled results (zero
each). One run, on RabbitMQ + PostgreSQL."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.harness import HubProcess, MunicipalBackend
from tests.e2e.test_network_faults import Network, assert_exactly_once, network, send_batch
from tests.faultproxy import FaultProxy

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
__all__ = ["network"]  # the fixture, shared with the single-fault tests
ROUNDS = 8
PER_ROUND = 40


def faults(net: Network) -> list[tuple[str, Callable[[], None]]]:
    def cut(proxy: FaultProxy, seconds: float) -> Callable[[], None]:
        return lambda: (proxy.cut(seconds), time.sleep(seconds))[1]

    def silence(proxy: FaultProxy, seconds: float) -> Callable[[], None]:
        return lambda: (proxy.silence(), time.sleep(seconds), proxy.pass_through())[1]

    def reset(proxy: FaultProxy) -> Callable[[], None]:
        return lambda: (proxy.reset_after(41), time.sleep(1))[1]

    def slow(proxy: FaultProxy) -> Callable[[], None]:
        return lambda: (proxy.slow(0.03), time.sleep(3), proxy.pass_through())[1]

    return [
        ("broker cut", cut(net.broker, 3)),
        ("store cut", cut(net.store, 3)),
        ("broker silence", silence(net.broker, 6)),
        ("store silence", silence(net.store, 5)),
        ("broker reset", reset(net.broker)),
        ("store reset", reset(net.store)),
        ("broker slow", slow(net.broker)),
        ("broker cut long", cut(net.broker, 10)),
    ]


def test_soak_two_workers_through_repeated_faults(network: Network, tmp_path: Path) -> None:
    backend = MunicipalBackend(network.rabbitmq_url)
    sent: set[str] = set()
    results = []
    try:
        with HubProcess(network.env, tmp_path / "hub.log", "--workers", "2"):
            for index, (name, fault) in enumerate(faults(network)[:ROUNDS]):
                sent |= send_batch(backend, f"SOAK{index}", count=PER_ROUND)
                results += backend.take_at_least(len(results) + 5, timeout_s=20)
                print(f"soak round {index}: {name}")
                fault()
            missing = sent - {r["causationid"] for r in results}
            results += backend.results_for(missing, timeout_s=60)
            results += backend.results(expected=0)
    finally:
        backend.close()
    ids: dict[str, set[str]] = defaultdict(set)
    for result in results:
        ids[result["causationid"]].add(result["id"])
    lost = len(sent - set(ids))
    doubled = sum(1 for cause_ids in ids.values() if len(cause_ids) > 1)
    print(f"soak: {len(sent)} cases, {lost} lost, {doubled} doubled")
    assert_exactly_once(sent, results, network.postgres_url, count=len(sent))
