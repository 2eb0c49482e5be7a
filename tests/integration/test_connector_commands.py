"""`hub connectors list|check` and `hub simulators serve|fault` as an operator runs them: real
processes, exit codes and one-line errors; and the registry file that lets `fault` find the
simulators of a running `hub simulators serve` or `hub serve`."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.agencies.connector import FAULT_MODES, load_connectors
from hub.agencies.simulators import registry_path, write_registry
from tests.e2e.harness import HUB, REPO, HubProcess, hub_env, run_cli

INSTALLED = sorted(load_connectors())


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hub: "), done.stderr
    return lines[0]


def test_list_shows_every_installed_connector(tmp_path: Path) -> None:
    env = hub_env(tmp_path, COLUMNS="200")
    table = run_cli(env, "connectors", "list")
    assert table.returncode == 0, table.stderr
    assert "Ministry of Commerce and Industry" in table.stdout
    assert "commercial_registration" in table.stdout and "5s timeout, 3 attempts" in table.stdout
    rows = [
        json.loads(line)
        for line in run_cli(env, "connectors", "list", "--json").stdout.splitlines()
    ]
    assert [r["name"] for r in rows] == INSTALLED
    moci = next(r for r in rows if r["name"] == "moci")
    assert moci["operations"] == ["commercial_registration"] and moci["policy"]["attempts"] == 3


def test_check_reaches_every_agency_through_its_simulator(tmp_path: Path) -> None:
    done = run_cli(hub_env(tmp_path), "connectors", "check", "--json", "--timeout", "5")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["agency"] for r in rows] == INSTALLED
    for row in rows:
        assert row["reachable"] and row["simulated"] and row["circuit"] == "closed", row
        assert row["latency_ms"] is not None and row["url"].startswith("http://127.0.0.1:")
    assert not registry_path(tmp_path).exists()  # simulators started for a check leave no trace


def test_check_fails_naming_the_agencies_that_do_not_answer(tmp_path: Path) -> None:
    agencies = {
        "moci": {
            "url": "http://127.0.0.1:9",
            "credentials": {"client_id": "a", "client_secret": "b"},
        },
        "occi": {"url": "http://127.0.0.1:9"},  # no API key: the client cannot even be built
    }
    env = hub_env(tmp_path, HUB_AGENCIES=json.dumps(agencies), COLUMNS="200")
    done = run_cli(env, "connectors", "check", "--timeout", "3")
    assert one_line_error(done) == "hub: unreachable: moci, occi"
    assert "cannot build a client" in done.stdout and "(simulator)" in done.stdout


def test_fault_without_running_simulators_says_what_to_start(tmp_path: Path) -> None:
    line = one_line_error(run_cli(hub_env(tmp_path), "simulators", "fault", "moci", "outage"))
    assert "no simulators are running" in line and "hub simulators serve" in line


def test_fault_names_the_installed_agencies_for_an_unknown_one(tmp_path: Path) -> None:
    line = one_line_error(run_cli(hub_env(tmp_path), "simulators", "fault", "mocii", "outage"))
    assert "unknown connector 'mocii'" in line and "did you mean 'moci'" in line
    assert all(name in line for name in INSTALLED)


def test_fault_names_the_valid_modes_for_an_unknown_one(tmp_path: Path) -> None:
    line = one_line_error(run_cli(hub_env(tmp_path), "simulators", "fault", "moci", "meltdown"))
    assert "unknown fault mode 'meltdown'" in line
    assert all(mode in line for mode in FAULT_MODES)


def test_fault_against_a_registry_whose_simulators_are_gone(tmp_path: Path) -> None:
    write_registry(tmp_path, {"rop": "http://127.0.0.1:9"})
    env = hub_env(tmp_path)
    gone = one_line_error(run_cli(env, "simulators", "fault", "rop", "error"))
    assert "not answering" in gone and "hub simulators serve" in gone
    missing = one_line_error(run_cli(env, "simulators", "fault", "moci", "error"))
    assert "no moci simulator is running (running: rop)" in missing


@pytest.fixture
def simulators(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """`hub simulators serve` on free ports; yields the process and its printed URLs."""
    proc = subprocess.Popen(
        [*HUB, "simulators", "serve", "--base-port", "0", "--log-level", "warning"],
        env=hub_env(tmp_path),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    urls: dict[str, str] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("simulator "):
            name, _, url = line.removeprefix("simulator ").strip().partition(": ")
            urls[name] = url
        if line.startswith("simulators serving") or not line:
            break
    try:
        yield proc, urls
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)


def test_serve_then_switch_a_fault_from_another_process(
    simulators: tuple[subprocess.Popen[str], dict[str, str]], tmp_path: Path
) -> None:
    proc, urls = simulators
    assert sorted(urls) == INSTALLED
    registry = json.loads(registry_path(tmp_path).read_text())
    assert registry["simulators"] == urls and registry["pid"] == proc.pid
    done = run_cli(hub_env(tmp_path), "simulators", "fault", "occi", "rate-limit")
    assert done.returncode == 0, done.stderr
    assert f"occi simulator at {urls['occi']}: fault rate-limit" in done.stdout
    assert httpx.get(f"{urls['occi']}/_sim/fault").json() == {"mode": "rate-limit"}
    assert httpx.get(f"{urls['moci']}/_sim/fault").json() == {"mode": "none"}
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    assert not registry_path(tmp_path).exists()


def test_serve_on_a_port_in_use_fails_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli(hub_env(tmp_path), "simulators", "serve", "--base-port", str(port))
    line = one_line_error(done)
    assert f"port {port}" in line and "in use" in line
    assert not registry_path(tmp_path).exists()


@pytest.mark.e2e
def test_hub_serve_publishes_its_simulators_for_fault_switching(tmp_path: Path) -> None:
    env = hub_env(tmp_path)
    with HubProcess(env, tmp_path / "hub.log"):
        urls = json.loads(registry_path(tmp_path).read_text())["simulators"]
        assert sorted(urls) == INSTALLED
        done = run_cli(env, "simulators", "fault", "rop", "outage")
        assert done.returncode == 0, done.stderr
        assert httpx.get(f"{urls['rop']}/_sim/fault").json() == {"mode": "outage"}
        # check looks at the serving hub's simulators, so the operator sees the outage
        checked = run_cli(env, "connectors", "check", "--json", "--timeout", "5")
        rows = {row["agency"]: row for row in map(json.loads, checked.stdout.splitlines())}
        assert checked.returncode == 1 and "unreachable: rop" in checked.stderr
        assert rows["rop"]["url"] == urls["rop"] and not rows["rop"]["reachable"]
        assert rows["moci"]["url"] == urls["moci"] and rows["moci"]["reachable"]
    assert not registry_path(tmp_path).exists()


def test_check_shows_the_circuit_and_last_error_the_workers_stored(tmp_path: Path) -> None:
    """A worker opened rop's circuit and a message died there: check shows both."""
    from datetime import UTC, datetime

    from hub.store.engine import make_engine, make_session_factory
    from hub.store.migrate import upgrade
    from hub.store.tables import AgencyCircuit, Message

    engine = make_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    upgrade(engine)
    with make_session_factory(engine).begin() as session:
        session.add(
            AgencyCircuit(agency="rop", state="open", worker="w1:1", changed_at=datetime.now(UTC))
        )
        session.add(
            Message(
                id="evt-dead",
                type="permit.parking.requested",
                correlationid="c",
                status="dead",
                agency="rop",
                attempts=5,
                envelope="{}",
                last_error="rop.vehicle_inquiry: HTTP 503 without a SOAP fault",
            )
        )
    engine.dispose()
    done = run_cli(hub_env(tmp_path), "connectors", "check", "--json", "--timeout", "5")
    rows = {row["agency"]: row for row in map(json.loads, done.stdout.splitlines())}
    assert rows["rop"]["circuit"] == "open"
    assert "HTTP 503" in rows["rop"]["last_error"]
    assert rows["moci"]["circuit"] == "closed" and rows["moci"]["last_error"] is None
