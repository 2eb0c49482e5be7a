"""Issue 16's "done when": a licence renewal requested, decided, billed, paid through the
simulated national gateway, and renewed exactly once; on the embedded default and on RabbitMQ
+ PostgreSQL. One hub per engine serves the module's tests (each uses its own licence)."""

from __future__ import annotations

import csv
import dataclasses
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from connectors.payments.signature import sign
from connectors.rop import data as rop_register
from connectors.rop import violations
from hub.cli.app import app
from hub.config import Settings
from hub.store.payments import PaymentLedger
from tests.e2e.harness import run_cli
from tests.integration.payment_hub import (
    PayingHub,
    paying_hub,
    renewal,
    scratch_database,
    wait_until,
)

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
        "circuit_reset_s": 1.0,  # an open circuit must not hold the ladder back for long
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


def test_refused_notifications_change_nothing_and_are_audited(hub: PayingHub) -> None:
    good = hub.establishment()
    data = hub.billed(good)["data"]
    epay = hub.provider("epay")
    url = hub.notify_url("epay")
    before = len(hub.refusals())

    genuine = epay.pay(data["payment_id"])
    forged = httpx.post(url, content=genuine.body, headers={genuine.header: "0" * 64})
    unknown_body = genuine.body.replace(data["payment_id"].encode(), b"EP-999999")
    unknown = httpx.post(
        url, content=unknown_body, headers={genuine.header: sign(unknown_body, epay.notify_key)}
    )
    cheaper = epay.deliver(epay.pay(data["payment_id"], amount="24.999"))
    dollars = epay.deliver(epay.pay(data["payment_id"], currency="USD"))
    unsigned = httpx.post(url, content=genuine.body)
    garbage = httpx.post(url, content=b"{", headers={genuine.header: sign(b"{", epay.notify_key)})

    nobody = httpx.post(hub.notify_url("nobody"), content=genuine.body, headers=genuine.headers)
    odd_body = genuine.body.replace(b'"status": "PAID"', b'"status": "REFUNDED"')
    odd = httpx.post(
        url, content=odd_body, headers={genuine.header: sign(odd_body, epay.notify_key)}
    )
    huge_body = genuine.body.replace(b'"amount": "25.000"', b'"amount": "1E+999999"')
    huge = httpx.post(
        url, content=huge_body, headers={genuine.header: sign(huge_body, epay.notify_key)}
    )
    answers = {
        "unknown-provider": nobody,
        "bad-signature": forged,
        "unknown-payment": unknown,
        "amount-mismatch": cheaper,
        "invalid-notification": garbage,
    }
    for kind, answer in answers.items():
        assert answer.headers["content-type"] == "application/problem+json", kind
        assert answer.json()["type"] == f"urn:muscat-hub:problem:{kind}", answer.text
    assert [forged.status_code, unknown.status_code, unsigned.status_code] == [401, 404, 401]
    assert nobody.status_code == 404
    assert odd.status_code == 422 and "status must be one of" in odd.json()["detail"]
    assert huge.status_code == 422 and "rials" in huge.json()["detail"]
    assert [cheaper.status_code, dollars.status_code, garbage.status_code] == [422, 422, 422]
    assert dollars.json()["type"].endswith("amount-mismatch")
    assert hub.payment(data["reference"]).status == "pending"
    assert hub.licence(good.licence_no).status == "awaiting-payment"
    refused = [r["problem"] for r in hub.refusals()[before:]]
    assert sorted(refused) == sorted(
        ["bad-signature", "unknown-payment", "amount-mismatch", "amount-mismatch"]
        + ["bad-signature", "invalid-notification", "unknown-provider", "invalid-notification"]
        + ["invalid-notification"]
    )


