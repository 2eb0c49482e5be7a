"""Isnad tenders.

- tender.float.requested (the municipality's backend): Isnad files the tender -> the tender
  row (last relayed sequence 0) -> tender.floated with Isnad's tender number.
- isnad.tender.status-changed (Isnad's push): an award's winner is checked at MOCI, the
  Chamber and the labour register first; then the change is relayed as tender.status-changed
  once and in order per tender (`tender_rules.arrival`): an early change is held and goes out
  with the one that completes the run, a repeat is audited and relayed no second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hub.contracts.envelope import CloudEvent
from hub.flows.base import Agencies, Results
from hub.flows.tender_rules import REPEAT, arrival, award_eligibility, relayable
from hub.messages.unit_of_work import UnitOfWork
from hub.store.tables import IsnadTender, IsnadTenderChange
from hub.store.tenders import Tenders, tender_snapshot

RELAYED_TYPE = "tender.status-changed"


class TenderFloatFlow:
    """File a municipal tender with Isnad and say its tender number."""

    handles = "tender.float.requested"
    results: tuple[str, ...] = ("tender.floated",)

    async def gather(self, event: CloudEvent, agencies: Agencies) -> dict[str, Any]:
        return dict(await agencies.ask("isnad", "file_tender", event.data))

    def apply(
        self, event: CloudEvent, facts: dict[str, Any], uow: UnitOfWork, results: Results
    ) -> None:
        data = event.data
        tenders = Tenders(uow.session)
        tender = tenders.tender(facts["tender_no"])
        before = tender_snapshot(tender)
        if tender is None:
            tender = IsnadTender(tender_no=facts["tender_no"], status="filed", last_sequence=0)
        # A push that came before the filing's answer made the row; the filing names it.
        tender.tender_ref = data["tender_ref"]
        tender.title = dict(data["title"])
        tender.min_chamber_grade = data["min_chamber_grade"]
        tender.correlationid = event.correlation
        tenders.add(tender)
        uow.record_changed("isnad_tender", tender.tender_no, before, tender_snapshot(tender))
        floated = {
            "tender_ref": data["tender_ref"],
            "tender_no": facts["tender_no"],
            "title": dict(facts["title"]),
            "closing_date": data["closing_date"],
        }
        uow.emit(results.event("tender.floated", floated))


WinnerFacts = tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]] | None


class TenderStatusFlow:
    """Relay Isnad's status changes once, in order per tender; check an award's winner."""

    handles = "isnad.tender.status-changed"
    results: tuple[str, ...] = (RELAYED_TYPE,)

    async def gather(self, event: CloudEvent, agencies: Agencies) -> WinnerFacts:
        award = event.data.get("award")
        if award is None:
            return None
        cr = {"cr_no": award["cr_no"]}
        registration, membership, labour = await agencies.ask_all(
            ("moci", "commercial_registration", cr),
            ("occi", "chamber_membership", cr),
            ("labour", "labour_standing", cr),
        )
        return registration, membership, labour

    def apply(
        self, event: CloudEvent, facts: WinnerFacts, uow: UnitOfWork, results: Results
    ) -> None:
        data = event.data
        tender_no, sequence = data["tender_no"], data["sequence"]
        tenders = Tenders(uow.session)
        tender = tenders.tender(tender_no)
        if tender is None:  # a tender the hub did not float: its changes still go in order
            tender = IsnadTender(
                tender_no=tender_no,
                status="unknown",
                last_sequence=0,
                title={},
                correlationid=event.correlation,
            )
            tenders.add(tender)
        held_already = tenders.change(tender_no, sequence) is not None
        verdict = arrival(sequence, tender.last_sequence, held_already)
        if verdict == REPEAT:
            uow.audit(
                "tender.change.repeat",
                tender_no=tender_no,
                sequence=sequence,
                last_relayed=tender.last_sequence,
            )
            return
        tenders.add(
            IsnadTenderChange(
                tender_no=tender_no,
                sequence=sequence,
                status=data["status"],
                relay=self._relay(data, tender, facts),
                message_id=event.id,
            )
        )
        self._relay_run(tender, tenders, uow, results)
        if tender.last_sequence < sequence:
            uow.audit(
                "tender.change.held",
                tender_no=tender_no,
                sequence=sequence,
                waiting_for=tender.last_sequence + 1,
            )

    @staticmethod
    def _relay(data: Mapping[str, Any], tender: IsnadTender, facts: WinnerFacts) -> dict[str, Any]:
        relay = {key: data[key] for key in ("tender_no", "sequence", "status", "changed_at")}
        if tender.tender_ref:
            relay["tender_ref"] = tender.tender_ref
        for key in ("award", "note"):
            if key in data:
                relay[key] = dict(data[key])
        if facts is not None:
            registration, membership, labour = facts
            eligibility = award_eligibility(
                data["award"]["cr_no"],
                registration,
                membership,
                labour,
                min_grade=tender.min_chamber_grade,
                today=datetime.now(UTC).date(),
            )
            relay["eligibility"] = eligibility.as_dict()
        return relay

    @staticmethod
    def _relay_run(
        tender: IsnadTender, tenders: Tenders, uow: UnitOfWork, results: Results
    ) -> None:
        """Relay every held change that now follows the last relayed one, in order."""
        held = {change.sequence: change for change in tenders.held(tender.tender_no)}
        run = relayable(tender.last_sequence, list(held))
        if not run:
            return
        before = tender_snapshot(tender)
        now = datetime.now(UTC)
        for sequence in run:
            change = held[sequence]
            uow.emit(
                results.event(
                    RELAYED_TYPE,
                    dict(change.relay),
                    key=f"{tender.tender_no}:{sequence}",
                    case=tender.correlationid,
                )
            )
            change.relayed_at = now
            tender.last_sequence, tender.status = sequence, change.status
        uow.records.save()
        uow.record_changed("isnad_tender", tender.tender_no, before, tender_snapshot(tender))
