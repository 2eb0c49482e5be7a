"""`hub replay run` as an operator drives it (a real `hub` process), over a store holding
messages that died in a real simulated ROP outage; deliveries are then handed to the pipeline
as a worker would, to see the re-driven cases complete once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kombu.connection import Connection
from kombu.simple import SimpleQueue
from sqlalchemy import func, select
from typer.testing import CliRunner

import hub.bus  # noqa: F401  (the embedded transport's URL alias)
from connectors.rop import connector as rop_connector
from connectors.rop import data as rop_register
from connectors.rop.simulator import RopSimulator
from hub.agencies.connector import CallPolicy, Connector, Endpoint
from hub.agencies.gateway import AgencyGateway
from hub.bus.topology import inbound_queue, results_queue
from hub.cli.app import app
from hub.contracts.registry import ContractRegistry
from hub.flows import default_flows
from hub.messages.marker import ReplayMarker
from hub.pipeline import Handled, Outcome, Pipeline
from hub.serving import LoopbackServer
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.tables import AuditEntry, Message, MessageReplay, OutboxEvent, ParkingPermit
from tests.e2e.harness import hub_env, run_cli

PARKING = "permit.parking.requested"


class OutageBench:
    """A pipeline (no worker) in front of a ROP simulator this test runs and breaks, on the
    store and embedded broker that `hub` finds under `data_dir`."""

    def __init__(self, data_dir: Path, database_url: str | None = None) -> None:
        self.env = hub_env(data_dir) | ({"HUB_DATABASE_URL": database_url} if database_url else {})
        self.simulator = RopSimulator()
        self.server = LoopbackServer(self.simulator.app).start()
        self.engine = make_engine(database_url or f"sqlite:///{data_dir / 'hub.sqlite3'}")
        upgrade(self.engine)
        self.sessions = make_session_factory(self.engine)
        self.broker_url = f"embedded+sqlite:///{data_dir / 'broker.sqlite3'}"
        # One in-process try per delivery and a circuit that never opens: the outage kills
        # messages in two deliveries, as a long outage would on the real ladder.
        connector = rop_connector.with_policy(
            CallPolicy(timeout_s=2.0, attempts=1, circuit_failures=10**6)
        )
        contracts = ContractRegistry.load()
        self.loop = asyncio.new_event_loop()
        endpoint = Endpoint(self.server.url, self.simulator.credentials)
        self.client = self.loop.run_until_complete(self._client(connector, endpoint))
        gateway = AgencyGateway({"rop": connector}, {"rop": self.client}, contracts)
        self.pipeline = Pipeline(self.sessions, contracts, default_flows(), gateway, [1.0])

    @staticmethod
    async def _client(connector: Connector, endpoint: Endpoint) -> Any:
        return connector.client(endpoint)

    def handle(self, body: bytes, marker: ReplayMarker | None = None) -> Handled:
        return self.loop.run_until_complete(self.pipeline.handle(body, marker))

    def parking(self, index: int, *, lapsed: bool = False) -> bytes:
        """A parking request for a registered vehicle (issued, or refused when lapsed)."""
        vehicle = (rop_register.lapsed_vehicles() if lapsed else rop_register.valid_vehicles())[
            index
        ]
        return json.dumps(
            {
                "specversion": "1.0",
                "id": str(uuid.uuid4()),
                "source": "urn:test:backend",
                "type": PARKING,
                "correlationid": f"case-{index}-{uuid.uuid4().hex[:6]}",
                "data": {
                    "application_no": f"PKA-RPL-{index:05d}{'L' if lapsed else ''}",
                    "plate": {"number": vehicle.plate_number, "code": vehicle.plate_code},
                    "civil_id": vehicle.owner.civil_id,
                    "zone": "qurum",
                    "months": 3,
                },
            }
        ).encode()

    def die_in_outage(self, body: bytes) -> str:
        """Two deliveries during an outage: the ladder's one step, then dead."""
        self.simulator.set_fault("outage")
        outcomes = [self.handle(body).outcome for _ in range(2)]
        assert outcomes == [Outcome.RETRY, Outcome.DEAD]
        self.simulator.set_fault("none")
        return str(json.loads(body)["id"])

    def inbound(self) -> list[tuple[bytes, dict[str, Any]]]:
        """Take every message waiting on the hub's work queue (body, headers)."""
        return self._drain(inbound_queue(self.broker_url))

    def _drain(self, queue: Any) -> list[tuple[bytes, dict[str, Any]]]:
        taken = []
        with Connection(self.broker_url) as conn:
            simple = SimpleQueue(conn.channel(), queue)
            while True:
                try:
                    message = simple.get(block=True, timeout=0.3)
                except simple.Empty:
                    break
                body = message.body if isinstance(message.body, bytes) else message.body.encode()
                taken.append((body, dict(message.headers or {})))
                message.ack()
            simple.close()
        return taken

    def declare_results(self, name: str) -> Any:
        queue = results_queue(name, self.broker_url)
        with Connection(self.broker_url) as conn:
            queue(conn.default_channel).declare()
        return queue

    def results(self, queue: Any) -> list[dict[str, Any]]:
        return [json.loads(body) for body, _ in self._drain(queue)]

    def count(self, table: Any, *where: Any) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)

    def status(self, message_id: str) -> str:
        with self.sessions() as session:
            row = session.get(Message, message_id)
            assert row is not None
            return row.status

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`hub replay ...` in a process of its own, exactly as an operator runs it."""
        return run_cli(self.env, "replay", *args)

    def cli_in_process(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The same command through Typer's runner, without a process start-up each time."""
        hub_vars = {k: v for k, v in self.env.items() if k.startswith("HUB_")}
        result = CliRunner().invoke(app, ["replay", *args], env=hub_vars, catch_exceptions=False)
        return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()
        self.server.stop()
        self.engine.dispose()


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[OutageBench]:
    bench = OutageBench(tmp_path)
    yield bench
    bench.close()


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_dead_messages_are_redriven_once_with_a_marker_and_a_fresh_ladder(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("postgres_url") if store == "postgres" else None
    bench = OutageBench(tmp_path, url)
    try:
        dead = [bench.die_in_outage(bench.parking(i)) for i in range(2)]
        done_body = bench.parking(2)
        assert bench.handle(done_body).outcome is Outcome.DONE
        audit_before = bench.count(AuditEntry)

        ran = bench.cli(
            "run",
            "--status",
            "dead",
            "--agency",
            "rop",
            "--reason",
            "ROP back after outage",
            "--operator",
            "fatma.albalushi",
        )
        assert ran.returncode == 0, ran.stderr
        assert "re-drive 2, re-publish 0, skip 0" in ran.stdout
        assert {bench.status(i) for i in dead} == {"pending"}
        replayed = bench.count(AuditEntry, AuditEntry.kind == "message.replayed")
        assert replayed == 2 and bench.count(AuditEntry) == audit_before + 2
        with bench.sessions() as session:
            entry = session.scalars(
                select(AuditEntry).where(AuditEntry.kind == "message.replayed")
            ).first()
            assert entry is not None and entry.message_id in dead
            assert entry.actor == "operator:fatma.albalushi"
            assert entry.detail["reason"] == "ROP back after outage"
            assert entry.detail["previous_status"] == "dead"

        deliveries = bench.inbound()
        assert len(deliveries) == 2
        for body, headers in deliveries:
            marker = ReplayMarker.from_headers(headers)
            assert marker is not None and marker.operator == "fatma.albalushi"
            assert json.loads(body)["id"] in dead

        # The agency is down again: a fresh ladder means a retry, not straight back to dead.
        bench.simulator.set_fault("outage")
        first, marker_headers = deliveries[0]
        retried = bench.handle(first, ReplayMarker.from_headers(marker_headers))
        assert retried.outcome is Outcome.RETRY and retried.retry_in_s == 1.0
        bench.simulator.set_fault("none")
        outcomes = [bench.handle(first)] + [
            bench.handle(b, ReplayMarker.from_headers(h)) for b, h in deliveries[1:]
        ]
        assert [o.outcome for o in outcomes] == [Outcome.DONE, Outcome.DONE]
        assert bench.count(ParkingPermit) == 3
        for message_id in dead:
            assert bench.count(OutboxEvent, OutboxEvent.message_id == message_id) == 1
        assert bench.count(AuditEntry, AuditEntry.kind == "replay.delivered") == 2

        again = bench.cli(
            "run",
            "--status",
            "dead",
            "--agency",
            "rop",
            "--reason",
            "ROP back after outage",
            "--operator",
            "fatma.albalushi",
        )
        assert again.returncode == 0, again.stderr
        assert "re-drive 0, re-publish 0, skip 0" in again.stdout
        by_id = bench.cli("run", *dead, "--reason", "once more", "--json")
        assert {r["action"] for r in json_lines(by_id.stdout)} == {"skip"}
        assert bench.inbound() == []
        assert bench.count(MessageReplay) == 2
    finally:
        bench.close()


def test_dry_run_says_what_would_happen_and_changes_nothing(bench: OutageBench) -> None:
    dead = bench.die_in_outage(bench.parking(0))
    done_body = bench.parking(1)
    assert bench.handle(done_body).outcome is Outcome.DONE
    audit_before = bench.count(AuditEntry)

    preview = bench.cli("run", "--agency", "rop", "--dry-run", "--json")
    assert preview.returncode == 0, preview.stderr
    actions = {row["id"]: (row["action"], row["why"]) for row in json_lines(preview.stdout)}
    done_id = json.loads(done_body)["id"]
    assert actions[dead][0] == "re-drive"
    assert actions[done_id] == ("skip", "already done; --force re-publishes its result")
    assert "dry run: would re-drive 1, would re-publish 0, would skip 1" in preview.stderr

    table = bench.cli("run", "--agency", "rop", "--dry-run")
    assert table.returncode == 0 and "nothing was changed" in table.stdout
    assert bench.status(dead) == "dead"
    assert bench.count(AuditEntry) == audit_before and bench.count(MessageReplay) == 0
    assert bench.inbound() == []


def test_force_republishes_the_stored_result_and_never_reruns_the_flow(
    bench: OutageBench,
) -> None:
    body = bench.parking(0)
    handled = bench.handle(body)
    assert handled.outcome is Outcome.DONE
    stored = json.loads(handled.emitted[0].body)
    queue = bench.declare_results("test.replay.results")

    plain = bench.cli("run", handled.message_id, "--reason", "backend lost it")
    assert plain.returncode == 0 and "skip 1" in plain.stdout
    assert bench.results(queue) == []

    forced = bench.cli("run", handled.message_id, "--reason", "backend lost it", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "re-publish 1" in forced.stdout
    [result] = bench.results(queue)
    assert result == stored  # the same result, same id: a backend can tell it is a re-send
    assert bench.inbound() == []  # the flow does not run again
    assert bench.count(ParkingPermit) == 1
    assert bench.count(AuditEntry, AuditEntry.kind == "record.changed") == 1
    with bench.sessions() as session:
        replay = session.scalars(select(MessageReplay)).one()
        assert (replay.mode, replay.previous_status) == ("re-publish", "done")
        assert replay.published_at is not None


def test_in_flight_messages_are_left_to_the_broker_unless_forced(bench: OutageBench) -> None:
    body = bench.parking(0)
    bench.simulator.set_fault("outage")
    handled = bench.handle(body)
    bench.simulator.set_fault("none")
    assert handled.outcome is Outcome.RETRY

    plain = bench.cli("run", handled.message_id, "--reason", "ROP back", "--json")
    assert [r["why"] for r in json_lines(plain.stdout)] == [
        "in flight (retrying); --force re-drives it now"
    ]
    forced = bench.cli("run", handled.message_id, "--reason", "ROP back", "--force")
    assert forced.returncode == 0 and "re-drive 1" in forced.stdout
    [(redriven, headers)] = bench.inbound()
    assert bench.handle(redriven, ReplayMarker.from_headers(headers)).outcome is Outcome.DONE
    # The copy still waiting on the ladder arrives later and changes nothing.
    assert bench.handle(body).outcome is Outcome.DUPLICATE
    assert bench.count(ParkingPermit) == 1


def test_a_replay_interrupted_before_publishing_is_finished_by_the_next(
    bench: OutageBench,
) -> None:
    dead = bench.die_in_outage(bench.parking(0))
    with bench.sessions.begin() as session:  # what a crash between commit and publish leaves
        row = session.get(Message, dead)
        assert row is not None
        row.status, row.ladder_base = "pending", row.attempts
        session.add(
            MessageReplay(
                id=str(uuid.uuid4()),
                message_id=dead,
                operator="ops",
                reason="crashed",
                mode="re-drive",
                previous_status="dead",
            )
        )
    ran = bench.cli("run", dead, "--reason", "finish the interrupted replay", "--json")
    assert [r["action"] for r in json_lines(ran.stdout)] == ["re-drive"]
    assert len(bench.inbound()) == 1
    with bench.sessions() as session:
        published = session.scalars(select(MessageReplay.published_at)).all()
        assert len(published) == 2 and all(published)


def test_missing_reason_is_a_one_line_error(bench: OutageBench) -> None:
    dead = bench.die_in_outage(bench.parking(0))
    result = bench.cli("run", "--status", "dead")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "hub: --reason is required: say why these messages are replayed"
    ]
    blank = bench.cli("run", dead, "--reason", "  ")
    assert blank.returncode == 1 and len(blank.stderr.strip().splitlines()) == 1
    assert bench.status(dead) == "dead" and bench.inbound() == []


def test_unknown_ids_bad_rates_and_no_selection_are_one_line_errors(bench: OutageBench) -> None:
    for args, expected in (
        (("run", "no-such-id", "--reason", "x"), "hub: no message has the id or correlation id"),
        (("show", "no-such-id"), "hub: no message has the id or correlation id 'no-such-id'"),
        (("run", "--reason", "x"), "hub: name message ids or at least one filter"),
        (("run", "an-id", "--status", "dead", "--reason", "x"), "hub: name message ids or filters"),
        (("run", "--status", "dead", "--reason", "x", "--rate", "fast"), "hub: not a rate"),
        (("run", "--status", "dead", "--reason", "x", "--rate", "0/s"), "hub: not a rate"),
    ):
        result = bench.cli(*args)
        assert result.returncode == 1, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(expected), (args, lines)
