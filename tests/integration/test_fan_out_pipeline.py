"""A licence case's five agency calls through the pipeline, against the five simulators on
loopback: one agency stalled and another down or refusing, an open circuit among answers, and
a retry that does not ask again the agencies that had answered. Each request that reaches a
simulator is counted, so the audit trail can be checked against what the agencies saw."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from connectors import world
from connectors.electricity import connector as electricity_connector
from connectors.electricity.simulator import ElectricitySimulator
from connectors.labour import connector as labour_connector
from connectors.labour.simulator import LabourSimulator
from connectors.moci import connector as moci_connector
from connectors.moci.simulator import MociSimulator
from connectors.occi import connector as occi_connector
from connectors.occi.simulator import OcciSimulator
from connectors.rop import connector as rop_connector
from connectors.rop.simulator import RopSimulator
from hub.agencies.connector import CallPolicy, Connector, Endpoint, Simulator
from hub.agencies.gateway import AgencyGateway
from hub.contracts.registry import ContractRegistry
from hub.flows import default_flows
from hub.pipeline import Handled, Outcome, Pipeline
from hub.serving import LoopbackServer
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.tables import AgencyAnswer, AuditEntry, Message

T = TypeVar("T")
AGENCIES = ("moci", "occi", "labour", "rop", "electricity")
OTHERS = ("moci", "occi", "rop", "electricity")  # all but labour
# Short, so a stalled agency costs well under a second; circuits out of the way unless asked.
POLICY = CallPolicy(
    timeout_s=0.4, attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02, circuit_failures=100
)
RUNS = 3


class Counted:
    """A simulator's app behind a count of the agency requests that reach it, by case."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            if b"x-correlation-id" in headers:
                self.seen[headers[b"x-correlation-id"].decode()] += 1
        await self.app(scope, receive, send)


Agencies = dict[str, tuple[Simulator, Counted, str]]


@pytest.fixture(scope="module")
def simulators() -> Iterator[Agencies]:
    made: dict[str, Simulator] = {
        "moci": MociSimulator(latency_s=0.05, stall_s=5.0),
        "occi": OcciSimulator(latency_s=0.05, stall_s=5.0),
        "labour": LabourSimulator(latency_s=0.05, stall_s=5.0),
        "rop": RopSimulator(latency_s=0.05, stall_s=5.0),
        "electricity": ElectricitySimulator(latency_s=0.05, stall_s=5.0),
    }
    servers: list[LoopbackServer] = []
    running: Agencies = {}
    try:
        for name, simulator in made.items():
            counted = Counted(simulator.app)
            servers.append(LoopbackServer(counted).start())
            running[name] = (simulator, counted, servers[-1].url)
        yield running
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def agencies(simulators: Agencies) -> Iterator[Agencies]:
    yield simulators
    for simulator, _, _ in simulators.values():
        simulator.set_fault("none")


