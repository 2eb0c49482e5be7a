"""Invest Easy approvals.

- investeasy.approval.requested (the portal's request, from the partner endpoint): the five
  licence-issue checks at once, the rule in `investeasy_rules` decides, a licence is issued
  when approved, the application keeps its one decision, the municipality hears
  investeasy.approval.decided, and investeasy.callback.requested goes to municipal.in.
- investeasy.callback.requested: the decision is called back to the portal, through the retry
  ladder until confirmed (dead beyond it, then replayable); the decision sent is the stored
  one, so the portal never hears two -> investeasy.callback.confirmed.
- A licence issued through Invest Easy that the CR-status flow suspends: `tell_portal_suspended`
  queues investeasy.licence-status.requested, called to the portal the same way ->
  investeasy.licence-status.confirmed.

With a signing certificate configured, the Invest Easy client signs the body it sends (a
detached JWS over its exact bytes, docs/PARTNERS.md); the decision here stays as it is stored.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from hub.contracts.envelope import CloudEvent
from hub.flows.base import Agencies, Results
from hub.flows.dates import add_months
from hub.flows.investeasy_rules import APPROVED, ApplicationDecision, decide_application
from hub.flows.licence import LICENCE_NO_PREFIX, NEW_LICENCE_BASE, licence_snapshot
from hub.flows.licence_rules import LicenceFacts, decide_licence
from hub.messages.unit_of_work import UnitOfWork
from hub.store.applications import Applications, snapshot
from hub.store.tables import InvestEasyApplication, TradeLicence

IN_EXCHANGE = "municipal.in"  # the callback is work for the hub itself
CALLBACK_TYPE = "investeasy.callback.requested"
LICENCE_STATUS_TYPE = "investeasy.licence-status.requested"


def _today() -> date:
    return datetime.now(UTC).date()


async def gather_application_facts(event: CloudEvent, agencies: Agencies) -> LicenceFacts:
    """The licence-issue checks, asked all at once (`Agencies.ask_all` says how failures
    decide)."""
    data = event.data
    cr = {"cr_no": data["cr_no"]}
    location = data["location"]
    registration, membership, labour, civil_defence, electricity = await agencies.ask_all(
        ("moci", "commercial_registration", cr),
        ("occi", "chamber_membership", cr),
        ("labour", "labour_standing", cr),
        ("rop", "civil_defence_certificate", {"premises_id": location["premises_id"]}),
        ("electricity", "account_standing", {"account_no": location["electricity_account"]}),
    )
    return LicenceFacts(registration, membership, labour, civil_defence, electricity)


def _issue_licence(
    event: CloudEvent, facts: LicenceFacts, decision: ApplicationDecision, uow: UnitOfWork
) -> str:
    """A new active licence under MOCI's names, numbered from its row id."""
    data = event.data
    registration = facts.registration.get("registration", {})
    licence = TradeLicence(
        licence_no=f"pending-{event.id}"[:40],
        cr_no=data["cr_no"],
        name_en=registration.get("name_en", ""),
        name_ar=registration.get("name_ar", ""),
        activities=list(data["activities"]),
        premises=dict(data["location"]),
        status="active",
        expiry=add_months(_today(), 12),
        last_checks=[line.as_dict() for line in decision.lines],
        correlationid=event.correlation,
    )
    uow.records.add(licence)
    uow.records.save()  # the row's id numbers the licence
    licence.licence_no = f"{LICENCE_NO_PREFIX}{NEW_LICENCE_BASE + licence.id:06d}"
    uow.record_changed("trade_licence", licence.licence_no, None, licence_snapshot(licence))
    return licence.licence_no


