"""The Invest Easy and Isnad main paths on RabbitMQ + PostgreSQL: the same code path as the
embedded default, checked with the same assertions (an application approved and one refused
with bilingual reasons; a tender floated, awarded and its winner checked)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.api.grants import INVESTEASY_READ, INVESTEASY_SUBMIT, PUSH_ISNAD_TENDER_STATUS
from hub.config import Settings
from tests.integration.investisnad_hub import InvestIsnadHub, start
from tests.integration.test_investeasy import check_approved_and_refused
from tests.integration.test_isnad import check_floated_awarded_and_checked

pytestmark = pytest.mark.e2e


@pytest.fixture
def hub(tmp_path: Path, rabbitmq_url: str, postgres_url: str) -> Iterator[InvestIsnadHub]:
    settings = Settings(
        data_dir=tmp_path,
        broker_url=rabbitmq_url,
        database_url=postgres_url,
        retry_ladder="1s,1s",
        simulators=True,  # agencies simulated on purpose off the embedded default
        partner_pepper="test-pepper",
        auth_fail_limit=10_000,
    )
    yield from start(settings)


def test_both_systems_main_paths_on_rabbitmq_and_postgresql(hub: InvestIsnadHub) -> None:
    check_approved_and_refused(hub, hub.partner(INVESTEASY_SUBMIT, INVESTEASY_READ))
    check_floated_awarded_and_checked(hub, hub.partner(PUSH_ISNAD_TENDER_STATUS))
