"""A hub that bills, for the payment tests: the runtime and a worker in this process, the
partner endpoints on loopback (where the simulated providers send their notifications), and a
municipal backend reading municipal.out. On the embedded default or on RabbitMQ + PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, select, text

from connectors import world
from connectors.payments.simulator import PaymentSimulator
from connectors.world import Establishment
from hub.api.app import build_services, create_app
from hub.bus.publisher import Publisher
from hub.config import Settings
from hub.runtime.build import HubRuntime, build_runtime
from hub.runtime.worker_thread import WorkerThread
from hub.serving import LoopbackServer
from hub.store.tables import AuditEntry, Message, Payment, TradeLicence
from tests.e2e.harness import MunicipalBackend, hub_env

T = TypeVar("T")


def wait_until(check: Callable[[], T], what: str, timeout_s: float = 30.0) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # bounded
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def renewal(establishment: Establishment) -> dict[str, Any]:
    return {
        "licence_no": establishment.licence_no,
        "cr_no": establishment.cr_no,
        "activities": [establishment.licence_activity.code],
        "premises": {
            "premises_id": establishment.premises_id,
            "wilayat": establishment.wilayat,
            "plot_no": establishment.plot_no,
            "electricity_account": establishment.account_no,
        },
    }


class PayingHub:
    """What the payment tests drive: municipal.in/out, the provider simulators, the store."""

    def __init__(self, runtime: HubRuntime, worker: WorkerThread, api: LoopbackServer) -> None:
        settings = runtime.settings
        extra = {"HUB_DATA_DIR": str(settings.data_dir)}
        if not settings.is_embedded:
            extra |= {"HUB_DATABASE_URL": runtime.settings.resolved_database_url}
            extra |= {"HUB_BROKER_URL": runtime.broker_url}
        self.env = hub_env(settings.data_dir, **extra)  # for the `hub` command line
        self.runtime = runtime
        self.worker = worker
        self.api = api
        self.backend = MunicipalBackend(runtime.broker_url)
        self.results: list[dict[str, Any]] = []
        self._healthy = iter(world.healthy())
        for name in ("epay", "bankmuscat"):
            self.provider(name).callback_url = self.notify_url(name)

    def establishment(self) -> Establishment:
        """A healthy establishment no other test of this hub has used."""
        return next(self._healthy)

    def provider(self, name: str = "epay") -> PaymentSimulator:
        simulator = self.runtime.simulators[name].simulator
        assert isinstance(simulator, PaymentSimulator)
        return simulator

    def notify_url(self, provider: str) -> str:
        return f"{self.api.url}/api/v1/payments/{provider}/notifications"

    def send(self, type_: str, data: dict[str, Any], **attrs: Any) -> str:
        return self.backend.send(type_, data, **attrs)

    def result(self, type_: str, where: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first result of `type_` whose data satisfies `where` (waiting for it)."""

        def found() -> dict[str, Any] | None:
            self.results.extend(self.backend.take_at_least(1, timeout_s=0.5))
            for r in self.results:
                if r["type"] == type_ and where(r["data"]):
                    return r
            return None

        return wait_until(found, f"a {type_} result")

    def drain(self) -> list[dict[str, Any]]:
        """Every result so far, after taking what has arrived (waiting up to 0.3 s for one)."""
        self.results.extend(self.backend.take_at_least(1, timeout_s=0.3))
        return self.results

    def results_of(self, type_: str, case: str) -> list[dict[str, Any]]:
        self.drain()
        return [r for r in self.results if r["type"] == type_ and r["data"].get("case") == case]

    def billed(self, establishment: Establishment) -> dict[str, Any]:
        """Renewal requested, decided and billed: the payment.requested result."""
        self.send("licence.renewal.requested", renewal(establishment))
        case = establishment.licence_no
        return self.result("payment.requested", lambda d: d["case"] == case)

    def payment(self, reference: str) -> Payment:
        with self.runtime.sessions() as session:
            found = session.scalars(select(Payment).where(Payment.reference == reference)).one()
            session.expunge(found)
            return found

    def licence(self, licence_no: str) -> TradeLicence:
        with self.runtime.sessions() as session:
            found = session.scalars(
                select(TradeLicence).where(TradeLicence.licence_no == licence_no)
            ).one()
            session.expunge(found)
            return found

    def audit_kinds(self, correlationid: str) -> list[str]:
        with self.runtime.sessions() as session:
            return list(
                session.scalars(
                    select(AuditEntry.kind)
                    .where(AuditEntry.correlationid == correlationid)
                    .order_by(AuditEntry.seq)
                )
            )

    def message_status(self, type_: str, correlationid: str) -> str | None:
        with self.runtime.sessions() as session:
            return session.scalar(
                select(Message.status).where(
                    Message.type == type_, Message.correlationid == correlationid
                )
            )

    def refusals(self) -> list[dict[str, Any]]:
        with self.runtime.sessions() as session:
            return [
                dict(detail)
                for detail in session.scalars(
                    select(AuditEntry.detail).where(AuditEntry.kind == "payment.notice.refused")
                )
            ]

    def close(self) -> None:
        self.backend.close()
        self.api.stop()
        self.worker.stop()
        self.runtime.close()


@contextmanager
def paying_hub(settings: Settings) -> Iterator[PayingHub]:
    runtime = build_runtime(settings)
    worker = WorkerThread(runtime).start()
    publisher = Publisher(runtime.broker_url)
    services = build_services(settings, runtime.sessions, runtime.contracts, publisher)
    api = LoopbackServer(create_app(services)).start()
    hub = PayingHub(runtime, worker, api)
    try:
        yield hub
    finally:
        hub.close()
        publisher.close()


@contextmanager
def scratch_database(admin: Engine) -> Iterator[str]:
    """A PostgreSQL database for one module's hub, dropped after it."""
    name = f"hub_pay_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
