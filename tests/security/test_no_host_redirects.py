"""Item 9 of the security review: no redirect is built from the caller's Host header (a
trailing-slash redirect pointed at whatever host the request named). Paths are matched as
written: a trailing slash is a 404, never a redirect."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.integration.partner_hub import PartnerHub

PATHS = ["/api/v1/licences/MCT-TL-1/", "/healthz/", "/openapi.json/", "/soap/MunicipalRecords/"]


@pytest.mark.parametrize("path", PATHS)
def test_no_redirect_names_the_host_header(tmp_path: Path, path: str) -> None:
    with PartnerHub(tmp_path) as hub:
        reply = httpx.get(f"{hub.url}{path}", headers={"Host": "evil.example"})
    assert reply.status_code == 404
    assert "location" not in reply.headers
