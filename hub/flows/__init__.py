"""Business flows, one module each, indexed by the inbound message type they handle."""

from __future__ import annotations

from collections.abc import Iterable

from hub.documents.desk import DocumentDesk
from hub.errors import UnknownMessageType
from hub.flows.base import Agencies, Flow, Results
from hub.flows.payment_billing import PaymentBilling

__all__ = ["Agencies", "Flow", "FlowRegistry", "Results", "default_flows"]


class FlowRegistry:
    """Which flow handles which inbound type."""

    def __init__(self, flows: Iterable[Flow]) -> None:
        self._flows = {flow.handles: flow for flow in flows}

    def for_type(self, type_: str) -> Flow:
        try:
            return self._flows[type_]
        except KeyError:
            known = ", ".join(sorted(self._flows))
            raise UnknownMessageType(f"no flow handles {type_!r} (known: {known})") from None

    @property
    def types(self) -> list[str]:
        return sorted(self._flows)


def default_flows(
    billing: PaymentBilling | None = None, documents: DocumentDesk | None = None
) -> FlowRegistry:
    """Every flow of the municipal queue interface and of the agencies' pushes; `billing`
    makes decided cases that owe a fee wait for their payment; `documents` signs the PDFs of
    approved licences and issued permits (None: no documents are made)."""
    from hub.flows.agency_pushes import CrStatusChangedFlow, OwnershipTransferredFlow
    from hub.flows.building import (
        BuildingPermitIssuedFlow,
        BuildingPermitPaidFlow,
        ConnectionCompletedFlow,
    )
    from hub.flows.investeasy import (
        InvestEasyApprovalFlow,
        InvestEasyCallbackFlow,
        InvestEasyLicenceStatusFlow,
    )
    from hub.flows.licence import LicenceIssueFlow, LicenceRenewalFlow
    from hub.flows.parking import ParkingPermitFlow
    from hub.flows.payment import PaymentCreateFlow, PaymentPaidFlow, PaymentRefundFlow
    from hub.flows.payment_fine import FineDueFlow
    from hub.flows.sms_parking import SmsParkingFlow, SmsReplyFlow
    from hub.flows.tender import TenderFloatFlow, TenderStatusFlow
    from hub.flows.violation import ViolationPaidFlow

    return FlowRegistry(
        [
            ParkingPermitFlow(billing, documents),
            LicenceRenewalFlow(billing, documents),
            LicenceIssueFlow(documents),
            BuildingPermitIssuedFlow(billing, documents),
            ConnectionCompletedFlow(),
            ViolationPaidFlow(),
            CrStatusChangedFlow(),
            OwnershipTransferredFlow(),
            SmsParkingFlow(),
            SmsReplyFlow(),
            InvestEasyApprovalFlow(),
            InvestEasyCallbackFlow(),
            InvestEasyLicenceStatusFlow(),
            TenderFloatFlow(),
            TenderStatusFlow(),
            PaymentCreateFlow(),
            PaymentPaidFlow(documents),
            PaymentRefundFlow(),
            FineDueFlow(billing),
            BuildingPermitPaidFlow(),
        ]
    )
