"""Item 2 of the security review: whatever `hub` prints from stored data is shown, not obeyed.
A message id or type carrying Rich markup, ESC sequences or a forged line reaches the
operator's terminal as visible text; every example message type renders in `hub replay show`
(a CR-suspension case crashed with `unable to render dict`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contracts import CONTRACTS_DIR
from hub.agencies.gateway import AgencyGateway
from hub.cli import output
from hub.cli.app import app
from hub.contracts.registry import ContractRegistry
from hub.flows import default_flows
from hub.pipeline import Pipeline
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from tests.fakes import FakeRopConnector, FakeVehicleRegister, vehicle
from tests.integration.partner_hub import licence

HOSTILE_ID = "evt-\x1b]0;owned\x07-\x1b[2J[bold red]x[/bold red]\nFORGED: audit intact"
HOSTILE_TYPE = "[link=http://evil.example]t[/link]\x9b31m\u202eeno"


def _pipeline(data_dir: Path) -> Pipeline:
    engine = make_engine(f"sqlite:///{data_dir / 'hub.sqlite3'}")
    upgrade(engine)
    register = FakeVehicleRegister({("12345", "AB"): vehicle("12345", "AB", "09123456")})
    contracts = ContractRegistry.load()
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        session.add(licence("MCT-TL-004217", cr_no="1043217"))
    return Pipeline(
        sessions,
        contracts,
        default_flows(),
        AgencyGateway({"rop": FakeRopConnector(register)}, {"rop": register}, contracts),
        [60.0],
    )


@pytest.fixture(autouse=True)
def wide_console() -> Iterator[None]:
    """Wide enough that no cell wraps, so a test reads each value whole."""
    width = output.console.width
    output.console.width = 1000
    yield
    output.console.width = width


def _cli(data_dir: Path, *args: str) -> tuple[int, str]:
    env = {"HUB_DATA_DIR": str(data_dir), "HUB_SIMULATORS": "false"}
    result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def test_stored_markup_and_control_characters_are_shown_not_obeyed(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    body = {"specversion": "1.0", "id": HOSTILE_ID, "source": "urn:t", "type": HOSTILE_TYPE}
    asyncio.run(pipeline.handle(json.dumps({**body, "data": {}}).encode()))
    for args in (("replay", "list"), ("replay", "show", HOSTILE_ID), ("replay", "list", "--json")):
        code, out = _cli(tmp_path, *args)
        assert code == 0, out
        flat = out.replace(" ", "")
        assert not any(ch in out for ch in "\x1b\x07\x9b\u202e"), repr(out)
        if "--json" in args:
            continue
        assert "\\x1b]0;owned\\x07" in flat and "\\x9b" in flat and "\\u202e" in flat
        assert "[boldred]x[/boldred]" in flat
        assert "[link=http://evil.example]t[/link]" in flat
        assert not any(line.startswith("FORGED") for line in out.splitlines())


EXAMPLES = sorted((CONTRACTS_DIR / "examples").glob("*.json"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_message_type_renders_in_replay_show(tmp_path: Path, example: Path) -> None:
    pipeline = _pipeline(tmp_path)
    event = json.loads(example.read_text(encoding="utf-8"))
    if example.stem == "moci.cr.status-changed":
        event["data"]["cr_no"] = "1043217"  # the stored licence: the case suspends it
    asyncio.run(pipeline.handle(json.dumps(event).encode()))
    code, out = _cli(tmp_path, "replay", "show", event["id"])
    assert code == 0, out
    assert "History" in out and "Results" in out
