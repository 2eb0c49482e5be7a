"""Fixtures for end-to-end tests: the same test on each pair of engines."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness import hub_env


@pytest.fixture(params=["embedded", "rabbitmq+postgres"])
def engines(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """HUB_* settings for one pair of engines; the code under test is the same."""
    env = hub_env(tmp_path)
    if request.param == "embedded":
        env["HUB_TEST_BROKER_URL"] = f"embedded+sqlite:///{tmp_path / 'broker.sqlite3'}"
        return env
    env["HUB_BROKER_URL"] = env["HUB_TEST_BROKER_URL"] = request.getfixturevalue("rabbitmq_url")
    env["HUB_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    return env
