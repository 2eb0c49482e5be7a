"""Item 8 of the security review: /metrics and /docs may be served on an operations port of
their own (HUB_OPS_PORT) and behind a bearer token (HUB_OPS_TOKEN), so the partner-facing port
does not show operators' views to partners or to the internet."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.integration.partner_hub import PartnerHub
from tests.security.test_slow_clients import served

TOKEN = "ops-secret-4711"


def test_an_operations_port_takes_metrics_and_docs_off_the_partner_port(tmp_path: Path) -> None:
    with served(tmp_path, ops_port=0) as endpoints:
        assert endpoints.ops_url != endpoints.url
        partner = {p: httpx.get(f"{endpoints.url}{p}", timeout=10) for p in ("/metrics", "/docs")}
        ops = {p: httpx.get(f"{endpoints.ops_url}{p}", timeout=10) for p in ("/metrics", "/docs")}
        spec = httpx.get(f"{endpoints.url}/openapi.json", timeout=10)
        healthz = httpx.get(f"{endpoints.url}/healthz", timeout=10)
    assert {p: r.status_code for p, r in partner.items()} == {"/metrics": 404, "/docs": 404}
    assert {p: r.status_code for p, r in ops.items()} == {"/metrics": 200, "/docs": 200}
    assert "hub_outbox_backlog" in ops["/metrics"].text
    assert "/api/v1/licences/{licence_no}" in ops["/docs"].text
    assert spec.status_code == 200 and healthz.status_code == 200


def test_an_ops_token_guards_metrics_and_docs_and_nothing_else(tmp_path: Path) -> None:
    with PartnerHub(tmp_path, ops_token=TOKEN) as hub:
        bare = {p: httpx.get(f"{hub.url}{p}", timeout=10) for p in ("/metrics", "/docs")}
        wrong = httpx.get(f"{hub.url}/metrics", headers={"Authorization": "Bearer nope"})
        right = {
            p: httpx.get(f"{hub.url}{p}", headers={"Authorization": f"Bearer {TOKEN}"})
            for p in ("/metrics", "/docs")
        }
        healthz = httpx.get(f"{hub.url}/healthz", timeout=10)
    assert {p: r.status_code for p, r in bare.items()} == {"/metrics": 401, "/docs": 401}
    assert bare["/metrics"].headers["www-authenticate"].startswith("Bearer")
    assert wrong.status_code == 401
    assert {p: r.status_code for p, r in right.items()} == {"/metrics": 200, "/docs": 200}
    assert healthz.status_code == 200


def test_the_ops_port_honours_the_token_too(tmp_path: Path) -> None:
    with served(tmp_path, ops_port=0, ops_token=TOKEN) as endpoints:
        bare = httpx.get(f"{endpoints.ops_url}/metrics", timeout=10)
        right = httpx.get(
            f"{endpoints.ops_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
        )
    assert (bare.status_code, right.status_code) == (401, 200)
