"""A whole hub for the Invest Easy and Isnad tests: the runtime with its worker, the partner
app served on loopback over the same store and broker, the portal and Isnad simulators, and a
municipal backend reading municipal.out. Cases come from the simulated world, so outcomes
are known in advance."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any, TypeVar

from sqlalchemy import select

from connectors import world
from connectors.investeasy.simulator import InvestEasySimulator
from connectors.isnad.simulator import IsnadSimulator
from hub.api.app import build_services, create_app
from hub.api.partners import PartnerRegistry, SecretHasher, load_pepper
from hub.bus.publisher import Publisher
from hub.config import Settings
from hub.flows.investeasy_rules import INSPECTION_ACTIVITIES
from hub.runtime.build import HubRuntime, build_runtime
from hub.runtime.worker_thread import WorkerThread
from hub.serving import LoopbackServer
from hub.store.tables import AuditEntry, Message
from tests.e2e.harness import MunicipalBackend, hub_env, run_cli

T = TypeVar("T")
_serial = iter(range(100_000, 999_999))


def wait_until(check: Callable[[], T], what: str, timeout_s: float = 30.0) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # bounded
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class InvestIsnadHub:
    """One hub and what the tests drive it with; `close()` stops everything."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runtime: HubRuntime = build_runtime(settings)
        self.worker = WorkerThread(self.runtime).start()
        self.backend = MunicipalBackend(settings.resolved_broker_url)
        self._publisher = Publisher(settings.resolved_broker_url)
        services = build_services(
            settings, self.runtime.sessions, self.runtime.contracts, self._publisher
        )
        self.registry = PartnerRegistry(self.runtime.sessions, SecretHasher(load_pepper(settings)))
        self.server = LoopbackServer(create_app(services)).start()
        self.url = self.server.url
        self._results: list[dict[str, Any]] = []

    @property
    def portal(self) -> InvestEasySimulator:
        simulator: InvestEasySimulator = self.runtime.simulators["investeasy"].simulator
        return simulator

    @property
    def isnad(self) -> IsnadSimulator:
        simulator: IsnadSimulator = self.runtime.simulators["isnad"].simulator
        return simulator

    def partner(self, *grants: str) -> str:
        """A new partner's secret, with these grants."""
        _, secret = self.registry.add(f"p-{uuid.uuid4().hex[:10]}", list(grants))
        return secret

    def results(self, type_: str, count: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """The first `count` results of `type_` on municipal.out (every result is kept)."""

        def enough() -> list[dict[str, Any]]:
            self._results.extend(self.backend.take_at_least(1, timeout_s=0.2))
            found = [r for r in self._results if r["type"] == type_]
            return found if len(found) >= count else []

        return wait_until(enough, f"{count} x {type_}", timeout_s)

    def all_results(self, type_: str, settle_s: float = 1.0) -> list[dict[str, Any]]:
        """Every result of `type_` so far, after a quiet moment (to see a duplicate)."""
        self._results.extend(self.backend.results(0, timeout_s=settle_s))
        return [r for r in self._results if r["type"] == type_]

    def message(self, type_: str, status: str) -> Message | None:
        with self.runtime.sessions() as session:
            return session.scalars(
                select(Message).where(Message.type == type_, Message.status == status)
            ).first()

    def audit(self, kind: str) -> list[AuditEntry]:
        with self.runtime.sessions() as session:
            return list(session.scalars(select(AuditEntry).where(AuditEntry.kind == kind)))

    def rows(self, table: Any, **where: Any) -> list[Any]:
        with self.runtime.sessions() as session:
            return list(session.scalars(select(table).filter_by(**where)))

    def cli(self, *args: str) -> tuple[int, str]:
        """A `hub` command in a process of its own (as an operator runs it; in this process
        the CLI would point the logs at a stream it then closes), on this hub's store and
        broker."""
        env = hub_env(
            self.settings.data_dir,
            HUB_DATABASE_URL=self.settings.resolved_database_url,
            HUB_BROKER_URL=self.settings.resolved_broker_url,
        )
        done = run_cli(env, *args)
        return done.returncode, done.stdout + done.stderr

    def close(self) -> None:
        self.server.stop()
        self.worker.stop()
        self.backend.close()
        self._publisher.close()
        self.runtime.close()


def start(settings: Settings) -> Iterator[InvestIsnadHub]:
    hub = InvestIsnadHub(settings)
    try:
        yield hub
    finally:
        hub.close()


def application(e: world.Establishment, **changes: Any) -> dict[str, Any]:
    """An approval request for an establishment of the simulated world."""
    body: dict[str, Any] = {
        "application_ref": f"IE-2026-{next(_serial):06d}",
        "cr_no": e.cr_no,
        "activities": [e.licence_activity.code],
        "location": {
            "premises_id": e.premises_id,
            "wilayat": e.wilayat,
            "electricity_account": e.account_no,
        },
        "applicant": {"name_en": e.owners[0].name_en, "name_ar": e.owners[0].name_ar},
        "declared_area_m2": 120,
    }
    return body | changes


def healthy_without_inspection() -> world.Establishment:
    """A healthy establishment whose activity needs no inspection."""
    return next(e for e in world.healthy() if e.licence_activity.code not in INSPECTION_ACTIVITIES)


def tender(ref: str, min_grade: int = 3) -> dict[str, Any]:
    return {
        "tender_ref": ref,
        "title": {
            "en": "Resurfacing of internal roads in Al Khuwair",
            "ar": "إعادة رصف الطرق الداخلية في الخوير",
        },
        "category": "construction",
        "closing_date": (date.today() + timedelta(days=40)).isoformat(),
        "estimated_value_omr": "480000.000",
        "min_chamber_grade": min_grade,
    }


def award(e: world.Establishment, amount: str = "452300.000") -> dict[str, Any]:
    return {"cr_no": e.cr_no, "company": {"en": e.name_en, "ar": e.name_ar}, "amount_omr": amount}
