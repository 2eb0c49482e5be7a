"""The partner endpoints served for a test: the real app on a loopback uvicorn server over a
SQLite store and an embedded broker in a temporary folder, with a queue bound to municipal.in
so a test can see what a push published."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from kombu.connection import Connection
from kombu.entity import Queue
from kombu.simple import SimpleQueue
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import hub.bus  # noqa: F401  (the embedded transport's URL alias)
from hub.api.app import build_services, create_app
from hub.api.mtls import server_tls
from hub.api.partners import PartnerRegistry, SecretHasher, load_pepper
from hub.bus.publisher import Publisher
from hub.bus.topology import IN_EXCHANGE
from hub.config import Settings, load_settings
from hub.contracts.registry import ContractRegistry
from hub.serving import LoopbackServer
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.tables import (
    AuditEntry,
    Base,
    BuildingPermit,
    OutboxEvent,
    ParkingPermit,
    TradeLicence,
)


class PartnerHub:
    """One served app and what a test needs around it; `close()` stops everything."""

    def __init__(self, root: Path, **overrides: Any) -> None:
        root.mkdir(parents=True, exist_ok=True)
        defaults: dict[str, Any] = {
            "data_dir": root,
            "database_url": f"sqlite:///{root / 'hub.sqlite3'}",
            "broker_url": f"embedded+sqlite:///{root / 'broker.sqlite3'}",
            "partner_pepper": "test-pepper",
            # Tests refuse credentials many times from one loopback address on purpose; the
            # throttle itself is tested in tests/security/test_auth_throttle.py.
            "auth_fail_limit": 10_000,
        }
        self.settings: Settings = load_settings(**(defaults | overrides))
        self.engine = make_engine(self.settings.resolved_database_url)
        upgrade(self.engine)
        self.sessions: sessionmaker[Session] = make_session_factory(self.engine)
        broker = self.settings.resolved_broker_url
        self._conn = Connection(broker)
        queue = Queue(f"test.in.{uuid.uuid4().hex[:8]}", exchange=IN_EXCHANGE, routing_key="#")
        queue(self._conn.default_channel).declare()
        self._inbound = SimpleQueue(self._conn.channel(), queue)
        self._publisher = Publisher(broker)
        services = build_services(
            self.settings, self.sessions, ContractRegistry.load(), self._publisher
        )
        self.registry = PartnerRegistry(self.sessions, SecretHasher(load_pepper(self.settings)))
        # HTTPS with client certificates when the data folder holds a CA (`hub pki init`)
        tls = server_tls(self.settings)
        self.server = LoopbackServer(create_app(services), tls=tls).start()

    @property
    def url(self) -> str:
        return self.server.url

    def partner(self, *grants: str, rate_limit: int | None = None) -> tuple[str, str]:
        """A new partner with these grants: (name, secret)."""
        name = f"p-{uuid.uuid4().hex[:10]}"
        _, secret = self.registry.add(name, list(grants), rate_limit=rate_limit)
        return name, secret

    def insert(self, *rows: Base) -> None:
        with self.sessions.begin() as session:
            session.add_all(rows)

    def audit(self, kind: str | None = None, partner: str | None = None) -> list[AuditEntry]:
        with self.sessions() as session:
            query = select(AuditEntry).order_by(AuditEntry.seq)
            if kind is not None:
                query = query.where(AuditEntry.kind == kind)
            entries = list(session.scalars(query))
        if partner is not None:
            entries = [e for e in entries if e.detail.get("partner") == partner]
        return entries

    def outbox_count(self) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(OutboxEvent)) or 0)

    def next_published(self, type_: str, timeout_s: float = 10.0) -> dict[str, Any]:
        """The next CloudEvent of `type_` published to municipal.in (others are skipped; a
        test fails with `Empty` when none comes in time)."""
        for _ in range(100):
            message = self._inbound.get(block=True, timeout=timeout_s)
            message.ack()
            event: dict[str, Any] = json.loads(message.body)
            if event["type"] == type_:
                return event
        raise AssertionError(f"no {type_} among the last 100 events")

    def close(self) -> None:
        self.server.stop()
        self._inbound.close()
        self._publisher.close()
        self._conn.release()
        self.engine.dispose()

    def __enter__(self) -> PartnerHub:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def licence(licence_no: str, cr_no: str = "1043217", **fields: Any) -> TradeLicence:
    values: dict[str, Any] = {
        "licence_no": licence_no,
        "cr_no": cr_no,
        "name_en": "Al Noor Trading LLC",
        "name_ar": "شركة النور للتجارة ش.م.م",
        "activities": [{"code": "471101", "name_en": "General trading", "name_ar": "تجارة عامة"}],
        "premises": {"premises_id": "MCT-PR-00123", "wilayat": "Bawshar"},
        "status": "active",
        "expiry": date(2027, 11, 30),
        "correlationid": str(uuid.uuid4()),
    }
    return TradeLicence(**(values | fields))


def building_permit(permit_no: str, **fields: Any) -> BuildingPermit:
    values: dict[str, Any] = {
        "permit_no": permit_no,
        "owner_civil_id": "09123456",
        "owner_name_en": "Salim bin Hamad Al Harthy",
        "owner_name_ar": "سالم بن حمد الحارثي",
        "plot_no": "2/1457",
        "wilayat": "Seeb",
        "load_kva": 60,
        "status": "electricity-connected",
        "electricity_request_no": f"NC-{permit_no}",
        "connected_at": datetime(2026, 11, 28, 5, 15, tzinfo=UTC),
        "correlationid": str(uuid.uuid4()),
    }
    return BuildingPermit(**(values | fields))


def parking_permit(application_no: str, plate: tuple[str, str], **fields: Any) -> ParkingPermit:
    values: dict[str, Any] = {
        "application_no": application_no,
        "permit_no": f"MCT-PK-{application_no[-7:]}",
        "plate_number": plate[0],
        "plate_code": plate[1],
        "civil_id": "09123456",
        "zone": "qurum",
        "months": 6,
        "status": "issued",
        "owner_name_en": "Salim bin Hamad Al Harthy",
        "owner_name_ar": "سالم بن حمد الحارثي",
        "valid_from": date(2026, 11, 29),
        "valid_until": date(2027, 5, 28),
        "correlationid": str(uuid.uuid4()),
    }
    return ParkingPermit(**(values | fields))
