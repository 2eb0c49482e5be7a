"""Issue 16 through the public faces only: a `hub serve` with billing on, a renewal sent to
municipal.in, paid on the simulated gateway's page (which notifies the partner endpoint), the
result on municipal.out, the case's audit export and the day's reconciliation from the CLI."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors import world
from tests.e2e.harness import HUB, REPO, HubProcess, MunicipalBackend, run_cli
from tests.integration.payment_hub import renewal

pytestmark = pytest.mark.e2e


class ServedHub(HubProcess):
    """`hub serve`, keeping the URLs it prints (simulators, partner endpoints)."""

    urls: dict[str, str]

    def start(self, timeout_s: float = 30) -> ServedHub:
        log = self.log_path.open("a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [*HUB, "serve"], env=self.env, cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True
        )
        self.urls = {}
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:  # bounded
            line = self.proc.stdout.readline()
            if ": http://" in line:
                name, url = line.strip().rsplit(": ", 1)
                self.urls[name.removeprefix("simulator ")] = url
            if "hub serving" in line:
                return self
            if not line and self.proc.poll() is not None:
                break
        raise RuntimeError(f"hub serve did not start; log: {self.log_path.read_text()[-2000:]}")


def first(
    backend: MunicipalBackend, seen: list[dict[str, Any]], match: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # bounded
        found = [r for r in seen if match(r)]
        if found:
            return found[0]
        seen.extend(backend.take_at_least(1, timeout_s=1.0))
    raise AssertionError("no such result")


# The embedded default runs the same path in tests/integration/test_payment_flow.py; here the
# public faces on the production pair, to keep the suite's time down.
@pytest.mark.parametrize("engines", ["rabbitmq+postgres"], indirect=True)
def test_a_renewal_paid_on_the_gateway_page_is_renewed_once(
    engines: dict[str, str], tmp_path: Path
) -> None:
    env = engines | {"HUB_PAYMENTS_BILLING": "true"}
    backend = MunicipalBackend(engines["HUB_TEST_BROKER_URL"])
    good = world.healthy()[3]
    seen: list[dict[str, Any]] = []
    try:
        with ServedHub(env, tmp_path / "hub.log") as hub:
            epay, partner = hub.urls["epay"], hub.urls["partner endpoints"]
            notify = f"{partner}/api/v1/payments/epay/notifications"
            assert httpx.post(f"{epay}/_sim/callback", json={"url": notify}).status_code == 200
            backend.send("licence.renewal.requested", renewal(good))
            requested = first(backend, seen, lambda r: r["type"] == "payment.requested")
            payment_id = requested["data"]["payment_id"]
            paid = httpx.post(f"{epay}/_sim/pay/{payment_id}", json={"status": "PAID"}, timeout=30)
            assert paid.json()["delivered"] == 200, paid.text
            completed = first(backend, seen, lambda r: r["type"] == "payment.completed")
            assert completed["data"]["outcome"] == "renewed"
            assert completed["correlationid"] == requested["correlationid"]
            again = httpx.post(f"{epay}/_sim/pay/{payment_id}", json={"status": "PAID"}, timeout=30)
            assert again.json()["delivered"] == 409  # a second notice changes nothing
            seen.extend(backend.take_at_least(0, timeout_s=2.0))
            assert [r["type"] for r in seen].count("payment.completed") == 1

            exported = run_cli(
                env, "audit", "export", "--correlation-id", requested["correlationid"]
            )
            kinds = [json.loads(line)["kind"] for line in exported.stdout.splitlines() if line]
            assert kinds.count("payment.paid") == 1 and "payment.notice.refused" in kinds
            today = datetime.now(UTC).date().isoformat()
            out = tmp_path / "recon.csv"
            recon = run_cli(env, "payments", "reconcile", "--date", today, "--out", str(out))
            assert recon.returncode == 0, recon.stdout + recon.stderr
            assert f"matched,{payment_id}," in out.read_text(encoding="utf-8")
    finally:
        backend.close()
