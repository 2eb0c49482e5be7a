"""The demo's Invest Easy and Isnad part. The partner endpoints are served on loopback beside
the worker; the portal (its simulator's client side) sends an application that passes every
check, one that fails the labour check, and one of them again (one case, one decision); the
municipality floats a tender on municipal.in; Isnad pushes its status changes (open, bids
closed, awarded), the award out of order; what the portal holds and what the municipality was
told are read back from the store."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import select

from connectors import world
from connectors.investeasy.simulator import InvestEasySimulator
from connectors.investeasy.simulator import submit as portal_submit
from connectors.isnad.simulator import IsnadSimulator
from connectors.isnad.simulator import send as isnad_send
from hub.api.app import build_services, create_app
from hub.api.grants import INVESTEASY_READ, INVESTEASY_SUBMIT, PUSH_ISNAD_TENDER_STATUS
from hub.api.partners import PartnerRegistry, SecretHasher, load_pepper
from hub.bus.publisher import Publisher
from hub.bus.topology import IN_EXCHANGE
from hub.contracts.envelope import new_event
from hub.flows.investeasy_rules import INSPECTION_ACTIVITIES
from hub.runtime.build import HubRuntime
from hub.serving import LoopbackServer
from hub.store.tables import InvestEasyApplication, IsnadTender, IsnadTenderChange


@dataclass
class InvestEasyCase:
    scenario: str
    body: dict[str, Any]
    case_id: str = ""
    decision: str = ""
    detail: str = ""
    reasons: list[dict[str, str]] = field(default_factory=list)


@dataclass
class TenderCase:
    tender_ref: str
    tender_no: str = ""
    relayed: list[dict[str, Any]] = field(default_factory=list)


def _application(reference: str, e: world.Establishment) -> dict[str, Any]:
    return {
        "application_ref": reference,
        "cr_no": e.cr_no,
        "activities": [e.licence_activity.code],
        "location": {
            "premises_id": e.premises_id,
            "wilayat": e.wilayat,
            "electricity_account": e.account_no,
        },
        "applicant": {"name_en": e.owners[0].name_en, "name_ar": e.owners[0].name_ar},
        "declared_area_m2": 240,
    }


class InvestEasyDemo:
    """Drives both systems' cases through a running hub (worker already started)."""

    def __init__(self, runtime: HubRuntime, run_id: str) -> None:
        self._runtime = runtime
        self._run = int(run_id, 16)
        self._suffix = run_id.lower()
        approved = next(
            e for e in world.healthy() if e.licence_activity.code not in INSPECTION_ACTIVITIES
        )
        today = datetime.now(UTC).date()
        weak = world.with_weakness("no-clearance")
        refused = next((e for e in weak if e.weaknesses_on(today) == {"no-clearance"}), weak[0])
        self.applications = [
            InvestEasyCase("all checks pass", _application(self._ref(1), approved)),
            InvestEasyCase("labour clearance withheld", _application(self._ref(2), refused)),
        ]
        self.tender = TenderCase(f"MM-TND-2026-{self._run % 10_000:04d}")
        self.winner = approved

    def _ref(self, n: int) -> str:
        return f"IE-2026-{(self._run * 10 + n) % 1_000_000:06d}"

    def run(self, timeout_s: float) -> None:
        runtime = self._runtime
        publisher = Publisher(runtime.broker_url)
        services = build_services(runtime.settings, runtime.sessions, runtime.contracts, publisher)
        registry = PartnerRegistry(runtime.sessions, SecretHasher(load_pepper(runtime.settings)))
        _, portal_key = registry.add(
            f"investeasy-{self._suffix}", [INVESTEASY_SUBMIT, INVESTEASY_READ]
        )
        _, isnad_key = registry.add(f"isnad-{self._suffix}", [PUSH_ISNAD_TENDER_STATUS])
        deadline = time.monotonic() + timeout_s
        try:
            with LoopbackServer(create_app(services)) as server:
                for case in self.applications:
                    case.case_id = portal_submit(server.url, portal_key, case.body).json()[
                        "case_id"
                    ]
                portal_submit(server.url, portal_key, self.applications[0].body)  # sent twice
                self._float(publisher)
                self.tender.tender_no = self._wait(self._tender_no, deadline) or ""
                if self.tender.tender_no:
                    self._isnad_pushes(server.url, isnad_key)
                self._wait(self._confirmed, deadline)
                self._wait(lambda: self._relayed() >= 3, deadline)
        finally:
            publisher.close()
        self._read_back()

    def _float(self, publisher: Publisher) -> None:
        data = {
            "tender_ref": self.tender.tender_ref,
            "title": {
                "en": "Resurfacing of internal roads in Al Khuwair",
                "ar": "إعادة رصف الطرق الداخلية في الخوير",
            },
            "category": "construction",
            "closing_date": (datetime.now(UTC).date() + timedelta(days=40)).isoformat(),
            "estimated_value_omr": "480000.000",
            "min_chamber_grade": 3,
        }
        contract = self._runtime.contracts.latest("tender.float.requested")
        case = f"CASE-{self.tender.tender_ref}"
        event = new_event(
            "tender.float.requested",
            data,
            dataschema=contract.id,
            correlationid=case,
            causationid=None,
        )
        publisher.publish(event.to_json(), exchange=IN_EXCHANGE, routing_key=event.type)

    def _isnad_pushes(self, url: str, key: str) -> None:
        isnad = cast(IsnadSimulator, self._runtime.simulators["isnad"].simulator)
        tender_no = self.tender.tender_no
        opened = isnad.change(tender_no, "open")
        closed = isnad.change(tender_no, "bids-closed")
        awarded = isnad.change(
            tender_no,
            "awarded",
            award={
                "cr_no": self.winner.cr_no,
                "company": {"en": self.winner.name_en, "ar": self.winner.name_ar},
                "amount_omr": "452300.000",
            },
        )
        for change in (opened, awarded, closed, opened):  # the award early, the opening twice
            isnad_send(url, key, change)

    @staticmethod
    def _wait(check: Any, deadline: float) -> Any:
        while time.monotonic() < deadline:  # bounded
            found = check()
            if found:
                return found
            time.sleep(0.1)
        return None

    def _tender_no(self) -> str | None:
        with self._runtime.sessions() as session:
            return session.scalar(
                select(IsnadTender.tender_no).where(
                    IsnadTender.tender_ref == self.tender.tender_ref
                )
            )

    def _confirmed(self) -> bool:
        refs = [case.body["application_ref"] for case in self.applications]
        with self._runtime.sessions() as session:
            rows = session.scalars(
                select(InvestEasyApplication).where(
                    InvestEasyApplication.application_ref.in_(refs),
                    InvestEasyApplication.status == "confirmed",
                )
            ).all()
        return len(rows) == len(refs)

    def _relayed(self) -> int:
        with self._runtime.sessions() as session:
            tender = session.get(IsnadTender, self.tender.tender_no)
            return tender.last_sequence if tender else 0

    def _read_back(self) -> None:
        with self._runtime.sessions() as session:
            for case in self.applications:
                row = session.get(InvestEasyApplication, case.body["application_ref"])
                if row is None:
                    case.decision = "unanswered"
                    continue
                case.decision = row.decision
                case.reasons = list(row.callback.get("reasons", []))
                if row.licence_no:
                    case.detail = f"{row.licence_no}, OMR {row.fee_omr:.3f}"
                else:
                    case.detail = ", ".join(r["code"] for r in case.reasons)
                if row.status != "confirmed":
                    case.detail += " (portal not told yet)"
            self.tender.relayed = [
                dict(change.relay)
                for change in session.scalars(
                    select(IsnadTenderChange)
                    .where(
                        IsnadTenderChange.tender_no == self.tender.tender_no,
                        IsnadTenderChange.relayed_at.is_not(None),
                    )
                    .order_by(IsnadTenderChange.sequence)
                )
            ]

    def portal_decisions(self) -> int:
        portal = cast(InvestEasySimulator, self._runtime.simulators["investeasy"].simulator)
        return len(portal.decisions)


