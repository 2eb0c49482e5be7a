"""Building permits and their electricity: permit.building.issued -> the electricity company's
new-connection request -> permit.building.electricity-requested; later the company's
ConnectionCompleted push -> permit.building.electricity-connected."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.contracts.envelope import CloudEvent
from hub.documents.desk import DocumentDesk
from hub.flows.base import Agencies, Results
from hub.flows.documents import building_permit, deliver
from hub.flows.payment_billing import Bill, PaymentBilling, bill, billing_for
from hub.flows.payment_rules import building_permit_fee
from hub.messages.unit_of_work import UnitOfWork
from hub.store.tables import BuildingPermit


def permit_snapshot(permit: BuildingPermit | None) -> dict[str, Any] | None:
    if permit is None:
        return None
    return {
        "permit_no": permit.permit_no,
        "status": permit.status,
        "electricity_request_no": permit.electricity_request_no,
        "connected_at": permit.connected_at.isoformat() if permit.connected_at else None,
    }


AWAITING_PAYMENT = "awaiting-payment"


class BuildingPermitIssuedFlow:
    """File the new-connection request for a freshly issued building permit; with `billing`,
    the permit first waits for its fee (`awaiting-payment`), and the paid payment sends
    permit.building.paid, whose flow (BuildingPermitPaidFlow) files the request."""

    handles = "permit.building.issued"
    results: tuple[str, ...] = ("permit.building.electricity-requested",)

    def __init__(
        self, billing: PaymentBilling | None = None, documents: DocumentDesk | None = None
    ) -> None:
        """`documents` signs a newly issued permit's PDF; a billed one's is signed when it is
        paid (payment_completion), so the paid flow below has none."""
        self.billing = billing_for(billing, "building-permit")
        self.documents = documents

    async def gather(self, event: CloudEvent, agencies: Agencies) -> dict[str, Any]:
        if self.billing is not None:
            return {}  # nothing is asked of the electricity company before the fee is paid
        data = event.data
        owner = data["owner"]
        return dict(
            await agencies.ask(
                "electricity",
                "new_connection_request",
                {
                    "permit_no": data["permit_no"],
                    "owner_civil_id": owner["civil_id"],
                    "owner_name_en": owner["name_en"],
                    "owner_name_ar": owner["name_ar"],
                    "plot_no": data["plot_no"],
                    "wilayat": data["wilayat"],
                    "load_kva": data["load_kva"],
                },
            )
        )

    def apply(
        self, event: CloudEvent, facts: dict[str, Any], uow: UnitOfWork, results: Results
    ) -> None:
        data = event.data
        permit = uow.records.building_permit(data["permit_no"])
        before = permit_snapshot(permit)
        if permit is None:
            permit = BuildingPermit(permit_no=data["permit_no"])
            uow.records.add(permit)
        owner = data["owner"]
        permit.owner_civil_id = owner["civil_id"]
        permit.owner_name_en, permit.owner_name_ar = owner["name_en"], owner["name_ar"]
        permit.plot_no, permit.wilayat, permit.load_kva = (
            data["plot_no"],
            data["wilayat"],
            data["load_kva"],
        )
        permit.correlationid = event.correlation
        if self.billing is not None:
            if permit.status is None:  # a permit seen again keeps the state it reached
                permit.status = AWAITING_PAYMENT
                fee = building_permit_fee(data["load_kva"])
                due = Bill("building-permit", permit.permit_no, fee, owner["civil_id"], dict(data))
                bill(self.billing, event, due, uow, results)
            uow.records.save()
            uow.record_changed("building_permit", permit.permit_no, before, permit_snapshot(permit))
            return
        if permit.status != "electricity-connected":
            permit.status = "electricity-requested"
        permit.electricity_request_no = facts["request_no"]
        uow.records.save()
        uow.record_changed("building_permit", permit.permit_no, before, permit_snapshot(permit))
        if before is None:  # issued now; a permit seen again keeps the document it has
            deliver(self.documents, uow, building_permit(permit))
        result = {"permit_no": permit.permit_no, "request_no": facts["request_no"]}
        if facts.get("expected_connection_date"):
            result["expected_connection_date"] = facts["expected_connection_date"]
        uow.emit(results.event("permit.building.electricity-requested", result))


class BuildingPermitPaidFlow(BuildingPermitIssuedFlow):
    """The fee of a billed building permit is paid: file its new-connection request now."""

    handles = "permit.building.paid"

    def __init__(self) -> None:
        super().__init__(None)


class ConnectionCompletedFlow:
    """The electricity company connected a permit's premises: record it and tell the
    municipality. A push about a permit the hub does not know is kept, audited, unanswered.
    The result carries the permit's case id (the push is only its cause), so a backend
    following its own case sees the connection; the stored case id is kept."""

    handles = "electricity.connection.completed"
    results: tuple[str, ...] = ("permit.building.electricity-connected",)

    async def gather(self, event: CloudEvent, agencies: Agencies) -> None:
        return None

    def apply(self, event: CloudEvent, facts: None, uow: UnitOfWork, results: Results) -> None:
        data = event.data
        permit = uow.records.building_permit(data["permit_no"])
        if permit is None:
            uow.audit("push.unmatched", record="building_permit", key=data["permit_no"])
            return
        before = permit_snapshot(permit)
        permit.status = "electricity-connected"
        permit.electricity_request_no = permit.electricity_request_no or data["request_no"]
        permit.connected_at = datetime.fromisoformat(data["connected_at"])
        uow.records.save()
        uow.record_changed("building_permit", permit.permit_no, before, permit_snapshot(permit))
        uow.emit(
            results.event(
                "permit.building.electricity-connected",
                {
                    "permit_no": permit.permit_no,
                    "request_no": data["request_no"],
                    "meter_no": data["meter_no"],
                    "connected_at": data["connected_at"],
                },
                case=permit.correlationid,
            )
        )
