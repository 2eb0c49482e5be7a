"""What a business flow is: gather facts from agencies (async, outside any transaction), then
apply the decision to the records inside the unit of work."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from hub.agencies.connector import CallContext
from hub.agencies.gateway import AgencyGateway, CallLog
from hub.contracts.envelope import CloudEvent
from hub.errors import AgencyError, CircuitOpen, PermanentAgencyError, TransientAgencyError
from hub.messages.results import Results
from hub.messages.unit_of_work import UnitOfWork

__all__ = ["Agencies", "Ask", "Flow", "Results"]

Ask = tuple[str, str, Mapping[str, Any]]  # agency, operation, request


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

    async def ask_all(self, *asks: Ask) -> list[Mapping[str, Any]]:
        """Ask several agencies at once (structured: no call outlives this one); the replies
        in the order asked. How failures decide, the same whatever order they arrive in:

        - A permanent failure (a refusal, a reply that breaks its contract) is decisive: the
          other calls are cancelled at once (each cancelled attempt is recorded) and it is
          raised. A bug (any error that is not an AgencyError) cancels the rest the same way.
        - A transient failure is not decisive: the other calls run to their end, so that a
          permanent failure among them still decides, and their answers can be kept for the
          retry. Then one classification over every failure gathered: permanent wins over
          transient, and a real transient failure over a circuit holding a call back; among
          failures of one kind the first in asking order is raised (of circuits, the one whose
          trial call comes last, so the retry finds every circuit ready for it).
        """
        failures: dict[int, AgencyError] = {}

        async def one(index: int, agency: str, operation: str, request: Mapping[str, Any]) -> Any:
            try:
                return await self.ask(agency, operation, request)
            except AgencyError as exc:
                failures[index] = exc
                if isinstance(exc, TransientAgencyError):
                    return None  # not decisive: let the others finish
                raise

        decided: BaseException | None = None
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(i, *ask)) for i, ask in enumerate(asks)]
        except BaseExceptionGroup as raised:
            bugs = [e for e in raised.exceptions if not isinstance(e, AgencyError)]
            decided = bugs[0] if bugs else _deciding(failures)
        if decided is None and failures:
            decided = _deciding(failures)
        if decided is not None:
            raise decided  # outside the handler: the error keeps its own cause, not the group
        return [task.result() for task in tasks]


def _deciding(failures: Mapping[int, AgencyError]) -> AgencyError:
    """The one failure that decides a fan-out, by kind, then by asking order."""
    in_order = [failures[i] for i in sorted(failures)]
    for kind in (PermanentAgencyError, AgencyError):
        found = [e for e in in_order if isinstance(e, kind) and not isinstance(e, CircuitOpen)]
        if found:
            return found[0]
    held = [e for e in in_order if isinstance(e, CircuitOpen)]
    return max(held, key=lambda e: e.retry_after or 0.0)


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