def test_an_expired_payment_leaves_the_case_unpaid_and_a_late_notice_is_refused(
    hub: PayingHub,
) -> None:
    good = hub.establishment()
    data = hub.billed(good)["data"]
    expires_at = hub.payment(data["reference"]).expires_at
    assert expires_at is not None
    assert hub.worker.payments.sweep(now=expires_at + timedelta(seconds=1)) >= 1
    unpaid = hub.result("payment.unpaid", lambda d: d["case"] == good.licence_no)
    assert unpaid["data"]["status"] == "expired"
    assert "دون سداد" in unpaid["data"]["reason"]["ar"]

    late = hub.provider("epay").deliver(hub.provider("epay").pay(data["payment_id"]))
    assert late.status_code == 409 and late.json()["type"].endswith("payment-expired")
    assert hub.payment(data["reference"]).status == "expired"
    assert hub.licence(good.licence_no).status == "awaiting-payment"
    assert hub.results_of("payment.completed", good.licence_no) == []


def test_a_failed_payment_says_so_and_changes_no_licence(hub: PayingHub) -> None:
    good = hub.establishment()
    data = hub.billed(good)["data"]
    epay = hub.provider("epay")
    assert epay.deliver(epay.pay(data["payment_id"], status="FAILED")).status_code == 200
    unpaid = hub.result("payment.unpaid", lambda d: d["case"] == good.licence_no)
    assert unpaid["data"]["status"] == "failed"
    assert hub.payment(data["reference"]).status == "failed"
    assert hub.licence(good.licence_no).status == "awaiting-payment"


def test_a_lost_notification_is_found_by_the_status_query(hub: PayingHub) -> None:
    good = hub.establishment()
    data = hub.billed(good)["data"]
    epay = hub.provider("epay")
    notification = epay.pay(data["payment_id"])  # paid, but the notification is lost
    created = hub.payment(data["reference"]).created_at
    quiet = timedelta(seconds=hub.runtime.settings.payment_status_after_s)
    assert hub.worker.payments.sweep(now=created + quiet / 2) == 0  # not silent long enough
    assert hub.worker.payments.sweep(now=created + quiet + timedelta(seconds=1)) == 1
    completed = hub.result("payment.completed", lambda d: d["case"] == good.licence_no)
    assert completed["data"]["outcome"] == "renewed"
    assert hub.licence(good.licence_no).status == "active"
    late = epay.deliver(notification)  # the notification turns up after all
    assert late.status_code == 409 and late.json()["type"].endswith("already-paid")
    assert len(hub.results_of("payment.completed", good.licence_no)) == 1
    assert "payment.paid" in hub.audit_kinds(completed["correlationid"])


def test_a_payment_for_a_case_refused_meanwhile_is_refunded_once(hub: PayingHub) -> None:
    good = hub.establishment()
    data = hub.billed(good)["data"]
    cancelled = {
        "cr_no": good.cr_no,
        "status": "cancelled",
        "effective_date": "2026-12-01",
        "reason": "شطب السجل التجاري بناءً على طلب المالك",
    }
    hub.send("moci.cr.status-changed", cancelled)
    hub.result("licence.suspended", lambda d: d["licence_no"] == good.licence_no)
    epay = hub.provider("epay")
    assert epay.deliver(epay.pay(data["payment_id"])).status_code == 200
    completed = hub.result("payment.completed", lambda d: d["case"] == good.licence_no)
    assert completed["data"]["outcome"] == "refund-due"
    refunded = hub.result("payment.refunded", lambda d: d["case"] == good.licence_no)
    assert refunded["data"]["amount"] == data["amount"]
    assert epay.payments[data["payment_id"]].status == "REFUNDED"
    payment = wait_until(
        lambda: (p := hub.payment(data["reference"])).status == "refunded" and p, "refunded"
    )
    assert payment.refund_id == refunded["data"]["refund_id"]
    assert hub.licence(good.licence_no).status == "suspended"
    assert len(hub.results_of("payment.refunded", good.licence_no)) == 1
    assert hub.audit_kinds(completed["correlationid"]).count("payment.paid") == 1


