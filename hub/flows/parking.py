"""permit.parking.requested -> ROP vehicle inquiry -> permit issued or refused -> result."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hub.contracts.envelope import CloudEvent
from hub.documents.desk import DocumentDesk
from hub.flows.base import Agencies, Results
from hub.flows.documents import deliver, parking_permit
from hub.flows.parking_rules import decide_parking
from hub.flows.payment_billing import Bill, PaymentBilling, bill, billing_for
from hub.flows.payment_rules import parking_permit_fee
from hub.messages.unit_of_work import UnitOfWork
from hub.store.tables import ParkingPermit


def permit_snapshot(permit: ParkingPermit | None) -> dict[str, Any] | None:
    """The record as the audit trail keeps it before and after a change."""
    if permit is None:
        return None
    return snapshot_of({name: getattr(permit, name) for name in _SNAPSHOT_COLUMNS})


def snapshot_of(values: Mapping[Any, Any] | None) -> dict[str, Any] | None:
    """`permit_snapshot` from column values (a Core row or the values about to be written)."""
    if values is None:
        return None
    valid_from, valid_until = values["valid_from"], values["valid_until"]
    return {
        "application_no": values["application_no"],
        "permit_no": values["permit_no"],
        "plate": f"{values['plate_number']} {values['plate_code']}",
        "civil_id": values["civil_id"],
        "zone": values["zone"],
        "months": values["months"],
        "status": values["status"],
        "valid_from": valid_from.isoformat() if valid_from else None,
        "valid_until": valid_until.isoformat() if valid_until else None,
    }


_SNAPSHOT_COLUMNS = (
    "application_no",
    "permit_no",
    "plate_number",
    "plate_code",
    "civil_id",
    "zone",
    "months",
    "status",
    "valid_from",
    "valid_until",
)


AWAITING_PAYMENT = "awaiting-payment"


def issued_result(values: Mapping[str, Any], plate: Mapping[str, Any]) -> dict[str, Any]:
    """permit.parking.completed for an issued permit, from its column values."""
    valid_from, valid_until = values["valid_from"], values["valid_until"]
    return {
        "application_no": values["application_no"],
        "decision": "issued",
        "plate": dict(plate),
        "zone": values["zone"],
        "months": values["months"],
        "reasons": list(values["reasons"]),
        "permit_no": values["permit_no"],
        "valid_from": valid_from.isoformat() if valid_from else None,
        "valid_until": valid_until.isoformat() if valid_until else None,
    }


class ParkingPermitFlow:
    """Issue or refuse a parking permit on the vehicle register's word."""

    handles = "permit.parking.requested"
    results: tuple[str, ...] = ("permit.parking.completed",)

    def __init__(
        self, billing: PaymentBilling | None = None, documents: DocumentDesk | None = None
    ) -> None:
        """With `billing`, an issued permit waits for its fee (`awaiting-payment`, no number
        yet) and its permit.parking.completed follows the paid payment; `documents` signs an
        issued permit's PDF (a billed one's when it is paid)."""
        self.billing = billing_for(billing, "parking-permit")
        self.documents = documents

    async def gather(self, event: CloudEvent, agencies: Agencies) -> dict[str, Any]:
        plate = event.data["plate"]
        return dict(
            await agencies.ask(
                "rop",
                "vehicle_inquiry",
                {"plate_number": plate["number"], "plate_code": plate["code"]},
            )
        )

    def apply(
        self, event: CloudEvent, facts: dict[str, Any], uow: UnitOfWork, results: Results
    ) -> None:
        data = event.data
        now = datetime.now(UTC)
        plate = f"{data['plate']['number']} {data['plate']['code']}"
        vehicle = facts.get("vehicle") if facts.get("found") else None
        decision = decide_parking(
            plate=plate,
            applicant_civil_id=data["civil_id"],
            months=data["months"],
            vehicle=vehicle,
            today=now.date(),
        )
        values: dict[str, Any] = {
            "application_no": data["application_no"],
            "plate_number": data["plate"]["number"],
            "plate_code": data["plate"]["code"],
            "civil_id": data["civil_id"],
            "zone": data["zone"],
            "months": data["months"],
            "status": "issued" if decision.issued else "refused",
            "reasons": [r.as_dict() for r in decision.reasons],
            "valid_from": decision.valid_from,
            "valid_until": decision.valid_until,
            "correlationid": event.correlation,
            "updated_at": now,
        }
        if decision.issued and vehicle is not None:
            values["owner_name_en"] = vehicle["owner"]["name_en"]
            values["owner_name_ar"] = vehicle["owner"]["name_ar"]
        billed = decision.issued and self.billing is not None
        if billed:
            values["status"] = AWAITING_PAYMENT
        before = uow.records.write_parking_permit(
            values, issue_number=decision.issued and not billed, now=now
        )
        uow.record_changed(
            "parking_permit", data["application_no"], snapshot_of(before), snapshot_of(values)
        )
        if billed and self.billing is not None:
            fee = Bill("parking-permit", data["application_no"], parking_permit_fee(),
                       data["civil_id"], {})  # fmt: skip
            bill(self.billing, event, fee, uow, results)
            return  # permit.parking.completed follows the paid payment (payment_completion)
        result: dict[str, Any] = {
            "application_no": data["application_no"],
            "decision": values["status"],
            "plate": dict(data["plate"]),
            "zone": data["zone"],
            "months": data["months"],
            "reasons": values["reasons"],
        }
        if decision.issued:
            deliver(self.documents, uow, parking_permit(values))
            result["permit_no"] = values["permit_no"]
            result["valid_from"] = decision.valid_from.isoformat() if decision.valid_from else None
            result["valid_until"] = (
                decision.valid_until.isoformat() if decision.valid_until else None
            )
        uow.emit(results.event("permit.parking.completed", result))
