"""What agencies tell the hub on their own, and what it changes:

- MOCI cancels or suspends a commercial registration -> every active licence of that CR is
  suspended -> one licence.suspended per licence (and the Invest Easy portal is told of a
  licence issued through it).
- ROP reports a vehicle's ownership transferred -> every issued parking permit of that plate
  held by the former owner is flagged -> one permit.parking.flagged per permit.
"""

from __future__ import annotations

from hub.contracts.envelope import CloudEvent
from hub.flows.base import Agencies, Results
from hub.flows.investeasy import tell_portal_suspended
from hub.flows.licence import licence_snapshot
from hub.flows.parking import permit_snapshot
from hub.messages.unit_of_work import UnitOfWork

SUSPENDING_CR_STATUSES = {
    "cancelled": ("cr-cancelled", "cancelled", "ألغت"),
    "suspended": ("cr-suspended", "suspended", "أوقفت"),
}


class CrStatusChangedFlow:
    """Suspend the licences of a CR that MOCI cancelled or suspended."""

    handles = "moci.cr.status-changed"
    results: tuple[str, ...] = ("licence.suspended",)

    async def gather(self, event: CloudEvent, agencies: Agencies) -> None:
        return None

    def apply(self, event: CloudEvent, facts: None, uow: UnitOfWork, results: Results) -> None:
        data = event.data
        suspending = SUSPENDING_CR_STATUSES.get(data["status"])
        if suspending is None:
            uow.audit("push.no-change", cr_no=data["cr_no"], status=data["status"])
            return
        code, verb_en, verb_ar = suspending
        cr_no = data["cr_no"]
        licences = uow.records.licences_of_cr(cr_no, not_status="suspended")
        for licence in licences:
            before = licence_snapshot(licence)
            licence.status = "suspended"
            licence.correlationid = event.correlation
            uow.records.save()
            uow.record_changed(
                "trade_licence", licence.licence_no, before, licence_snapshot(licence)
            )
            reason = {
                "code": code,
                "en": f"Commercial registration {cr_no} was {verb_en} by the Ministry of Commerce.",
                "ar": f"{verb_ar} وزارة التجارة والصناعة السجل التجاري {cr_no}.",
            }
            uow.emit(
                results.event(
                    "licence.suspended",
                    {
                        "licence_no": licence.licence_no,
                        "cr_no": cr_no,
                        "effective_date": data["effective_date"],
                        "reason": reason,
                        "moci_reason": data["reason"],
                    },
                    key=licence.licence_no,
                )
            )
            tell_portal_suspended(uow, results, licence.licence_no, reason, data["effective_date"])


class OwnershipTransferredFlow:
    """Flag the parking permits of a vehicle that changed owner. Each flag carries its
    permit's case id (the push is only its cause) and the permit keeps that case id."""

    handles = "rop.ownership.transferred"
    results: tuple[str, ...] = ("permit.parking.flagged",)

    async def gather(self, event: CloudEvent, agencies: Agencies) -> None:
        return None

    def apply(self, event: CloudEvent, facts: None, uow: UnitOfWork, results: Results) -> None:
        data = event.data
        plate = data["plate"]
        permits = uow.records.issued_parking_permits(
            plate["number"], plate["code"], data["old_owner_civil_id"]
        )
        day = data["transferred_at"][:10]
        text = f"{plate['number']} {plate['code']}"
        for permit in permits:
            before = permit_snapshot(permit)
            permit.status = "flagged"
            uow.records.save()
            uow.record_changed(
                "parking_permit", permit.application_no, before, permit_snapshot(permit)
            )
            uow.emit(
                results.event(
                    "permit.parking.flagged",
                    {
                        "permit_no": permit.permit_no or permit.application_no,
                        "application_no": permit.application_no,
                        "plate": dict(plate),
                        "transferred_at": data["transferred_at"],
                        "reason": {
                            "code": "ownership-transferred",
                            "en": f"Vehicle {text} changed owner on {day}.",
                            "ar": f"انتقلت ملكية المركبة {text} بتاريخ {day}.",
                        },
                    },
                    key=permit.application_no,
                    case=permit.correlationid,
                )
            )