def test_a_gateway_down_at_create_rides_the_ladder_then_a_replay_bills_once(
    hub: PayingHub,
) -> None:
    good = hub.establishment()
    epay = hub.provider("epay")
    epay.set_fault("outage")
    try:
        hub.send("licence.renewal.requested", renewal(good))
        decided = hub.result(
            "licence.renewal.completed", lambda d: d["licence_no"] == good.licence_no
        )
        case = decided["correlationid"]
        wait_until(
            lambda: hub.message_status("payment.create.requested", case) == "dead",
            "the create to run out of its ladder",
        )
    finally:
        epay.set_fault("none")
    assert hub.licence(good.licence_no).status == "awaiting-payment"
    [billed] = [p for p in epay.payments.values() if p.payer_reference == good.cr_no] or [None]
    assert billed is None  # the provider never created it while down
    replayed = run_cli(
        hub.env,
        "replay", "run", "--type", "payment.create.requested", "--status", "dead",
        "--reason", "epay is back", "--operator", "test",
    )  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr
    requested = hub.result("payment.requested", lambda d: d["case"] == good.licence_no)
    assert requested["correlationid"] == case
    assert len([p for p in epay.payments.values() if p.payer_reference == good.cr_no]) == 1
    assert hub.message_status("payment.create.requested", case) == "done"


def test_a_fine_paid_through_bank_muscat_is_settled_with_rop(hub: PayingHub) -> None:
    fine = violations.violations()[1]
    due = {
        "violation_no": fine.violation_no,
        "plate": {"number": fine.plate_number, "code": fine.plate_code},
        "amount_omr": fine.amount_omr,
        "payer_reference": "CIV-PAYER-0001",
        "provider": "bankmuscat",
    }
    hub.send("violation.parking.fine-due", due)
    data = hub.result("payment.requested", lambda d: d["case"] == fine.violation_no)["data"]
    assert data["provider"] == "bankmuscat" and data["amount"] == fine.amount_omr
    assert data["payment_id"].startswith("BM-")
    bank = hub.provider("bankmuscat")
    answer = bank.deliver(bank.pay(data["payment_id"]))
    assert answer.status_code == 200, answer.text
    completed = hub.result("payment.completed", lambda d: d["case"] == fine.violation_no)
    assert completed["data"]["outcome"] == "settling"
    settled = hub.result(
        "violation.parking.settled", lambda d: d["violation_no"] == fine.violation_no
    )
    assert settled["data"]["outcome"] == "settled"
    assert settled["correlationid"] == completed["correlationid"]
    # the same notification signed with the other provider's key is refused
    resent = bank.notifications_sent[-1]
    other_key = {resent.header: sign(resent.body, hub.provider("epay").notify_key)}
    assert (
        httpx.post(hub.notify_url("bankmuscat"), content=resent.body, headers=other_key).status_code
        == 401
    )


def test_the_same_notification_racing_itself_pays_once(hub: PayingHub) -> None:
    good = hub.establishment()
    data = hub.billed(good)["data"]
    epay = hub.provider("epay")
    notification = epay.pay(data["payment_id"])
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: epay.deliver(notification), range(4)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409, 409, 409], [a.text for a in answers]
    hub.result("payment.completed", lambda d: d["case"] == good.licence_no)
    assert len(hub.results_of("payment.completed", good.licence_no)) == 1
    assert hub.audit_kinds(data_correlation(hub, data)).count("payment.paid") == 1


def data_correlation(hub: PayingHub, data: dict[str, str]) -> str:
    return hub.payment(data["reference"]).correlationid


def test_metrics_show_payments_by_state_and_provider(hub: PayingHub) -> None:
    scraped = httpx.get(f"{hub.api.url}/metrics").text
    assert re.search(r'hub_payments\{provider="epay",state="paid"\} [1-9]', scraped), scraped
    assert re.search(r'hub_payments\{provider="bankmuscat",state="paid"\} [1-9]', scraped)
    assert 'hub_payment_notices_total{outcome="accepted",provider="epay"}' in scraped
    assert 'outcome="bad-signature"' in scraped
    assert "hub_payment_notification_latency_seconds_count" in scraped


