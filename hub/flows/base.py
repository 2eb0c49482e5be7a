"""What a business flow is: gather facts from agencies (async, outside any transaction), then
apply the decision to the records inside the unit of work."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from hub.agencies.connector import CallContext
from hub.agencies.gateway import AgencyGateway, CallLog
from hub.contracts.envelope import CloudEvent
from hub.messages.results import Results
from hub.messages.unit_of_work import UnitOfWork

__all__ = ["Agencies", "Flow", "Results"]


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
