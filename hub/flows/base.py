"""What a business flow is: gather facts from agencies (async, outside any transaction), then
apply the decision to the records inside the unit of work."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from hub.agencies.connector import CallContext
from hub.agencies.gateway import AgencyGateway, CallLog
from hub.contracts.envelope import CloudEvent, derived_id, new_event
from hub.contracts.registry import ContractRegistry
from hub.messages.unit_of_work import UnitOfWork


class Agencies:
    """The agency calls a flow may make for one message; every attempt lands in `calls`."""

    def __init__(self, gateway: AgencyGateway, ctx: CallContext, calls: CallLog) -> None:
        self._gateway = gateway
        self._ctx = ctx
        self.calls = calls

    async def ask(
        self, agency: str, operation: str, request: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        return await self._gateway.call(agency, operation, request, self._ctx, self.calls)


class Results:
    """Builds the results a flow emits: ids derived from the cause, contracts checked."""

    def __init__(self, contracts: ContractRegistry, cause: CloudEvent) -> None:
        self._contracts = contracts
        self._cause = cause

    def event(self, type_: str, data: dict[str, Any], key: str = "") -> CloudEvent:
        """A result of `type_`; `key` tells apart several results of one type from one cause
        (one licence.suspended per licence), so each keeps a stable id across redeliveries."""
        contract = self._contracts.latest(type_)
        self._contracts.validate(contract.id, data)
        return new_event(
            type_,
            data,
            dataschema=contract.id,
            correlationid=self._cause.correlation,
            causationid=self._cause.id,
            event_id=derived_id(self._cause.id, type_, key)
            if key
            else derived_id(self._cause.id, type_),
        )


class Flow(Protocol):
    """One inbound message type's business flow."""

    handles: str
    results: tuple[str, ...]

    async def gather(self, event: CloudEvent, agencies: Agencies) -> Any:
        """Ask the agencies what the decision needs; raise AgencyError when they cannot answer."""
        ...

    def apply(self, event: CloudEvent, facts: Any, uow: UnitOfWork, results: Results) -> None:
        """Decide, change the records and emit the results, all inside `uow`."""
        ...
