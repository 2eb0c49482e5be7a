"""Every metric moves: the pipeline and gateway over SQLite with a fake vehicle register, the
scrape-time gauges over an embedded broker, /metrics and /readyz on the served app."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pybreaker
import pytest
from kombu.connection import Connection
from kombu.messaging import Producer
from prometheus_client import REGISTRY, CollectorRegistry
from sqlalchemy.orm import Session, sessionmaker

from hub.agencies.gateway import AgencyGateway
from hub.api.app import build_services, create_app
from hub.api.shared_state import SharedStateCollector
from hub.bus.topology import IN_EXCHANGE, declare_topology
from hub.contracts.registry import ContractRegistry
from hub.errors import (
    AgencyAuthError,
    AgencyError,
    AgencyRateLimited,
    Forbidden,
    PermanentAgencyError,
    TransientAgencyError,
)
from hub.flows import default_flows
from hub.metrics import (
    MULTIPROC_ENV,
    error_source,
    exposition,
    forget_child,
    share_counters_with_children,
)
from hub.pipeline import Outcome, Pipeline
from hub.serving import LoopbackServer
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.tables import AgencyCircuit, OutboxEvent
from tests.fakes import FakeRopConnector, FakeVehicleRegister, vehicle
from tests.integration.partner_hub import PartnerHub

TYPE = "permit.parking.requested"


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def register() -> FakeVehicleRegister:
    return FakeVehicleRegister({("12345", "AB"): vehicle("12345", "AB", "09123456")})


def make_pipeline(
    sessions: sessionmaker[Session],
    register: FakeVehicleRegister,
    breakers: dict[str, pybreaker.CircuitBreaker] | None = None,
) -> Pipeline:
    contracts = ContractRegistry.load()
    gateway = AgencyGateway(
        {"rop": FakeRopConnector(register)}, {"rop": register}, contracts, breakers
    )
    return Pipeline(sessions, contracts, default_flows(), gateway, [60.0])


def request() -> bytes:
    data = {
        "application_no": "PKA-2026-000001",
        "plate": {"number": "12345", "code": "AB"},
        "civil_id": "09123456",
        "zone": "qurum",
        "months": 3,
    }
    event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "urn:test", "type": TYPE}
    return json.dumps(event | {"data": data}).encode()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def calls_with(source: str) -> float:
    labels = {"agency": "rop", "operation": "vehicle_inquiry", "error_source": source}
    return sample("hub_agency_call_seconds_count", **labels)


def handle(pipeline: Pipeline, body: bytes) -> Outcome:
    return asyncio.run(pipeline.handle(body)).outcome


def test_messages_count_by_type_and_outcome(sessions, register) -> None:  # type: ignore[no-untyped-def]
    pipeline = make_pipeline(sessions, register)
    done, rejected = (
        sample("hub_messages_total", type=TYPE, outcome="done"),
        sample("hub_messages_total", type="undecodable", outcome="rejected"),
    )
    assert handle(pipeline, request()) is Outcome.DONE
    assert handle(pipeline, b"not json") is Outcome.REJECTED
    assert sample("hub_messages_total", type=TYPE, outcome="done") == done + 1
    assert sample("hub_messages_total", type="undecodable", outcome="rejected") == rejected + 1


def test_retries_and_dead_letters_move_along_the_ladder(sessions, register) -> None:  # type: ignore[no-untyped-def]
    pipeline = make_pipeline(sessions, register)
    retries, dead = (
        sample("hub_retries_scheduled_total", agency="rop"),
        sample("hub_dead_letters_total", type=TYPE),
    )
    register.fail_with = TransientAgencyError("rop", "vehicle_inquiry", "HTTP 503")
    body = request()
    assert [handle(pipeline, body) for _ in range(2)] == [Outcome.RETRY, Outcome.DEAD]
    assert sample("hub_retries_scheduled_total", agency="rop") == retries + 1
    assert sample("hub_dead_letters_total", type=TYPE) == dead + 1


@pytest.mark.parametrize(
    ("fault", "source", "outcome"),
    [
        (None, "none", Outcome.DONE),
        (
            AgencyRateLimited("rop", "vehicle_inquiry", "slow down", 0.0, http_status=429),
            "rate-limit",
            Outcome.RETRY,
        ),
        (
            AgencyAuthError("rop", "vehicle_inquiry", "refused", http_status=401),
            "auth",
            Outcome.FAILED,
        ),
        (
            PermanentAgencyError("rop", "vehicle_inquiry", "SOAP Client fault"),
            "agency",
            Outcome.FAILED,
        ),
    ],
)
def test_agency_call_latency_is_labelled_by_error_source(
    sessions,  # type: ignore[no-untyped-def]
    register,
    fault: Any,
    source: str,
    outcome: Outcome,
) -> None:
    """The label follows the class; the retry decision still follows the base class only."""
    before = calls_with(source)
    register.fail_with = fault
    assert handle(make_pipeline(sessions, register), request()) is outcome
    assert calls_with(source) > before
    sum_labels = {"agency": "rop", "operation": "vehicle_inquiry", "error_source": source}
    assert sample("hub_agency_call_seconds_sum", **sum_labels) >= 0.0


def test_broken_reply_counts_as_contract_and_open_circuit_as_circuit(sessions, register) -> None:  # type: ignore[no-untyped-def]
    contract, circuit = calls_with("contract"), calls_with("circuit")
    register.reply_override = {"unexpected": True}
    handle(make_pipeline(sessions, register), request())
    assert calls_with("contract") == contract + 1
    register.reply_override = None
    register.fail_with = TransientAgencyError("rop", "vehicle_inquiry", "HTTP 503")
    breaker = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=600, name="rop")
    handle(make_pipeline(sessions, register, {"rop": breaker}), request())
    assert calls_with("circuit") > circuit


def test_error_source_reads_the_cause_and_the_verdict() -> None:
    try:
        try:
            raise TimeoutError
        except TimeoutError:
            raise TransientAgencyError("rop", "op", "no answer") from None
    except TransientAgencyError as exc:
        assert error_source("transient", exc) == "timeout"
    assert error_source("transient", TransientAgencyError("rop", "op", "reset")) == "agency"
    soap_refusal = AgencyAuthError("rop", "op", "credentials refused (SOAP fault)")
    assert error_source("permanent", soap_refusal) == "auth"
    bare_429 = AgencyRateLimited("rop", "op", "rate limited (HTTP 429)", http_status=429)
    assert error_source("transient", bare_429) == "rate-limit"


@pytest.mark.parametrize(
    "exc",
    [
        PermanentAgencyError("rop", "op", "credentials refused (HTTP 401)"),
        PermanentAgencyError("rop", "op", "authentication failed (HTTP 403)"),
        TransientAgencyError("rop", "op", "rate limited (HTTP 429)"),
        TransientAgencyError("rop", "op", "HTTP 502", retry_after=5.0),
    ],
)
def test_error_source_never_reads_the_text(exc: AgencyError) -> None:
    """Only the connectors' classes say auth or rate-limit: a reason that merely mentions a
    status, or a Retry-After on a plain transient error, is the agency's failure."""
    outcome = "transient" if isinstance(exc, TransientAgencyError) else "permanent"
    assert error_source(outcome, exc) == "agency"


