"""permit.parking.requested -> ROP vehicle inquiry -> permit issued or refused -> result."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from hub.envelope import CloudEvent
from hub.flows.base import Agencies, Results
from hub.flows.parking_rules import decide_parking
from hub.store.tables import ParkingPermit
from hub.store.uow import UnitOfWork

PERMIT_NO_PREFIX = "MCT-PK-"


def permit_snapshot(permit: ParkingPermit | None) -> dict[str, Any] | None:
    """The record as the audit trail keeps it before and after a change."""
    if permit is None:
        return None
    return {
        "application_no": permit.application_no,
        "permit_no": permit.permit_no,
        "plate": f"{permit.plate_number} {permit.plate_code}",
        "civil_id": permit.civil_id,
        "zone": permit.zone,
        "months": permit.months,
        "status": permit.status,
        "valid_from": permit.valid_from.isoformat() if permit.valid_from else None,
        "valid_until": permit.valid_until.isoformat() if permit.valid_until else None,
    }


class ParkingPermitFlow:
    """Issue or refuse a parking permit on the vehicle register's word."""

    handles = "permit.parking.requested"
    results: tuple[str, ...] = ("permit.parking.completed",)

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
        plate = f"{data['plate']['number']} {data['plate']['code']}"
        vehicle = facts.get("vehicle") if facts.get("found") else None
        decision = decide_parking(
            plate=plate,
            applicant_civil_id=data["civil_id"],
            months=data["months"],
            vehicle=vehicle,
            today=datetime.now(UTC).date(),
        )
        session = uow.session
        permit = session.execute(
            select(ParkingPermit).where(ParkingPermit.application_no == data["application_no"])
        ).scalar_one_or_none()
        before = permit_snapshot(permit)
        if permit is None:
            permit = ParkingPermit(application_no=data["application_no"])
            session.add(permit)
        permit.plate_number, permit.plate_code = data["plate"]["number"], data["plate"]["code"]
        permit.civil_id, permit.zone, permit.months = data["civil_id"], data["zone"], data["months"]
        permit.status = "issued" if decision.issued else "refused"
        permit.reasons = [r.as_dict() for r in decision.reasons]
        permit.valid_from, permit.valid_until = decision.valid_from, decision.valid_until
        permit.correlationid = event.correlation
        if decision.issued and vehicle is not None:
            permit.owner_name_en = vehicle["owner"]["name_en"]
            permit.owner_name_ar = vehicle["owner"]["name_ar"]
        session.flush()
        if decision.issued and permit.permit_no is None:
            permit.permit_no = f"{PERMIT_NO_PREFIX}{permit.id:07d}"
        uow.audit(
            "record.changed",
            record="parking_permit",
            key=permit.application_no,
            before=before,
            after=permit_snapshot(permit),
        )
        result: dict[str, Any] = {
            "application_no": data["application_no"],
            "decision": permit.status,
            "plate": dict(data["plate"]),
            "zone": data["zone"],
            "months": data["months"],
            "reasons": permit.reasons,
        }
        if decision.issued:
            result["permit_no"] = permit.permit_no
            result["valid_from"] = permit.valid_from.isoformat() if permit.valid_from else None
            result["valid_until"] = permit.valid_until.isoformat() if permit.valid_until else None
        uow.emit(results.event("permit.parking.completed", result))
