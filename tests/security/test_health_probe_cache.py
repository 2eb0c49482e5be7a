"""Item 8 of the security review: /readyz and /metrics do not open a broker connection per
request. A fault proxy in front of RabbitMQ counts the connections the served app opens while
it answers 20 of each; within the probe cache's period they share one look."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from kombu.connection import Connection

from hub.bus.probe import BrokerProbe
from hub.bus.topology import declare_topology
from tests.faultproxy import FaultProxy
from tests.integration.partner_hub import PartnerHub


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    with FaultProxy(5672) as running:
        yield running


def _via(url: str, port: int) -> str:
    return url.replace("127.0.0.1:5672", f"127.0.0.1:{port}", 1)


def test_readyz_and_metrics_share_one_cached_broker_look(
    tmp_path_factory: pytest.TempPathFactory, rabbitmq_url: str, proxy: FaultProxy
) -> None:
    broker = _via(rabbitmq_url, proxy.port)
    with Connection(rabbitmq_url) as conn:
        declare_topology(conn.default_channel, rabbitmq_url)
    root = tmp_path_factory.mktemp("probe-cache")
    with PartnerHub(root, broker_url=broker, health_probe_cache_s=600) as hub:
        before = proxy.connections_accepted
        with httpx.Client(base_url=hub.url, timeout=30) as client:
            ready = [client.get("/readyz") for _ in range(20)]
            scraped = [client.get("/metrics") for _ in range(20)]
        opened = proxy.connections_accepted - before
    assert {r.status_code for r in ready} == {200}, ready[0].text
    assert all("hub_queue_lag_messages 0.0" in r.text for r in scraped)
    assert opened <= 1, f"{opened} broker connections for 40 requests"


def test_a_probe_with_no_cache_looks_every_time_and_an_unreachable_broker_is_down(
    rabbitmq_url: str, proxy: FaultProxy
) -> None:
    probe = BrokerProbe(_via(rabbitmq_url, proxy.port), ttl_s=0)
    before = proxy.connections_accepted
    assert probe.reachable() and probe.reachable()
    assert proxy.connections_accepted - before == 2
    proxy.cut(600)
    assert not probe.reachable()
    with pytest.raises(ConnectionError):
        probe.depth()


def test_a_cached_look_expires_after_its_period(rabbitmq_url: str, proxy: FaultProxy) -> None:
    now = [0.0]
    probe = BrokerProbe(_via(rabbitmq_url, proxy.port), ttl_s=5, clock=lambda: now[0])
    assert probe.reachable()
    proxy.cut(600)
    now[0] = 4.9
    assert probe.reachable()  # the cached look
    now[0] = 5.1
    assert not probe.reachable()  # looked again: the broker is away
