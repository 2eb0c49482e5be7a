"""`hub serve` serves the partner endpoints beside its worker: a partner registered with the
CLI pushes over REST and the worker takes the event from municipal.in; SOAP answers at the
same address; a revoked key stops working while the hub runs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
import zeep
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from hub.serving import free_port
from tests.e2e.harness import HubProcess, run_cli

pytestmark = pytest.mark.e2e

PUSH = {
    "cr_no": "1043217",
    "status": "suspended",
    "effective_date": "2026-12-01",
    "reason": "إيقاف مؤقت لعدم تجديد السجل",
}


def _inbox_row(env: dict[str, str], event_id: str, timeout_s: float = 60) -> dict[str, object]:
    """The worker's inbox row for `event_id`, polled through `hub replay list` (bounded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        listed = run_cli(env, "replay", "list", "--json", "--type", "moci.cr.status-changed")
        for line in listed.stdout.splitlines():
            row: dict[str, object] = json.loads(line)
            if row["id"] == event_id:
                return row
        time.sleep(0.5)
    raise AssertionError(f"the worker never took {event_id} from municipal.in")


def test_hub_serve_serves_rest_and_soap_to_registered_partners(
    engines: dict[str, str], tmp_path: Path
) -> None:
    env = engines | {"HUB_HTTP_PORT": str(free_port())}
    url = f"http://127.0.0.1:{env['HUB_HTTP_PORT']}"
    grants = ["push.moci.cr-status", "licences.read", "soap.MunicipalRecords.GetLicence"]
    added = run_cli(env, "partners", "add", "moci", *[a for g in grants for a in ("--grant", g)])
    assert added.returncode == 0, added.stderr
    secret = added.stdout.splitlines()[-1]
    with HubProcess(env, tmp_path / "hub.log"):
        assert httpx.get(f"{url}/healthz", timeout=10).json() == {"status": "alive"}
        pushed = httpx.post(
            f"{url}/api/v1/push/moci/cr-status",
            json=PUSH,
            headers={"X-Api-Key": secret},
            timeout=30,
        )
        assert pushed.status_code == 202, pushed.text
        row = _inbox_row(env, pushed.json()["event_id"])
        assert row["type"] == "moci.cr.status-changed"

        soap = zeep.Client(
            f"{url}/soap/MunicipalRecords?wsdl",
            wsse=UsernameToken("moci", secret),
            transport=Transport(timeout=10),
        )
        assert soap.service.GetLicence(LicenceNo="MCT-TL-000404").Found is False

        assert run_cli(env, "partners", "revoke", "moci").returncode == 0
        refused = httpx.get(
            f"{url}/api/v1/licences/MCT-TL-000404", headers={"X-Api-Key": secret}, timeout=10
        )
        assert refused.status_code == 401
