"""The one builder of result events: a flow's results and the hub's own answers (a rejection)
alike get their contract checked, their dataschema named and an id derived from their cause."""

from __future__ import annotations

from typing import Any

from hub.contracts.envelope import CloudEvent, derived_id, new_event
from hub.contracts.registry import ContractRegistry


class Results:
    """Builds the results caused by one message: ids derived from the cause, contracts checked."""

    def __init__(
        self,
        contracts: ContractRegistry,
        cause: CloudEvent | None = None,
        *,
        cause_id: str | None = None,
        correlationid: str | None = None,
    ) -> None:
        """The cause is an event, or (for a body that was not one) its id and correlation."""
        self._contracts = contracts
        if cause is not None:
            cause_id, correlationid = cause.id, cause.correlation
        if cause_id is None or correlationid is None:
            raise ValueError("a result needs its cause: an event, or its id and correlation")
        self._cause_id = cause_id
        self._correlationid = correlationid

    def event(
        self, type_: str, data: dict[str, Any], key: str = "", *, case: str | None = None
    ) -> CloudEvent:
        """A result of `type_`; `key` tells apart several results of one type from one cause
        (one licence.suspended per licence), so each keeps a stable id across redeliveries.
        `case` is the correlation id of the case the result completes when it is not the
        cause's own (an agency's push completes a case the municipality opened)."""
        contract = self._contracts.latest(type_)
        self._contracts.validate(contract.id, data)
        return new_event(
            type_,
            data,
            dataschema=contract.id,
            correlationid=case or self._correlationid,
            causationid=self._cause_id,
            event_id=derived_id(self._cause_id, type_, key)
            if key
            else derived_id(self._cause_id, type_),
        )