@pytest.fixture(params=["sqlite", "postgres"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = (
        request.getfixturevalue("postgres_url")
        if request.param == "postgres"
        else f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    )
    engine = make_engine(url)
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def connectors(policy: CallPolicy) -> dict[str, Connector]:
    return {
        "moci": moci_connector.with_policy(policy),
        "occi": occi_connector.with_policy(policy),
        "labour": labour_connector.with_policy(policy),
        "rop": rop_connector.with_policy(policy),
        "electricity": electricity_connector.with_policy(policy),
    }


def with_hub(
    sessions: sessionmaker[Session],
    agencies: Agencies,
    work: Callable[[Pipeline], Awaitable[T]],
    policy: CallPolicy = POLICY,
) -> T:
    """Run `work` on a pipeline whose agency clients live in one event loop, closed after."""

    async def run() -> T:
        found = connectors(policy)
        clients = {
            name: found[name].client(Endpoint(url, simulator.credentials))
            for name, (simulator, _, url) in agencies.items()
        }
        contracts = ContractRegistry.load()
        gateway = AgencyGateway(found, clients, contracts)
        pipeline = Pipeline(sessions, contracts, default_flows(), gateway, [60.0, 300.0])
        try:
            return await asyncio.wait_for(work(pipeline), 60)  # a bound: a hang fails
        finally:
            for client in clients.values():
                await client.aclose()

    return asyncio.run(run())


def renewal(index: int = 0) -> bytes:
    good = world.healthy()[index]
    data = {
        "licence_no": good.licence_no,
        "cr_no": good.cr_no,
        "activities": [good.licence_activity.code],
        "premises": {
            "premises_id": good.premises_id,
            "wilayat": good.wilayat,
            "plot_no": good.plot_no,
            "electricity_account": good.account_no,
        },
    }
    envelope = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "urn:test",
        "type": "licence.renewal.requested",
        "correlationid": f"case-{uuid.uuid4()}",
        "data": data,
    }
    return json.dumps(envelope).encode()


def case_of(body: bytes) -> str:
    return str(json.loads(body)["correlationid"])


async def handle_alone(pipeline: Pipeline, body: bytes, **kwargs: Any) -> Handled:
    """Handle one delivery and prove no agency call outlived it."""
    before = asyncio.all_tasks()
    handled = await pipeline.handle(body, **kwargs)
    assert asyncio.all_tasks() <= before, "an agency call outlived the case"
    return handled


def audited_calls(sessions: sessionmaker[Session], message_id: str) -> list[dict[str, Any]]:
    with sessions() as session:
        entries = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.message_id == message_id, AuditEntry.kind == "agency.call")
            .order_by(AuditEntry.seq)
        )
        return [dict(e.detail) for e in entries]


def settled(sessions: sessionmaker[Session], message_id: str, status: str) -> dict[str, Any]:
    with sessions() as session:
        [entry] = session.scalars(
            select(AuditEntry).where(
                AuditEntry.message_id == message_id, AuditEntry.kind == f"message.{status}"
            )
        )
        return dict(entry.detail)


def message(sessions: sessionmaker[Session], message_id: str) -> Message:
    with sessions() as session:
        row = session.get(Message, message_id)
        assert row is not None
        return row


def outcomes(calls: list[dict[str, Any]], agency: str) -> list[str]:
    return [c["outcome"] for c in calls if c["agency"] == agency]


def kept_answers(sessions: sessionmaker[Session], message_id: str) -> int:
    with sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(AgencyAnswer)
                .where(AgencyAnswer.message_id == message_id)
            )
            or 0
        )


def test_a_stalled_agency_and_one_down_give_the_same_outcome_every_run_all_audited(
    sessions: sessionmaker[Session], agencies: Agencies
) -> None:
    bodies = [renewal(i) for i in range(RUNS)]

    async def work(pipeline: Pipeline) -> list[Handled]:
        # A healthy case first: every client is connected and MOCI's token is fetched.
        assert (await handle_alone(pipeline, renewal(RUNS))).outcome is Outcome.DONE
        agencies["moci"][0].set_fault("timeout")  # stalled: holds each request unanswered
        agencies["labour"][0].set_fault("outage")  # down: 503
        return [await handle_alone(pipeline, body) for body in bodies]

    handled = with_hub(sessions, agencies, work)

    assert [h.outcome for h in handled] == [Outcome.RETRY] * RUNS
    errors = {message(sessions, h.message_id).last_error for h in handled}
    assert len(errors) == 1 and next(iter(errors), "").startswith("moci.")  # first asked
    for body, h in zip(bodies, handled, strict=True):
        calls = audited_calls(sessions, h.message_id)
        assert outcomes(calls, "moci") == outcomes(calls, "labour") == ["transient"] * 2
        assert all(outcomes(calls, name) == ["ok"] for name in ("occi", "rop", "electricity"))
        for name in AGENCIES:  # every request an agency saw is in the trail, and no other
            assert agencies[name][1].seen[case_of(body)] == len(outcomes(calls, name)), name


