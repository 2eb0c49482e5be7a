"""Item 7 of the security review: outside the embedded demo a simulator is never started by
itself; an agency without a URL is a start-up error naming the setting to set."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import Settings
from hub.errors import ConfigurationError
from hub.runtime.build import build_runtime


def test_a_configured_store_without_agency_urls_is_a_startup_error(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'prod.sqlite3'}")
    with pytest.raises(ConfigurationError) as refused:
        build_runtime(settings).close()
    message = str(refused.value)
    assert "HUB_AGENCIES__ROP__URL" in message and "HUB_AGENCIES__MOCI__URL" in message
    assert not (tmp_path / "simulators.json").exists()


def test_only_the_missing_agencies_are_named(tmp_path: Path) -> None:
    credentials = {"username": "u", "password": "p", "client_id": "c", "client_secret": "s"}
    credentials |= {"api_key": "k"}
    agencies = {
        name: {"url": "http://127.0.0.1:9/", "credentials": credentials}
        for name in ("rop", "moci", "occi")
    }
    settings = Settings(
        data_dir=tmp_path, broker_url="amqp://guest:guest@127.0.0.1:5672/", agencies=agencies
    )
    with pytest.raises(ConfigurationError) as refused:
        build_runtime(settings).close()
    message = str(refused.value)
    assert "HUB_AGENCIES__LABOUR__URL" in message and "HUB_AGENCIES__ROP__URL" not in message


def test_simulators_asked_for_on_purpose_still_start(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        simulators=True,
    )
    with build_runtime(settings) as runtime:
        assert "rop" in runtime.simulators


def test_the_embedded_demo_starts_its_simulators_by_default(tmp_path: Path) -> None:
    with build_runtime(Settings(data_dir=tmp_path)) as runtime:
        assert set(runtime.simulators) >= {"rop", "moci"}
