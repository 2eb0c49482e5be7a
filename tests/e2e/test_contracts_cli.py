"""`hub contracts list` and `hub contracts check` as an operator runs them: a real process."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from contracts import CONTRACTS_DIR
from tests.e2e.harness import hub_env, run_cli

pytestmark = pytest.mark.e2e


def test_check_passes_on_the_shipped_contracts(tmp_path: Path) -> None:
    result = run_cli(hub_env(tmp_path), "contracts", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no problems" in result.stdout


def test_list_shows_each_contract_with_its_examples(tmp_path: Path) -> None:
    result = run_cli(hub_env(tmp_path), "contracts", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["id"]: row for row in map(json.loads, result.stdout.splitlines())}
    settled = rows["urn:muscat-hub:canonical:parking-violation-settled-request:1.0"]
    assert settled == {
        "kind": "canonical",
        "name": "parking-violation-settled-request",
        "version": "1.0",
        "id": "urn:muscat-hub:canonical:parking-violation-settled-request:1.0",
        "examples": 1,
    }
    assert rows["agencies/rop/rop.wsdl"]["kind"] == "agencies"


def test_check_names_each_problem_in_a_broken_copy_and_fails(tmp_path: Path) -> None:
    root = tmp_path / "contracts"
    shutil.copytree(CONTRACTS_DIR, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    response = root / "canonical" / "electricity-account-standing-response"
    newer = json.loads((response / "1.0.json").read_text(encoding="utf-8"))
    newer["$id"] = newer["$id"].replace(":1.0", ":1.1")
    account = newer["properties"]["account"]
    account["properties"]["status"]["enum"] = ["active"]
    account["required"].append("last_payment_date")
    (response / "1.1.json").write_text(json.dumps(newer, ensure_ascii=False), encoding="utf-8")
    wsdl = root / "agencies" / "electricity" / "electricity.wsdl"
    wsdl.write_text(wsdl.read_text(encoding="utf-8")[:-40], encoding="utf-8")

    result = run_cli(hub_env(tmp_path), "contracts", "check", "--root", str(root))

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    contract = "urn:muscat-hub:canonical:electricity-account-standing-response:1.1"
    breaking = f"{contract}: breaking change from 1.0: account."
    assert f"{breaking}status: enum value(s) ['disconnected'] removed" in lines
    assert f"{breaking}last_payment_date: newly required" in lines
    assert (
        f"{contract}: example 2: account.status: 'disconnected' is not one of ['active']" in lines
    )
    assert any(
        line.startswith("agencies/electricity/electricity.wsdl: not well-formed XML")
        for line in lines
    )
    assert result.stderr.strip() == f"hub: {len(lines)} contract problem(s) under {root}"


def test_check_refuses_a_root_that_does_not_exist(tmp_path: Path) -> None:
    result = run_cli(hub_env(tmp_path), "contracts", "check", "--root", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert result.stderr == f"hub: no contracts directory at {tmp_path / 'nowhere'}\n"