def test_a_parking_permit_is_issued_once_its_fee_is_paid(hub: PayingHub) -> None:
    vehicle = rop_register.valid_vehicles()[7]
    application = f"PKA-PAY-{uuid.uuid4().hex[:6].upper()}"
    request = {
        "application_no": application,
        "plate": {"number": vehicle.plate_number, "code": vehicle.plate_code},
        "civil_id": vehicle.owner.civil_id,
        "zone": "qurum",
        "months": 6,
    }
    hub.send("permit.parking.requested", request)
    data = hub.result("payment.requested", lambda d: d["case"] == application)["data"]
    assert data["service"] == "parking-permit" and data["amount"] == "10.000"

    def permits() -> list[dict[str, Any]]:
        hub.drain()
        done = [r for r in hub.results if r["type"] == "permit.parking.completed"]
        return [r for r in done if r["data"]["application_no"] == application]

    assert permits() == []  # no permit before its fee is paid
    epay = hub.provider("epay")
    assert epay.deliver(epay.pay(data["payment_id"])).status_code == 200
    completed = hub.result("payment.completed", lambda d: d["case"] == application)
    assert completed["data"]["outcome"] == "issued"
    [issued] = wait_until(permits, "the permit")
    assert issued["data"]["decision"] == "issued"
    assert issued["data"]["permit_no"].startswith("MCT-PK-")
    assert epay.deliver(epay.pay(data["payment_id"])).status_code == 409
    assert len(permits()) == 1


def test_a_page_asking_another_amount_is_never_offered_to_the_payer(hub: PayingHub) -> None:
    good = hub.establishment()
    epay = hub.provider("epay")
    epay.skew = Decimal("1.000")
    try:
        hub.send("licence.renewal.requested", renewal(good))
        decided = hub.result(
            "licence.renewal.completed", lambda d: d["licence_no"] == good.licence_no
        )
        case = decided["correlationid"]
        wait_until(
            lambda: hub.message_status("payment.create.requested", case) == "done", "the create"
        )
    finally:
        epay.skew = Decimal(0)
    assert "payment.create.mismatch" in hub.audit_kinds(case)
    assert hub.results_of("payment.requested", good.licence_no) == []
    with hub.runtime.sessions() as session:
        [payment] = PaymentLedger(session).of_case(good.licence_no)
        assert payment.status == "billed" and payment.payment_id is None


def test_a_building_permit_asks_for_electricity_once_its_fee_is_paid(hub: PayingHub) -> None:
    owner = rop_register.valid_vehicles()[8].owner
    permit_no = f"MCT-BP-2026-{uuid.uuid4().int % 1_000_000:06d}"
    issued = {
        "permit_no": permit_no,
        "owner": {"civil_id": owner.civil_id, "name_en": owner.name_en, "name_ar": owner.name_ar},
        "plot_no": "3/771",
        "wilayat": "Seeb",
        "load_kva": 80,
    }
    hub.send("permit.building.issued", issued)
    data = hub.result("payment.requested", lambda d: d["case"] == permit_no)["data"]
    assert data["service"] == "building-permit" and data["amount"] == "90.000"

    def asked() -> list[dict[str, Any]]:
        hub.drain()
        done = [r for r in hub.results if r["type"] == "permit.building.electricity-requested"]
        return [r for r in done if r["data"]["permit_no"] == permit_no]

    assert asked() == []  # nothing asked of the electricity company before the fee is paid
    epay = hub.provider("epay")
    assert epay.deliver(epay.pay(data["payment_id"])).status_code == 200
    completed = hub.result("payment.completed", lambda d: d["case"] == permit_no)
    assert completed["data"]["outcome"] == "issued"
    [requested] = wait_until(asked, "the electricity request")
    assert requested["data"]["request_no"]
    assert requested["correlationid"] == completed["correlationid"]
    assert epay.deliver(epay.pay(data["payment_id"])).status_code == 409
    assert len(asked()) == 1


