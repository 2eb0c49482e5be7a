"""`hub audit` as an operator runs it: a real process reading the store, key and checkpoint
file that HUB_DATA_DIR names; exit codes and the one line that names a broken entry."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import JSON, bindparam, text

from hub.agencies.gateway import AgencyGateway
from hub.audit.sealing import Checkpointer
from hub.config import Settings
from hub.contracts.registry import ContractRegistry
from hub.flows import default_flows
from hub.pipeline import Pipeline
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from tests.e2e.harness import hub_env, run_cli
from tests.fakes import FakeRopConnector, FakeVehicleRegister, vehicle

pytestmark = pytest.mark.e2e


def fill_trail(data_dir: Path, cases: int = 3, checkpoint_every: int = 5) -> list[str]:
    """Cases through the real pipeline into the store and key `hub` will read; their
    correlation ids. Each case commits its 6 entries at once."""
    settings = Settings(data_dir=data_dir, audit_checkpoint_every=checkpoint_every)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    register = FakeVehicleRegister({("12345", "AB"): vehicle("12345", "AB", "09123456")})
    contracts = ContractRegistry.load()
    gateway = AgencyGateway({"rop": FakeRopConnector(register)}, {"rop": register}, contracts)
    pipeline = Pipeline(
        sessions,
        contracts,
        default_flows(),
        gateway,
        [60.0],
        sealer=Checkpointer.from_settings(settings),
    )
    correlation_ids = []
    for number in range(cases):
        event_id = str(uuid.uuid4())
        data = {
            "application_no": f"PKA-{number}",
            "plate": {"number": "12345", "code": "AB"},
            "civil_id": "09123456",
            "zone": "ruwi",
            "months": 1,
        }
        event = {"specversion": "1.0", "id": event_id, "source": "urn:t", "data": data}
        asyncio.run(
            pipeline.handle(json.dumps(event | {"type": "permit.parking.requested"}).encode())
        )
        correlation_ids.append(event_id)
    engine.dispose()
    return correlation_ids


def tamper(data_dir: Path, statement: str, **params: object) -> None:
    engine = make_engine(f"sqlite:///{data_dir / 'hub.sqlite3'}")
    with engine.begin() as conn:
        query = text(statement)
        if "detail" in params:
            query = query.bindparams(bindparam("detail", type_=JSON))
        conn.execute(query, params)
    engine.dispose()


def test_verify_passes_on_an_intact_trail(tmp_path: Path) -> None:
    fill_trail(tmp_path)
    result = run_cli(hub_env(tmp_path), "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert "audit trail intact: 18 entries" in result.stdout


def test_verify_fails_with_one_line_naming_the_edited_entry(tmp_path: Path) -> None:
    fill_trail(tmp_path)
    tamper(tmp_path, "UPDATE audit_entries SET detail = :detail WHERE seq = 9", detail={})
    result = run_cli(hub_env(tmp_path), "audit", "verify")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("hub: audit trail broken at seq 9: edited: content does not match")


def test_verify_names_a_truncated_tail(tmp_path: Path) -> None:
    fill_trail(tmp_path)
    tamper(tmp_path, "DELETE FROM audit_entries WHERE seq > 12")
    tamper(tmp_path, "DELETE FROM audit_checkpoints WHERE seq > 12")
    result = run_cli(hub_env(tmp_path), "audit", "verify")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("hub: audit trail broken at seq 13: truncated: the trail ends at seq 12")


def test_checkpoint_command_seals_the_newest_entries(tmp_path: Path) -> None:
    # The first case's commit signs the first checkpoint (seq 6); the second case's 6 entries
    # stay below the policy's 10, so they wait for the command.
    fill_trail(tmp_path, cases=2, checkpoint_every=10)
    env = hub_env(tmp_path)
    assert "not yet checkpointed: 6" in run_cli(env, "audit", "verify").stdout
    signed = run_cli(env, "audit", "checkpoint")
    assert signed.returncode == 0 and "signed checkpoint at seq 12" in signed.stdout
    assert "not yet checkpointed: 0" in run_cli(env, "audit", "verify").stdout


def test_export_one_case_as_json_lines(tmp_path: Path) -> None:
    first, *_ = fill_trail(tmp_path)
    result = run_cli(hub_env(tmp_path), "audit", "export", "--correlation-id", first)
    assert result.returncode == 0, result.stderr
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    assert {e["correlationid"] for e in entries} == {first}
    assert [e["kind"] for e in entries] == [
        "message.received",
        "message.validated",
        "agency.call",
        "record.changed",
        "result.queued",
        "message.done",
    ]
    assert [e["seq"] for e in entries] == list(range(1, 7))
    assert all(len(e["entry_hash"]) == 64 for e in entries)


def test_export_since_to_a_file(tmp_path: Path) -> None:
    fill_trail(tmp_path, cases=2)
    out = tmp_path / "export.jsonl"
    result = run_cli(hub_env(tmp_path), "audit", "export", "--since", "1h", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert "12 entries written" in result.stdout
    assert len(out.read_text().splitlines()) == 12
    later = run_cli(hub_env(tmp_path), "audit", "export", "--since", "2099-01-01T00:00")
    assert later.returncode == 0 and later.stdout == ""


def test_export_and_verify_errors_are_one_line(tmp_path: Path) -> None:
    fill_trail(tmp_path, cases=1)
    env = hub_env(tmp_path)
    bare = run_cli(env, "audit", "export")
    assert bare.returncode == 1 and "--correlation-id" in bare.stderr
    unknown = run_cli(env, "audit", "export", "--correlation-id", "no-such-case")
    assert unknown.stderr.strip() == "hub: no audit entries for correlation id 'no-such-case'"
    # verify reads only the public key (security review item 4), so the key it names is that
    keyless = run_cli(
        hub_env(tmp_path, HUB_AUDIT_PUBLIC_KEY_FILE=str(tmp_path / "x.pem")), "audit", "verify"
    )
    assert keyless.returncode == 1
    assert keyless.stderr.strip().splitlines() == [
        f"hub: audit public key not found: {tmp_path / 'x.pem'}"
    ]


def test_demo_run_signs_checkpoints_that_verify_and_never_logs_the_key(tmp_path: Path) -> None:
    env = hub_env(tmp_path)
    demo = run_cli(env, "demo", "--count", "6", timeout=180)
    assert demo.returncode == 0, demo.stderr + demo.stdout
    key_file = tmp_path / "audit-signing-key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    verified = run_cli(env, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    signed = int(verified.stdout.split("checkpoints: ")[1].split(" signed")[0])
    assert signed >= 1
    key_body = "".join(key_file.read_text().splitlines()[1:-1])
    logs = (tmp_path / "logs" / "demo.jsonl").read_text() + demo.stdout + demo.stderr
    assert "audit.checkpoint" in logs and key_body not in logs
