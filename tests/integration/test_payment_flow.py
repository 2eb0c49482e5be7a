"""Issue 16's "done when": a licence renewal requested, decided, billed, paid through the
simulated national gateway, and renewed exactly once; on the embedded default and on RabbitMQ
+ PostgreSQL. One hub per engine serves the module's tests (each uses its own licence)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hub.config import Settings
from tests.integration.payment_hub import PayingHub, paying_hub, scratch_database

ENGINES = ["embedded", "rabbitmq+postgres"]


@pytest.fixture(scope="module", params=ENGINES)
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PayingHub]:
    data_dir: Path = tmp_path_factory.mktemp("paying-hub")
    options = {
        "data_dir": data_dir,
        "payments_billing": True,
        "retry_ladder": "1s,1s",
        "payment_sweep_s": 3600.0,  # the tests sweep by hand, as if at a chosen time
    }
    if request.param == "embedded":
        with paying_hub(Settings(**options)) as running:
            yield running
        return
    admin: Engine = request.getfixturevalue("postgres_admin")
    broker = request.getfixturevalue("rabbitmq_url")
    with scratch_database(admin) as database:
        settings = Settings(**options, database_url=database, broker_url=broker, simulators=True)
        with paying_hub(settings) as running:
            yield running


def test_a_renewal_is_billed_paid_and_renewed_exactly_once(hub: PayingHub) -> None:
    good = hub.establishment()
    requested = hub.billed(good)
    decided = hub.result("licence.renewal.completed", lambda d: d["licence_no"] == good.licence_no)
    assert decided["data"]["decision"] == "approved"
    data = requested["data"]
    assert data["provider"] == "epay" and data["currency"] == "OMR"
    assert data["amount"] == "25.000" and Decimal(data["amount"]) == Decimal("25.000")
    assert data["payment_url"].endswith(data["payment_id"])
    waiting = hub.licence(good.licence_no)
    assert waiting.status == "awaiting-payment" and waiting.expiry is None  # not renewed yet
    assert requested["correlationid"] == decided["correlationid"]

    notification = hub.provider("epay").pay(data["payment_id"])
    answer = hub.provider("epay").deliver(notification)
    assert answer.status_code == 200, answer.text
    completed = hub.result("payment.completed", lambda d: d["case"] == good.licence_no)
    assert completed["data"]["outcome"] == "renewed"
    renewed = hub.licence(good.licence_no)
    assert renewed.status == "active"
    assert renewed.expiry == date.fromisoformat(completed["data"]["expiry"])
    assert renewed.expiry > good.licence_expiry

    again = hub.provider("epay").deliver(notification)  # the provider retries its notification
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["type"].endswith("replayed-notification")
    assert hub.licence(good.licence_no).expiry == renewed.expiry
    assert len(hub.results_of("payment.completed", good.licence_no)) == 1
    kinds = hub.audit_kinds(requested["correlationid"])  # the case's audit shows its payment
    assert kinds.count("payment.paid") == 1
    assert "payment.notice.refused" in kinds
    payment = hub.payment(data["reference"])
    assert payment.status == "paid" and payment.amount == Decimal("25.000")
