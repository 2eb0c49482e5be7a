"""Item 8 (part) of the security review: /docs loads no script from the internet."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.integration.partner_hub import PartnerHub


def test_docs_run_no_script_and_name_every_operation(tmp_path: Path) -> None:
    with PartnerHub(tmp_path) as hub:
        page = httpx.get(f"{hub.url}/docs", timeout=10)
        spec = httpx.get(f"{hub.url}/openapi.json", timeout=10).json()
    assert page.status_code == 200
    assert "<script" not in page.text.lower()
    assert "http://" not in page.text and "https://" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    for path in spec["paths"]:
        assert path in page.text
