"""`hub demo` as a newcomer runs it: it must finish, answer every case once, and leak no
personal data into its logs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connectors.rop import data as rop_register
from tests.e2e.harness import hub_env, run_cli

pytestmark = pytest.mark.e2e


def test_demo_answers_every_case_and_masks_civil_ids(tmp_path: Path) -> None:
    result = run_cli(hub_env(tmp_path), "demo", "--count", "30", timeout=180)
    assert result.returncode == 0, result.stderr + result.stdout
    summary = re.search(
        r"(\d+) requests sent \((\d+) of them twice\), (\d+) answered, (\d+) duplicate results, "
        r"(\d+) unanswered",
        " ".join(result.stdout.split()),
    )
    assert summary, result.stdout
    assert summary.groups() == ("30", "1", "30", "0", "0")
    for outcome in ("issued", "refused", "rejected", "registration-lapsed", "vehicle-not-found"):
        assert outcome in result.stdout
    assert "مقدم الطلب" in result.stdout or "انتهت" in result.stdout or "لا توجد" in result.stdout

    log = (tmp_path / "logs" / "demo.jsonl").read_text(encoding="utf-8")
    assert log.count("\n") > 30
    civil_ids = {v.owner.civil_id for v in rop_register.vehicles()}
    phones = {v.owner.phone for v in rop_register.vehicles() if v.owner.phone}
    leaked = [value for value in civil_ids | phones if value in log]
    assert leaked == []