def test_a_refusal_cancels_the_stalled_agency_every_run_and_the_trail_shows_it(
    sessions: sessionmaker[Session], agencies: Agencies
) -> None:
    async def work(pipeline: Pipeline) -> list[Handled]:
        assert (await handle_alone(pipeline, renewal(RUNS))).outcome is Outcome.DONE
        agencies["moci"][0].set_fault("timeout")
        agencies["labour"][0].set_fault("contract-break")  # a reply that breaks its contract
        return [await handle_alone(pipeline, renewal(i)) for i in range(RUNS)]

    handled = with_hub(sessions, agencies, work)

    assert [h.outcome for h in handled] == [Outcome.FAILED] * RUNS
    for h in handled:
        assert "labour." in (message(sessions, h.message_id).last_error or "")
        calls = audited_calls(sessions, h.message_id)
        assert {c["agency"] for c in calls} == set(AGENCIES)  # every call, finished or not
        [moci] = [c for c in calls if c["agency"] == "moci"]
        assert moci["outcome"] == "cancelled" and moci["attempt"] == 1 and moci["latency_ms"] > 0
        assert outcomes(calls, "labour")[-1] in ("permanent", "contract-violation")


def test_an_open_circuit_among_answers_keeps_the_real_cause_and_uses_no_ladder_step(
    sessions: sessionmaker[Session], agencies: Agencies
) -> None:
    tripping = CallPolicy(
        timeout_s=0.4,
        attempts=2,
        backoff_initial_s=0.01,
        backoff_max_s=0.02,
        circuit_failures=2,
        circuit_reset_s=30.0,
    )

    async def work(pipeline: Pipeline) -> tuple[Handled, Handled]:
        agencies["labour"][0].set_fault("outage")
        tripped = await handle_alone(pipeline, renewal(0))  # labour's 2 failures open it
        return tripped, await handle_alone(pipeline, renewal(1))

    tripped, held = with_hub(sessions, agencies, work, tripping)

    assert tripped.outcome is held.outcome is Outcome.RETRY
    assert message(sessions, tripped.message_id).attempts == 1  # a real failure: a step used
    row = message(sessions, held.message_id)
    assert row.status == "retrying" and row.attempts == 0  # only held back: no step used
    assert row.last_error is not None
    assert row.last_error.startswith("labour.labour_standing: HTTP 503 (circuit open; next trial")
    assert 1.0 <= (held.retry_in_s or 0) <= 30.0
    calls = audited_calls(sessions, held.message_id)
    assert outcomes(calls, "labour") == ["circuit-open"]
    assert all(outcomes(calls, name) == ["ok"] for name in OTHERS)
    detail = settled(sessions, held.message_id, "retrying")
    assert (detail["cause"], detail["circuit"]) == ("HTTP 503", "open")
    assert 0 < detail["next_trial_s"] <= 30.0
    assert kept_answers(sessions, held.message_id) == len(OTHERS)


def test_a_retry_reuses_the_answers_it_had_and_asks_only_the_agency_that_failed(
    sessions: sessionmaker[Session], agencies: Agencies
) -> None:
    body = renewal(0)

    async def work(pipeline: Pipeline) -> tuple[Handled, Handled]:
        agencies["labour"][0].set_fault("outage")
        first = await handle_alone(pipeline, body)
        agencies["labour"][0].set_fault("none")  # labour is back
        return first, await handle_alone(pipeline, body, redelivered=True)

    first, second = with_hub(sessions, agencies, work)

    assert first.outcome is Outcome.RETRY and second.outcome is Outcome.DONE
    case = case_of(body)
    assert {name: agencies[name][1].seen[case] for name in OTHERS} == dict.fromkeys(OTHERS, 1)
    assert agencies["labour"][1].seen[case] == 3  # two 503s, then its answer
    calls = audited_calls(sessions, first.message_id)
    assert outcomes(calls, "labour") == ["transient", "transient", "ok"]
    for name in OTHERS:
        ok, reused = (c for c in calls if c["agency"] == name)
        assert (ok["outcome"], reused["outcome"], reused["attempt"]) == ("ok", "reused", 0)
        assert reused["response_digest"] == ok["response_digest"]
    assert kept_answers(sessions, first.message_id) == 0  # the case is done: nothing kept
