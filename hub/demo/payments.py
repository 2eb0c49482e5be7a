"""The demo's payments part: two licence renewals billed through the national gateway and a
parking fine through Bank Muscat, each paid on the provider's simulated page; the signed
notifications reach the hub's partner endpoint (served for the demo on loopback), and the
licences are renewed and the fine settled with ROP, once each."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import select

from connectors import world
from connectors.rop import violations
from hub.api.app import build_services, create_app
from hub.bus.publisher import Publisher
from hub.bus.topology import IN_EXCHANGE
from hub.demo.cases import DemoCase
from hub.runtime.build import HubRuntime
from hub.serving import LoopbackServer
from hub.store.tables import ParkingViolation, Payment, TradeLicence


class Delivered(Protocol):
    status_code: int


@runtime_checkable
class SimulatedProvider(Protocol):
    """What the demo uses of a payment provider's simulator (connectors/payments)."""

    callback_url: str | None

    def pay(self, payment_id: str) -> Any: ...

    def deliver(self, notification: Any) -> Delivered: ...


@dataclass
class PaymentCase:
    """One payment the demo makes, and what became of it."""

    service: str
    case: str
    provider: str
    request: DemoCase
    amount: str = ""
    payment_id: str = ""
    outcome: str = ""


def payment_cases(used: set[str]) -> list[PaymentCase]:
    """Two renewals and one fine that the first wave does not touch (`used`: its keys)."""
    fresh = [e for e in reversed(world.healthy()) if e.licence_no not in used][:2]
    cases = [
        PaymentCase(
            "licence-renewal",
            e.licence_no,
            "epay",
            DemoCase(
                "paid renewal",
                {
                    "licence_no": e.licence_no,
                    "cr_no": e.cr_no,
                    "activities": [e.licence_activity.code],
                    "premises": {
                        "premises_id": e.premises_id,
                        "wilayat": e.wilayat,
                        "plot_no": e.plot_no,
                        "electricity_account": e.account_no,
                    },
                },
                type="licence.renewal.requested",
            ),
        )
        for e in fresh
    ]
    fine = next(v for v in reversed(violations.violations()) if v.violation_no not in used)
    due = {
        "violation_no": fine.violation_no,
        "plate": {"number": fine.plate_number, "code": fine.plate_code},
        "amount_omr": fine.amount_omr,
        "payer_reference": f"DEMO-{uuid.uuid4().hex[:8].upper()}",
        "provider": "bankmuscat",
    }
    request = DemoCase("paid fine", due, type="violation.parking.fine-due")
    cases.append(PaymentCase("parking-fine", fine.violation_no, "bankmuscat", request))
    return cases


class PaymentDemo:
    """Bills, pays and completes `cases` through the running hub."""

    def __init__(self, runtime: HubRuntime, cases: list[PaymentCase]) -> None:
        self._runtime = runtime
        self.cases = cases

    def _provider(self, name: str) -> SimulatedProvider | None:
        running = self._runtime.simulators.get(name)
        simulator = running.simulator if running else None
        return simulator if isinstance(simulator, SimulatedProvider) else None

    def run(self, timeout_s: float, on_progress: Callable[[int], None]) -> None:
        runtime = self._runtime
        with Publisher(runtime.broker_url) as publisher:
            services = build_services(
                runtime.settings, runtime.sessions, runtime.contracts, publisher, runtime.sealer
            )
            api = LoopbackServer(create_app(services)).start()
            try:
                for case in self.cases:
                    provider = self._provider(case.provider)
                    if provider is not None:
                        provider.callback_url = (
                            f"{api.url}/api/v1/payments/{case.provider}/notifications"
                        )
                    body = case.request.body()
                    publisher.publish(body, exchange=IN_EXCHANGE, routing_key=case.request.type)
                self._pay_and_wait(timeout_s, on_progress)
            finally:
                api.stop()

    def _pay_and_wait(self, timeout_s: float, on_progress: Callable[[int], None]) -> None:
        deadline = time.monotonic() + timeout_s
        paid: set[str] = set()
        while time.monotonic() < deadline:  # bounded
            done = 0
            for case in self.cases:
                payment = self._payment(case)
                if payment is None:
                    continue
                case.amount, case.payment_id = f"{payment.amount}", payment.payment_id or ""
                provider = self._provider(case.provider)
                if payment.status == "pending" and case.case not in paid and provider:
                    provider.deliver(provider.pay(case.payment_id))
                    paid.add(case.case)
                case.outcome = self._outcome(case)
                done += 1 if case.outcome in ("renewed", "settled with ROP") else 0
            on_progress(done)
            if done == len(self.cases):
                return
            time.sleep(0.2)

    def _payment(self, case: PaymentCase) -> Payment | None:
        with self._runtime.sessions() as session:
            return session.scalars(
                select(Payment).where(Payment.case_key == case.case).order_by(Payment.id.desc())
            ).first()

    def _outcome(self, case: PaymentCase) -> str:
        with self._runtime.sessions() as session:
            if case.service == "licence-renewal":
                licence = session.scalars(
                    select(TradeLicence).where(TradeLicence.licence_no == case.case)
                ).first()
                if licence is not None and licence.status == "active":
                    return "renewed"
                return licence.status if licence else "waiting"
            violation = session.scalars(
                select(ParkingViolation).where(ParkingViolation.violation_no == case.case)
            ).first()
            if violation is not None and violation.status == "settled":
                return "settled with ROP"
            return violation.status if violation else "waiting"