def test_reconcile_names_every_difference_and_exits_non_zero(
    hub: PayingHub, tmp_path: Path
) -> None:
    """Last in the module: it reconciles the day the tests above paid their payments on."""
    good = hub.establishment()
    data = hub.billed(good)["data"]
    epay = hub.provider("epay")
    assert epay.deliver(epay.pay(data["payment_id"])).status_code == 200
    hub.result("payment.completed", lambda d: d["case"] == good.licence_no)
    today = datetime.now(UTC).date()
    paid = [p for p in epay.payments.values() if p.paid_at and p.paid_at.date() == today]
    stranger = dataclasses.replace(paid[0], payment_id="EP-900001", reference="NOT-OURS")
    epay.payments[stranger.payment_id] = stranger  # settled by the provider, unknown to us
    epay.payments[data["payment_id"]].amount = Decimal("24.500")  # settled for less
    missing = [p for p in paid if p.payment_id != data["payment_id"]][-1]
    missing.paid_at = datetime.now(UTC) - timedelta(days=2)  # not in today's report

    csv_path = tmp_path / "recon.csv"
    ran = reconcile(hub, "--date", today.isoformat(), "--out", str(csv_path))
    assert ran.exit_code == 3, ran.output
    lines = {row["payment_id"]: row for row in csv.DictReader(csv_path.open(encoding="utf-8"))}
    assert lines["EP-900001"]["kind"] == "paid-not-recorded"
    assert lines[data["payment_id"]]["kind"] == "amount-differs"
    assert lines[data["payment_id"]]["settled_amount"] == "24.500"
    assert lines[data["payment_id"]]["recorded_amount"] == "25.000"
    assert lines[missing.payment_id]["kind"] == "recorded-not-settled"
    others = [
        r["kind"]
        for pid, r in lines.items()
        if pid not in {"EP-900001", data["payment_id"], missing.payment_id}
    ]
    assert set(others) <= {"matched", "paid-not-recorded"}  # paid after expiry: not recorded
    assert "amount-differs" in ran.output and "EP-900001" in ran.output

    quiet = reconcile(hub, "--date", "2020-01-01", "--out", str(tmp_path / "q.csv"))
    assert quiet.exit_code == 0, quiet.output


def reconcile(hub: PayingHub, *args: str) -> Result:
    """`hub payments reconcile` in this process (the command configures no logging), with the
    hub's configuration as its environment."""
    return CliRunner().invoke(app, ["payments", "reconcile", *args], env=hub.env)


def test_unproven_senders_are_throttled_and_summarised_not_audited_one_by_one(
    hub: PayingHub,
) -> None:
    """Last in the module: it uses up this address's failed-authentication budget. Windows
    are fixed (60 s), so the first 429 may take up to one more window's budget to come."""
    limit = hub.runtime.settings.auth_fail_limit
    before = len(hub.refusals())
    forged = b'{"notificationId": "x"}'

    def post() -> httpx.Response:
        headers = {"X-Epay-Signature": "00"}
        return httpx.post(hub.notify_url("epay"), content=forged, headers=headers)

    codes = []
    for _ in range(3 * limit + 2):  # bounded
        codes.append(post().status_code)
        if codes[-1] == 429:
            break
    assert codes[-1] == 429 and set(codes) == {401, 429}, codes
    audited = len(hub.refusals()) - before
    assert 0 < audited <= 2 * limit
    throttled = post()
    assert throttled.status_code == 429 and throttled.json()["type"].endswith("rate-limited")
    assert int(throttled.headers["Retry-After"]) >= 1
    assert len(hub.refusals()) - before == audited  # throttled ones are not audited one by one
