"""The `hub` command line as an operator uses it: a real process, exit codes, one-line errors."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

from hub.agencies.gateway import AgencyGateway
from hub.contracts.registry import ContractRegistry
from hub.flows import default_flows
from hub.pipeline import Pipeline
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from tests.e2e.harness import hub_env, run_cli
from tests.fakes import FakeRopConnector, FakeVehicleRegister, vehicle


def fill_store(data_dir: Path) -> dict[str, str]:
    """Two messages through the real pipeline into the store `hub` will read: one done, one
    rejected. Returns event id -> expected status."""
    engine = make_engine(f"sqlite:///{data_dir / 'hub.sqlite3'}")
    upgrade(engine)
    register = FakeVehicleRegister({("12345", "AB"): vehicle("12345", "AB", "09123456")})
    contracts = ContractRegistry.load()
    pipeline = Pipeline(
        make_session_factory(engine),
        contracts,
        default_flows(),
        AgencyGateway({"rop": FakeRopConnector(register)}, {"rop": register}, contracts),
        [60.0],
    )
    expected = {}
    for data, status in (
        (
            {
                "application_no": "PKA-1",
                "plate": {"number": "12345", "code": "AB"},
                "civil_id": "09123456",
                "zone": "ruwi",
                "months": 1,
            },
            "done",
        ),
        ({"application_no": "PKA-2"}, "rejected"),
    ):
        event_id = str(uuid.uuid4())
        body = json.dumps(
            {
                "specversion": "1.0",
                "id": event_id,
                "source": "urn:t",
                "type": "permit.parking.requested",
                "data": data,
            }
        ).encode()
        asyncio.run(pipeline.handle(body))
        expected[event_id] = status
    engine.dispose()
    return expected


def test_replay_list_json_has_the_promised_fields(tmp_path: Path) -> None:
    expected = fill_store(tmp_path)
    result = run_cli(hub_env(tmp_path), "replay", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {row["id"]: row["status"] for row in rows} == expected
    for row in rows:
        assert {"id", "type", "status", "correlationid", "agency", "attempts", "last_error"} <= set(
            row
        )
    rejected = next(r for r in rows if r["status"] == "rejected")
    assert "data.plate" in rejected["last_error"]


def test_replay_list_filters_by_status(tmp_path: Path) -> None:
    expected = fill_store(tmp_path)
    result = run_cli(hub_env(tmp_path), "replay", "list", "--json", "--status", "done")
    ids = [json.loads(line)["id"] for line in result.stdout.splitlines()]
    assert ids == [i for i, s in expected.items() if s == "done"]


def test_replay_list_table_renders(tmp_path: Path) -> None:
    fill_store(tmp_path)
    result = run_cli(hub_env(tmp_path), "replay", "list")
    assert result.returncode == 0
    assert "2 message(s)" in result.stdout


def test_unknown_status_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli(hub_env(tmp_path), "replay", "list", "--status", "lost")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "hub: unknown status 'lost' (one of: pending, retrying, failed, dead, rejected, done)"
    ]


def test_bad_time_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli(hub_env(tmp_path), "replay", "list", "--since", "yesterday-ish")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1


def test_send_reports_unreadable_and_non_json_files(tmp_path: Path) -> None:
    missing = run_cli(hub_env(tmp_path), "send", str(tmp_path / "nope.json"))
    assert missing.returncode == 1 and missing.stderr.startswith("hub: cannot read")
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    not_json = run_cli(hub_env(tmp_path), "send", str(bad))
    assert not_json.returncode == 1 and "is not JSON" in not_json.stderr
    listed = tmp_path / "list.json"
    listed.write_text("[1]")
    assert "one JSON object" in run_cli(hub_env(tmp_path), "send", str(listed)).stderr


def test_bad_configuration_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli(hub_env(tmp_path, HUB_RETRY_LADDER="1m,whenever"), "replay", "list")
    assert result.returncode == 1
    assert result.stderr.startswith("hub: invalid configuration")
    assert len(result.stderr.strip().splitlines()) == 1


def test_help_explains_every_command(tmp_path: Path) -> None:
    result = run_cli(hub_env(tmp_path), "--help")
    for command in ("serve", "send", "demo", "replay"):
        assert command in result.stdout


def _config_error(env: dict[str, str]) -> str:
    """The one stderr line `hub replay list` ends with under a wrong configuration."""
    result = run_cli(env, "replay", "list")
    assert result.returncode == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hub: invalid configuration")
    return lines[0]


def test_an_out_of_range_port_names_the_variable_to_change(tmp_path: Path) -> None:
    for command in (("replay", "list"), ("serve",)):
        result = run_cli(hub_env(tmp_path, HUB_HTTP_PORT="99999"), *command, timeout=30)
        assert result.returncode == 1
        [line] = result.stderr.strip().splitlines()
        assert "HUB_HTTP_PORT=99999" in line and "65535" in line, line
        assert "Traceback" not in result.stderr


def test_a_wrong_variable_is_named_as_a_person_sets_it(tmp_path: Path) -> None:
    line = _config_error(hub_env(tmp_path, HUB_PREFETCH="none"))
    assert "HUB_PREFETCH='none'" in line and "integer" in line
    nested = _config_error(hub_env(tmp_path, HUB_RATE_LIMITS__ROP="fast"))
    assert "HUB_RATE_LIMITS__ROP" in nested


def test_a_missing_config_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "hub.toml"
    line = _config_error(hub_env(tmp_path, HUB_CONFIG_FILE=str(missing)))
    assert f"HUB_CONFIG_FILE={missing}" in line and "no such file" in line


def test_unknown_and_wrong_keys_in_the_config_file_are_named(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text("htp_port = 9000\nprefetch = 4\n", encoding="utf-8")
    line = _config_error(hub_env(tmp_path, HUB_CONFIG_FILE=str(config)))
    assert f"unknown setting 'htp_port' in {config}" in line and "'http_port'" in line
    config.write_text("prefetch = 0\n", encoding="utf-8")
    wrong = _config_error(hub_env(tmp_path, HUB_CONFIG_FILE=str(config)))
    assert f"prefetch = 0 in {config}" in wrong and "greater than or equal to 1" in wrong
    config.write_text("http_port = [\n", encoding="utf-8")
    unreadable = _config_error(hub_env(tmp_path, HUB_CONFIG_FILE=str(config)))
    assert f"{config} is not TOML" in unreadable
