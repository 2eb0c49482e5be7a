"""licence.renewal.requested / licence.issue.requested: the five agency checks run
concurrently, the rule in `licence_rules` decides, the licence record is created or updated,
and the result carries one line per check."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from hub.contracts.envelope import CloudEvent
from hub.documents.desk import DocumentDesk
from hub.flows.base import Agencies, Results
from hub.flows.documents import deliver, trade_licence
from hub.flows.licence_rules import LicenceDecision, LicenceFacts, decide_licence
from hub.flows.payment_billing import Bill, PaymentBilling, bill, billing_for
from hub.flows.payment_rules import licence_renewal_fee
from hub.messages.unit_of_work import UnitOfWork
from hub.store.tables import TradeLicence

LICENCE_NO_PREFIX = "MCT-TL-"
NEW_LICENCE_BASE = 100_000  # new licences are numbered after the legacy register's range


async def gather_licence_facts(event: CloudEvent, agencies: Agencies) -> LicenceFacts:
    """Ask all five agencies at once (`Agencies.ask_all` says how failures decide): a refusal
    fails the case, an agency that cannot answer now makes it wait."""
    data = event.data
    cr = {"cr_no": data["cr_no"]}
    premises = data["premises"]
    registration, membership, labour, civil_defence, electricity = await agencies.ask_all(
        ("moci", "commercial_registration", cr),
        ("occi", "chamber_membership", cr),
        ("labour", "labour_standing", cr),
        ("rop", "civil_defence_certificate", {"premises_id": premises["premises_id"]}),
        ("electricity", "account_standing", {"account_no": premises["electricity_account"]}),
    )
    return LicenceFacts(registration, membership, labour, civil_defence, electricity)


def _today() -> date:
    return datetime.now(UTC).date()


def licence_snapshot(licence: TradeLicence | None) -> dict[str, Any] | None:
    if licence is None:
        return None
    return {
        "licence_no": licence.licence_no,
        "cr_no": licence.cr_no,
        "status": licence.status,
        "expiry": licence.expiry.isoformat() if licence.expiry else None,
        "activities": licence.activities,
    }


def _decide(
    event: CloudEvent, facts: LicenceFacts, activities: list[str], current_expiry: date | None
) -> LicenceDecision:
    data = event.data
    return decide_licence(
        facts,
        cr_no=data["cr_no"],
        activities=activities,
        premises_id=data["premises"]["premises_id"],
        account_no=data["premises"]["electricity_account"],
        current_expiry=current_expiry,
        today=_today(),
    )


def _names(facts: LicenceFacts) -> tuple[str, str] | None:
    if facts.registration.get("found"):
        registration = facts.registration["registration"]
        return registration["name_en"], registration["name_ar"]
    return None


def _new_licence(
    licence_no: str, cr_no: str, facts: LicenceFacts, activities: list[str], status: str
) -> TradeLicence:
    """A licence row the hub starts, under the names MOCI gives the establishment (blank when
    MOCI has no registration to name it by)."""
    names = _names(facts) or ("", "")
    return TradeLicence(
        licence_no=licence_no,
        cr_no=cr_no,
        name_en=names[0],
        name_ar=names[1],
        activities=activities,
        status=status,
    )


def _record_checks(licence: TradeLicence, event: CloudEvent, decision: LicenceDecision) -> None:
    """What every decision leaves on the licence, approved or not: the request's CR and
    premises, the checks it was decided on and the case they belong to."""
    licence.cr_no = event.data["cr_no"]
    licence.premises = dict(event.data["premises"])
    licence.last_checks = [line.as_dict() for line in decision.lines]
    licence.correlationid = event.correlation


def _result(data: dict[str, Any], decision: LicenceDecision, facts: LicenceFacts) -> dict[str, Any]:
    result: dict[str, Any] = {
        "cr_no": data["cr_no"],
        "decision": "approved" if decision.approved else "rejected",
        "checks": [line.as_dict() for line in decision.lines],
    }
    if decision.new_expiry:
        result["expiry"] = decision.new_expiry.isoformat()
    names = _names(facts)
    if names:
        result["name_en"], result["name_ar"] = names
    return result


class LicenceRenewalFlow:
    """Renew a trade licence when every agency check passes; with `billing`, an approved
    renewal waits for its fee (`awaiting-payment`) and the paid payment renews it."""

    handles = "licence.renewal.requested"
    results: tuple[str, ...] = ("licence.renewal.completed",)

    def __init__(
        self, billing: PaymentBilling | None = None, documents: DocumentDesk | None = None
    ) -> None:
        self.billing = billing_for(billing, "licence-renewal")
        self.documents = documents  # signs the renewed licence's PDF when configured

    async def gather(self, event: CloudEvent, agencies: Agencies) -> LicenceFacts:
        return await gather_licence_facts(event, agencies)

    def apply(
        self, event: CloudEvent, facts: LicenceFacts, uow: UnitOfWork, results: Results
    ) -> None:
        data = event.data
        licence = uow.records.licence(data["licence_no"])
        before = licence_snapshot(licence)
        activities = data.get("activities") or (licence.activities if licence else [])
        decision = _decide(event, facts, list(activities), licence.expiry if licence else None)
        renewed_now = False
        if licence is None:
            # A licence the register predates: the renewal brings it into the hub's records.
            licence = _new_licence(
                data["licence_no"], data["cr_no"], facts, list(activities), status="pending"
            )
            uow.records.add(licence)
        if decision.approved and self.billing is not None and decision.new_expiry:
            licence.status = "awaiting-payment"
            fee = licence_renewal_fee(len(activities))
            renews_to = {"new_expiry": decision.new_expiry.isoformat()}
            due = Bill("licence-renewal", licence.licence_no, fee, data["cr_no"], renews_to)
            bill(self.billing, event, due, uow, results)
        elif decision.approved:
            licence.status, licence.expiry = "active", decision.new_expiry
            renewed_now = True
        elif licence.status != "active" or (licence.expiry and licence.expiry < _today()):
            licence.status = "renewal-rejected"
        _record_checks(licence, event, decision)
        uow.records.save()
        uow.record_changed("trade_licence", licence.licence_no, before, licence_snapshot(licence))
        if renewed_now:  # a billed renewal gets its document when the fee is paid
            deliver(self.documents, uow, trade_licence(licence, renewed=True))
        result = {"licence_no": data["licence_no"], **_result(data, decision, facts)}
        uow.emit(results.event("licence.renewal.completed", result))


class LicenceIssueFlow:
    """Issue a new trade licence when every agency check passes."""

    handles = "licence.issue.requested"
    results: tuple[str, ...] = ("licence.issue.completed",)

    def __init__(self, documents: DocumentDesk | None = None) -> None:
        self.documents = documents  # signs the new licence's PDF when configured

    async def gather(self, event: CloudEvent, agencies: Agencies) -> LicenceFacts:
        return await gather_licence_facts(event, agencies)

    def apply(
        self, event: CloudEvent, facts: LicenceFacts, uow: UnitOfWork, results: Results
    ) -> None:
        data = event.data
        decision = _decide(event, facts, list(data["activities"]), None)
        result = {"application_no": data["application_no"], **_result(data, decision, facts)}
        if decision.approved:
            licence = _new_licence(
                f"pending-{event.id}"[:40],
                data["cr_no"],
                facts,
                list(data["activities"]),
                status="active",
            )
            licence.expiry = decision.new_expiry
            _record_checks(licence, event, decision)
            uow.records.add(licence)
            uow.records.save()  # the row's id numbers the licence
            licence.licence_no = f"{LICENCE_NO_PREFIX}{NEW_LICENCE_BASE + licence.id:06d}"
            uow.record_changed("trade_licence", licence.licence_no, None, licence_snapshot(licence))
            deliver(self.documents, uow, trade_licence(licence, renewed=False))
            result["licence_no"] = licence.licence_no
        uow.emit(results.event("licence.issue.completed", result))