def render_investeasy(console: Console, demo: InvestEasyDemo) -> None:
    """The Invest Easy cases and the tender's relayed changes, stored text shown as text."""
    table = Table(title="Invest Easy and Isnad")
    for column in ("system", "case", "scenario", "outcome", "detail"):
        table.add_column(column)
    for case in demo.applications:
        table.add_row(
            "Invest Easy",
            Text(case.body["application_ref"]),
            case.scenario,
            Text(case.decision),
            Text(case.detail),
        )
    tender = demo.tender
    for change in tender.relayed:
        detail = "-"
        if "eligibility" in change:
            verdict = "eligible" if change["eligibility"]["eligible"] else "not eligible"
            detail = f"{change['award']['company']['en']}: {verdict}"
        table.add_row(
            "Isnad",
            Text(tender.tender_no or tender.tender_ref),
            f"change {change['sequence']}",
            Text(change["status"]),
            Text(detail),
        )
    console.print(table)
    refused = next((c for c in demo.applications if c.reasons), None)
    if refused is not None:
        console.print("A refusal as the Invest Easy portal shows it:")
        console.print(Text(f"  {refused.reasons[0]['en']}\n  {refused.reasons[0]['ar']}"))
    console.print(
        f"Invest Easy: {len(demo.applications)} applications (one sent twice), "
        f"{demo.portal_decisions()} decisions at the portal; Isnad: {len(tender.relayed)} "
        "changes relayed in order (the award pushed early, the opening twice).",
        highlight=False,
    )
