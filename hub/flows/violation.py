"""violation.parking.paid -> ROP is told the violation is settled -> violation.parking.settled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.contracts.envelope import CloudEvent
from hub.flows.base import Agencies, Results
from hub.messages.unit_of_work import UnitOfWork
from hub.store.tables import ParkingViolation


class ViolationPaidFlow:
    """Settle a paid parking fine with ROP and record it."""

    handles = "violation.parking.paid"
    results: tuple[str, ...] = ("violation.parking.settled",)

    async def gather(self, event: CloudEvent, agencies: Agencies) -> dict[str, Any]:
        data = event.data
        return dict(
            await agencies.ask(
                "rop",
                "parking_violation_settled",
                {
                    "violation_no": data["violation_no"],
                    "plate_number": data["plate"]["number"],
                    "plate_code": data["plate"]["code"],
                    "amount_omr": data["amount_omr"],
                    "payment_reference": data["payment_reference"],
                },
            )
        )

    def apply(
        self, event: CloudEvent, facts: dict[str, Any], uow: UnitOfWork, results: Results
    ) -> None:
        data = event.data
        violation = uow.records.violation(data["violation_no"])
        before = {"status": violation.status} if violation else None
        if violation is None:
            violation = ParkingViolation(violation_no=data["violation_no"])
            uow.records.add(violation)
        violation.plate_number, violation.plate_code = (
            data["plate"]["number"],
            data["plate"]["code"],
        )
        violation.amount, violation.payment_reference = (
            data["amount_omr"],
            data["payment_reference"],
        )
        violation.correlationid = event.correlation
        result: dict[str, Any] = {"violation_no": data["violation_no"]}
        if facts.get("found"):
            violation.status = "settled"
            violation.settled_at = datetime.fromisoformat(facts["settled_at"])
            result |= {
                "outcome": "settled",
                "settlement_reference": facts["settlement_reference"],
                "settled_at": facts["settled_at"],
            }
        else:
            violation.status = "paid-unknown-to-rop"
            number = data["violation_no"]
            result |= {
                "outcome": "not-found",
                "reason": {
                    "code": "violation-not-found",
                    "en": f"ROP does not know violation {number}.",
                    "ar": f"المخالفة {number} غير مسجلة لدى شرطة عمان السلطانية.",
                },
            }
        uow.records.save()
        uow.record_changed(
            "parking_violation", violation.violation_no, before, {"status": violation.status}
        )
        uow.emit(results.event("violation.parking.settled", result))
