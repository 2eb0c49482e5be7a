"""A fresh reader's path through README: `hub send` each shipped example request to a served
hub, then find it with `hub replay list` and its result on municipal.out; no envelope is built
by hand."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from contracts import CONTRACTS_DIR
from hub.flows import default_flows
from tests.e2e.harness import REPO, HubProcess, MunicipalBackend, run_cli

pytestmark = pytest.mark.e2e
INBOUND = sorted(default_flows().types)
MUNICIPAL_REQUESTS = [
    "licence.issue.requested",
    "licence.renewal.requested",
    "permit.building.issued",
    "permit.parking.requested",
    "violation.parking.paid",
]


def test_readme_names_a_shipped_example() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    sent = [
        line.split("hub send ", 1)[1].split()[0]
        for line in readme.splitlines()
        if "hub send " in line
    ]
    assert sent and all((REPO / path).is_file() for path in sent), sent


def test_every_inbound_example_is_taken_and_answered(
    engines: dict[str, str], tmp_path: Path
) -> None:
    backend = MunicipalBackend(engines["HUB_TEST_BROKER_URL"])
    examples = {
        t: json.loads((CONTRACTS_DIR / "examples" / f"{t}.json").read_text()) for t in INBOUND
    }
    try:
        with HubProcess(engines, tmp_path / "hub.log"):
            for type_ in INBOUND:
                sent = run_cli(engines, "send", str(CONTRACTS_DIR / "examples" / f"{type_}.json"))
                assert sent.returncode == 0, sent.stderr
                assert examples[type_]["id"] in sent.stdout
            causes = {examples[t]["id"] for t in MUNICIPAL_REQUESTS}
            results = backend.results_for(causes, timeout_s=90)
            answered = {r["causationid"]: r["type"] for r in results}
            for type_ in MUNICIPAL_REQUESTS:
                result = answered.get(examples[type_]["id"])
                assert result is not None and result != "hub.message.rejected", (type_, result)
            deadline = time.monotonic() + 60
            statuses: dict[str, str] = {}
            while len(statuses) < len(INBOUND) and time.monotonic() < deadline:
                listed = run_cli(engines, "replay", "list", "--json")
                rows = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]
                statuses = {
                    r["type"]: r["status"]
                    for r in rows
                    if r["status"] in ("done", "failed", "dead", "rejected")
                }
                time.sleep(0.5)
            assert statuses == {t: "done" for t in INBOUND}
    finally:
        backend.close()
