"""A sixth agency, defined only in the tests (tests/conformance/sixth), installed the way a
separate package is: a *.dist-info directory with an entry point on the Python path. With no
edit to the core, `hub connectors list` shows it and the conformance suite passes for it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hub.agencies.connector import load_connectors
from tests.e2e.harness import REPO, hub_env, run_cli


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory that, once on the path, makes Python see an installed package
    `muscat-hub-spf` whose entry point adds the connector `spf`."""
    root = tmp_path_factory.mktemp("site")
    dist = root / "muscat_hub_spf-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: muscat-hub-spf\nVersion: 0.1.0\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        "[hub.connectors]\nspf = tests.conformance.sixth:connector\n", encoding="utf-8"
    )
    return root


def plugin_env(site: Path, data_dir: Path) -> dict[str, str]:
    return hub_env(data_dir, PYTHONPATH=os.pathsep.join([str(site), str(REPO)]))


def test_the_plugin_is_absent_until_installed() -> None:
    assert "spf" not in load_connectors()


def test_hub_connectors_list_discovers_it(site: Path, tmp_path: Path) -> None:
    done = run_cli(plugin_env(site, tmp_path), "connectors", "list", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in map(json.loads, done.stdout.splitlines())}
    assert rows["spf"]["operations"] == ["labour_standing"]
    assert rows["spf"]["title"].startswith("Social Protection Fund")
    assert {"rop", "moci", "occi", "labour"} <= set(rows)


def test_it_passes_the_conformance_suite(site: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/conformance/test_conformance.py"]
        + ["-k", "spf", "-q", "-p", "no:cacheprovider", "-rfEs"],
        env=plugin_env(site, tmp_path),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 15, summary
    assert "skipped" not in summary and "failed" not in summary, summary
