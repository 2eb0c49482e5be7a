"""What a paid payment completes, per service: the licence renewed (once: only a licence still
awaiting its payment is renewed), the permit issued (each with its signed document), the fine
handed to the existing violation flow to settle with ROP, or the word that the case was refused
meanwhile, which makes the payment due for a refund."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from hub.documents.desk import DocumentDesk
from hub.flows.base import Results
from hub.flows.building import permit_snapshot as building_snapshot
from hub.flows.documents import Make, building_permit, deliver, parking_permit, trade_licence
from hub.flows.licence import licence_snapshot
from hub.flows.parking import issued_result, snapshot_of
from hub.flows.payment_billing import IN_EXCHANGE
from hub.flows.payment_rules import as_text
from hub.messages.unit_of_work import UnitOfWork
from hub.store.tables import Payment

AWAITING_PAYMENT = "awaiting-payment"
PERMIT_COLUMNS = (
    "application_no", "plate_number", "plate_code", "civil_id", "zone", "months", "reasons",
    "valid_from", "valid_until", "correlationid", "owner_name_en", "owner_name_ar",
)  # fmt: skip


@dataclass(frozen=True)
class Completion:
    """`outcome` when the case is completed; `refused_status` when it can no longer be;
    `document`: what the completed case is delivered as (a licence, a permit)."""

    outcome: str | None = None
    expiry: str | None = None
    refused_status: str | None = None
    document: Make | None = None


def complete_licence_renewal(payment: Payment, uow: UnitOfWork, results: Results) -> Completion:
    licence = uow.records.licence(payment.case_key)
    if licence is None or licence.status != AWAITING_PAYMENT:
        return Completion(refused_status=licence.status if licence else "unknown")
    before = licence_snapshot(licence)
    expiry = str(payment.case_data["new_expiry"])
    licence.status, licence.expiry = "active", date.fromisoformat(expiry)
    uow.records.save()
    uow.record_changed("trade_licence", licence.licence_no, before, licence_snapshot(licence))
    return Completion(
        outcome="renewed", expiry=expiry, document=trade_licence(licence, renewed=True)
    )


def issue_parking_permit(payment: Payment, uow: UnitOfWork, results: Results) -> Completion:
    """An awaiting-payment permit is issued (numbered), once; its permit.parking.completed
    goes out now, as it would have at the decision without billing."""
    permit = uow.records.parking_permit(payment.case_key)
    if permit is None or permit.status != AWAITING_PAYMENT:
        return Completion(refused_status=permit.status if permit else "unknown")
    values = {column: getattr(permit, column) for column in PERMIT_COLUMNS}
    values |= {"status": "issued", "updated_at": datetime.now(UTC)}
    before = uow.records.write_parking_permit(values, issue_number=True, now=values["updated_at"])
    uow.record_changed(
        "parking_permit", permit.application_no, snapshot_of(before), snapshot_of(values)
    )
    plate = {"number": permit.plate_number, "code": permit.plate_code}
    uow.emit(results.event("permit.parking.completed", issued_result(values, plate)))
    return Completion(outcome="issued", document=parking_permit(values))


def pay_building_permit(payment: Payment, uow: UnitOfWork, results: Results) -> Completion:
    """An awaiting-payment building permit is paid: permit.building.paid (the issued permit's
    own data) files its new-connection request with the electricity company."""
    permit = uow.records.building_permit(payment.case_key)
    if permit is None or permit.status != AWAITING_PAYMENT:
        return Completion(refused_status=permit.status if permit else "unknown")
    before = building_snapshot(permit)
    permit.status = "fee-paid"
    uow.records.save()
    uow.record_changed("building_permit", permit.permit_no, before, building_snapshot(permit))
    paid = results.event("permit.building.paid", dict(payment.case_data), key=payment.reference)
    uow.emit(paid, exchange=IN_EXCHANGE)
    return Completion(outcome="issued", document=building_permit(permit))


def settle_fine(payment: Payment, uow: UnitOfWork, results: Results) -> Completion:
    """The paid fine goes to ROP through the existing flow (violation.parking.paid), now with
    a payment reference the hub verified instead of one taken on trust."""
    violation = uow.records.violation(payment.case_key)
    if violation is not None and violation.status == "settled":
        return Completion(refused_status="already settled")
    assert payment.paid_at is not None and payment.payment_id is not None
    paid = {
        "violation_no": payment.case_key,
        "plate": dict(payment.case_data["plate"]),
        "amount_omr": as_text(payment.amount),
        "payment_reference": payment.payment_id,
        "paid_at": payment.paid_at.isoformat(),
    }
    event = results.event("violation.parking.paid", paid, key=payment.reference)
    uow.emit(event, exchange=IN_EXCHANGE)
    return Completion(outcome="settling")


COMPLETIONS: dict[str, Callable[[Payment, UnitOfWork, Results], Completion]] = {
    "licence-renewal": complete_licence_renewal,
    "parking-fine": settle_fine,
    "parking-permit": issue_parking_permit,
    "building-permit": pay_building_permit,
}


def complete(
    payment: Payment, uow: UnitOfWork, results: Results, documents: DocumentDesk | None = None
) -> Completion:
    """Complete the case; a licence renewed or a permit issued by its payment gets its signed
    document now (a billed case has none at its decision)."""
    completer = COMPLETIONS.get(payment.service)
    if completer is None:
        return Completion(refused_status=f"no completion for {payment.service}")
    done = completer(payment, uow, results)
    if done.document is not None:
        deliver(documents, uow, done.document)
    return done