def test_error_source_sees_a_partners_refusal_in_the_cause() -> None:
    try:
        try:
            raise Forbidden("not granted")
        except Forbidden as refusal:
            raise PermanentAgencyError("rop", "op", "refused") from refusal
    except PermanentAgencyError as exc:
        assert error_source("permanent", exc) == "auth"


def gauges(sessions: sessionmaker[Session], broker_url: str) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(SharedStateCollector(sessions, broker_url))
    return registry


def test_outbox_lag_queue_lag_and_circuit_state_read_at_scrape_time(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    broker = f"embedded+sqlite:///{tmp_path / 'broker.sqlite3'}"
    with Connection(broker) as conn:
        declare_topology(conn.default_channel, broker)
        producer = Producer(conn.default_channel, exchange=IN_EXCHANGE)
        for _ in range(2):
            producer.publish(b"{}", routing_key="permit.parking.requested")
    registry = gauges(sessions, broker)
    assert registry.get_sample_value("hub_outbox_lag_seconds") == 0.0
    assert registry.get_sample_value("hub_queue_lag_messages") == 2.0
    with sessions.begin() as session:
        session.add(
            OutboxEvent(
                id="r-1",
                message_id="m-1",
                exchange="municipal.out",
                routing_key="x",
                body="{}",
                created_at=datetime.now(UTC) - timedelta(seconds=120),
            )
        )
        session.add(AgencyCircuit(agency="rop", state="open", worker="w"))
        session.add(AgencyCircuit(agency="moci", state="half-open", worker="w"))
    assert (registry.get_sample_value("hub_outbox_lag_seconds") or 0.0) >= 120.0
    assert registry.get_sample_value("hub_circuit_state", {"agency": "rop"}) == 2.0
    assert registry.get_sample_value("hub_circuit_state", {"agency": "moci"}) == 1.0


def test_unreachable_broker_reports_minus_one(sessions: sessionmaker[Session]) -> None:
    registry = gauges(sessions, "amqp://guest:guest@127.0.0.1:1//")
    assert registry.get_sample_value("hub_queue_lag_messages") == -1.0


def test_metrics_and_readyz_are_served(tmp_path: Path) -> None:
    with PartnerHub(tmp_path / "hub") as hub:
        metrics = httpx.get(f"{hub.url}/metrics", timeout=10)
        ready = httpx.get(f"{hub.url}/readyz", timeout=10)
    assert metrics.status_code == 200
    assert "hub_outbox_lag_seconds" in metrics.text and "hub_messages_total" in metrics.text
    assert ready.status_code == 200
    assert ready.json()["checks"]["store"] == "up" and ready.json()["checks"]["broker"] == "up"


def test_readyz_is_503_naming_the_store_when_it_cannot_connect(tmp_path: Path) -> None:
    with PartnerHub(tmp_path / "hub") as hub:
        dead = make_session_factory(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
        services = build_services(hub.settings, hub.sessions, ContractRegistry.load(), None)  # type: ignore[arg-type]
        app = create_app(dataclasses.replace(services, sessions=dead))
        with LoopbackServer(app) as server:
            ready = httpx.get(f"{server.url}/readyz", timeout=20)
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"store": "down", "broker": "up", "circuits": "unknown"}


def test_worker_children_counters_are_summed_by_the_serving_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MULTIPROC_ENV, "")  # so the variable is removed again after the test
    env = share_counters_with_children(tmp_path / "metrics")
    child = "from hub.metrics import count_message; count_message('permit.x', 'dead')"
    for _ in range(2):  # two worker processes, each counting one dead message
        worker = subprocess.Popen([sys.executable, "-c", child], env={**os.environ, **env})
        assert worker.wait(timeout=60) == 0
        forget_child(worker.pid)
    text = exposition(None).decode()
    assert 'hub_messages_total{outcome="dead",type="permit.x"} 2.0' in text
    assert 'hub_dead_letters_total{type="permit.x"} 2.0' in text


def test_queue_lag_reads_the_quorum_queue_on_rabbitmq(
    sessions: sessionmaker[Session], rabbitmq_url: str
) -> None:
    with Connection(rabbitmq_url) as conn:
        declare_topology(conn.default_channel, rabbitmq_url)
    depth = gauges(sessions, rabbitmq_url).get_sample_value("hub_queue_lag_messages")
    assert depth is not None and depth >= 0.0  # a passive declare answered; -1 would be a miss
