"""`hub replay show` of a refused licence renewal says which checks failed and why, so an
operator need not read the result's JSON to answer the establishment."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors import world
from tests.e2e.harness import HubProcess, MunicipalBackend, run_cli
from tests.e2e.test_workflows import one_result, renewal

pytestmark = pytest.mark.e2e


def test_show_of_a_refused_renewal_names_the_failed_checks(
    engines: dict[str, str], tmp_path: Path
) -> None:
    backend = MunicipalBackend(engines["HUB_TEST_BROKER_URL"])
    try:
        with HubProcess(engines, tmp_path / "hub.log"):
            in_arrears = world.with_weakness("arrears")[0]
            sent = backend.send("licence.renewal.requested", renewal(in_arrears))
            refused = one_result(backend, sent)
    finally:
        backend.close()
    failing = [c for c in refused["data"]["checks"] if c["outcome"] != "pass"]
    assert refused["data"]["decision"] == "rejected" and failing
    shown = run_cli(engines | {"COLUMNS": "200"}, "replay", "show", sent[:13])
    assert shown.returncode == 0, shown.stderr
    assert "Failed checks" in shown.stdout
    for check in failing:
        assert check["check"] in shown.stdout
        assert check["reason"]["en"][:40] in shown.stdout
    assert f'"licence_no": "{in_arrears.licence_no}"' in shown.stdout  # the inbound payload