def _callback(
    event: CloudEvent, decision: ApplicationDecision, licence_no: str | None
) -> dict[str, Any]:
    """The one decision the portal will be told, as the canonical callback."""
    body: dict[str, Any] = {
        "application_ref": event.data["application_ref"],
        "case_id": event.correlation,
        "decision": decision.decision,
        "reasons": [reason.as_dict() for reason in decision.reasons],
        "decided_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if licence_no is not None and decision.fee is not None:
        body["licence_no"] = licence_no
        body["fee"] = decision.fee.as_dict()
    return body


class InvestEasyApprovalFlow:
    """Decide an Invest Easy application once, and ask for the portal to be told."""

    handles = "investeasy.approval.requested"
    results: tuple[str, ...] = ("investeasy.approval.decided",)

    async def gather(self, event: CloudEvent, agencies: Agencies) -> LicenceFacts:
        return await gather_application_facts(event, agencies)

    def apply(
        self, event: CloudEvent, facts: LicenceFacts, uow: UnitOfWork, results: Results
    ) -> None:
        data = event.data
        applications = Applications(uow.session)
        if applications.get(data["application_ref"]) is not None:
            # One decision per application, whatever reaches the flow again.
            uow.audit("investeasy.already-decided", application_ref=data["application_ref"])
            return
        checks = decide_licence(
            facts,
            cr_no=data["cr_no"],
            activities=list(data["activities"]),
            premises_id=data["location"]["premises_id"],
            account_no=data["location"]["electricity_account"],
            current_expiry=None,
            today=_today(),
        )
        decision = decide_application(checks, list(data["activities"]), data["declared_area_m2"])
        licence_no = (
            _issue_licence(event, facts, decision, uow) if decision.decision == APPROVED else None
        )
        callback = _callback(event, decision, licence_no)
        application = InvestEasyApplication(
            application_ref=data["application_ref"],
            cr_no=data["cr_no"],
            status="decided",
            decision=decision.decision,
            licence_no=licence_no,
            fee_omr=decision.fee.total if decision.fee else None,
            callback=callback,
            correlationid=event.correlation,
        )
        applications.add(application)
        uow.record_changed(
            "investeasy_application", application.application_ref, None, snapshot(application)
        )
        kept = ("application_ref", "decision", "licence_no", "fee", "reasons")
        decided: dict[str, Any] = {key: callback[key] for key in kept if key in callback}
        decided |= {
            "cr_no": data["cr_no"],
            "checks": [line.as_dict() for line in decision.lines],
        }
        uow.emit(results.event("investeasy.approval.decided", decided))
        uow.emit(results.event(CALLBACK_TYPE, callback), exchange=IN_EXCHANGE)


class InvestEasyCallbackFlow:
    """Call the portal back with the stored decision; confirmed once it answers."""

    handles = CALLBACK_TYPE
    results: tuple[str, ...] = ("investeasy.callback.confirmed",)

    async def gather(self, event: CloudEvent, agencies: Agencies) -> dict[str, Any]:
        return dict(await agencies.ask("investeasy", "decision_callback", event.data))

    def apply(
        self, event: CloudEvent, facts: dict[str, Any], uow: UnitOfWork, results: Results
    ) -> None:
        reference = event.data["application_ref"]
        application = Applications(uow.session).get(reference)
        if application is not None:
            before = snapshot(application)
            application.status = "confirmed"
            application.receipt = facts["receipt"]
            application.confirmed_at = datetime.fromisoformat(facts["confirmed_at"])
            uow.records.save()
            uow.record_changed("investeasy_application", reference, before, snapshot(application))
        confirmed = {
            "application_ref": reference,
            "decision": facts["decision"],
            "receipt": facts["receipt"],
            "confirmed_at": facts["confirmed_at"],
        }
        uow.emit(results.event("investeasy.callback.confirmed", confirmed))


def tell_portal_suspended(
    uow: UnitOfWork,
    results: Results,
    licence_no: str,
    reason: dict[str, str],
    effective_date: str,
) -> None:
    """If the suspended licence was issued for an Invest Easy application, queue the portal's
    notice (in the suspending transaction, so it is sent exactly when the suspension holds)."""
    application = Applications(uow.session).by_licence(licence_no)
    if application is None:
        return
    notice = {
        "application_ref": application.application_ref,
        "case_id": application.correlationid,
        "licence_no": licence_no,
        "status": "suspended",
        "effective_date": effective_date,
        "reason": dict(reason),
    }
    uow.emit(
        results.event(LICENCE_STATUS_TYPE, notice, key=licence_no, case=application.correlationid),
        exchange=IN_EXCHANGE,
    )


class InvestEasyLicenceStatusFlow:
    """Tell the portal that a licence it was given was suspended."""

    handles = LICENCE_STATUS_TYPE
    results: tuple[str, ...] = ("investeasy.licence-status.confirmed",)

    async def gather(self, event: CloudEvent, agencies: Agencies) -> dict[str, Any]:
        return dict(await agencies.ask("investeasy", "licence_status", event.data))

    def apply(
        self, event: CloudEvent, facts: dict[str, Any], uow: UnitOfWork, results: Results
    ) -> None:
        confirmed = {
            key: facts[key] for key in ("application_ref", "licence_no", "status", "receipt")
        }
        uow.emit(results.event("investeasy.licence-status.confirmed", confirmed))
