"""What the hub does with one inbound message, independent of the broker that brought it:
decode, validate, let it through the inbox, ask the agencies, and commit the outcome atomically.

The store is synchronous (SQLAlchemy sessions); its transactions run in the event loop's
executor so that several deliveries can be in flight on one loop, their agency calls and
their store round trips overlapping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from hub.agencies.answers import forget_answers, keep_answers, load_answers
from hub.agencies.connector import CallContext
from hub.agencies.gateway import AgencyGateway, CallLog
from hub.audit.sealing import Checkpointer
from hub.contracts.envelope import CloudEvent, binary_attributes, is_structured, parse_message
from hub.contracts.registry import ContractRegistry, UnknownContract
from hub.errors import (
    AgencyError,
    CircuitOpen,
    EnvelopeError,
    FieldError,
    TransientAgencyError,
    UnknownMessageType,
)
from hub.flows import Agencies, Flow, FlowRegistry, Results
from hub.messages.inbox import Delivery, Inbox
from hub.messages.marker import ReplayMarker
from hub.messages.outcome import Handled, Outcome
from hub.messages.rejection import REJECTED_TYPE, Rejections
from hub.messages.settlement import AfterCommit, GroupCommit
from hub.messages.unexpected import UnexpectedErrors, is_infrastructure
from hub.messages.unit_of_work import UnitOfWork
from hub.metrics import count_message, count_retry
from hub.observability import bind_case, unbind_case
from hub.store.tables import MessageStatus

__all__ = ["REJECTED_TYPE", "Handled", "Outcome", "Pipeline"]

log = structlog.get_logger("hub.pipeline")
_OUTCOME_OF_STATUS = {
    MessageStatus.RETRYING: Outcome.RETRY,
    MessageStatus.DEAD: Outcome.DEAD,
    MessageStatus.FAILED: Outcome.FAILED,
}


class Pipeline:
    """The hub's core service: one call of `handle` per delivery; calls may overlap."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        contracts: ContractRegistry,
        flows: FlowRegistry,
        gateway: AgencyGateway,
        retry_delays_s: list[float],
        after_commit: AfterCommit | None = None,
        *,
        sealer: Checkpointer | None = None,
        max_unexpected_errors: int = 3,
    ) -> None:
        """`after_commit` publishes results as soon as they are committed (the worker's
        relay); without it they wait in the outbox for whoever publishes them. `sealer` signs
        audit checkpoints when due; a message is failed at its `max_unexpected_errors`th."""
        self._sessions = sessions
        self._contracts = contracts
        self._flows = flows
        self._gateway = gateway
        self._retry_delays_s = retry_delays_s
        self._inbox = Inbox(sessions, sealer)
        self._rejections = Rejections(sessions, contracts, sealer)
        self._settlement = GroupCommit(sessions, self._inbox, after_commit, sealer)
        self._unexpected = UnexpectedErrors(sessions, max_unexpected_errors, sealer)

    async def handle(
        self,
        body: bytes,
        replay: ReplayMarker | None = None,
        *,
        redelivered: bool = False,
        headers: Mapping[str, Any] | None = None,
        content_type: str | None = None,
    ) -> Handled:
        """`replay` marks a delivery an operator re-drove; its history and audit say so.
        `redelivered` is the broker's flag: the delivery may have been handled in part.
        `headers` and `content_type` are the message's AMQP application properties and
        content type: a binary-mode CloudEvent has its attributes there."""
        try:
            event = parse_message(body, headers, content_type)
        except EnvelopeError as exc:
            attributes = binary_attributes(headers)
            handled = await asyncio.to_thread(
                self._rejections.reject_undecodable, body, exc, attributes
            )
            count_message("undecodable", handled.outcome)
            return handled
        if binary_attributes(headers) is not None and not is_structured(content_type):
            body = event.to_json()  # stored and replayed whole, as structured mode
        bind_case(event.correlation, event.id, type=event.type)
        try:
            handled = await self._handle_event(event, body, replay, redelivered)
        finally:
            unbind_case()
        count_message(event.type, handled.outcome)
        return handled

    async def _handle_event(
        self, event: CloudEvent, body: bytes, replay: ReplayMarker | None, redelivered: bool
    ) -> Handled:
        try:
            flow = self._flows.for_type(event.type)
            contract = self._contracts.for_event(event.type, event.dataschema)
        except (UnknownMessageType, UnknownContract) as exc:
            field_name = "type" if isinstance(exc, UnknownMessageType) else "dataschema"
            errors = [FieldError(field_name, str(exc))]
            return await asyncio.to_thread(
                self._rejections.reject, event, body, "unknown-type", errors
            )
        errors = [
            FieldError(f"data.{e.field}" if e.field != "(root)" else "data", e.message)
            for e in self._contracts.errors(contract.id, event.data)
        ]
        if errors:
            return await asyncio.to_thread(self._rejections.reject, event, body, "contract", errors)
        delivery = await asyncio.to_thread(
            self._inbox.receive, event, body, contract.id, replay, redelivered
        )
        if delivery is None:
            log.info("message.duplicate")
            return Handled(Outcome.DUPLICATE, event.id)
        try:
            return await self._run_flow(event, delivery, flow)
        except Exception as exc:
            if is_infrastructure(exc):
                raise  # not the message's fault: back to the broker, not counted
            return await asyncio.to_thread(self._unexpected.record, event, delivery, exc)

    async def _run_flow(self, event: CloudEvent, delivery: Delivery, flow: Flow) -> Handled:
        # Only a registered delivery (a redelivery, a retry, a replay) can have answers kept.
        calls = CallLog()
        if delivery.registered:
            calls.reusable = await asyncio.to_thread(load_answers, self._sessions, event.id)
        ctx = CallContext(event.correlation, event.id, delivery.attempt)
        try:
            facts = await flow.gather(event, Agencies(self._gateway, ctx, calls))
        except TransientAgencyError as exc:
            return await self._retry_or_dead(event, delivery, exc, calls)
        except AgencyError as exc:
            return await self._settle_failure(event, delivery, exc, calls, MessageStatus.FAILED)
        return await self._complete(event, delivery, flow, facts, calls)

    async def _complete(
        self,
        event: CloudEvent,
        delivery: Delivery,
        flow: Flow,
        facts: dict[str, Any],
        calls: CallLog,
    ) -> Handled:
        def work(uow: UnitOfWork) -> Handled:
            if not self._inbox.claim(uow, event.id, MessageStatus.DONE, agency=calls.agencies):
                log.info("message.duplicate", detail="completed by another delivery")
                return Handled(Outcome.DUPLICATE, event.id)
            self._audit_calls(uow, calls)
            if calls.reusable:
                forget_answers(uow.session, event.id)
            flow.apply(event, facts, uow, Results(self._contracts, event))
            uow.audit("message.done", type=event.type)
            uow.history(event.id, MessageStatus.DONE, delivery.attempt)
            uow.commit()
            return Handled(Outcome.DONE, event.id, uow.emitted)

        handled = await self._settlement.settle(event, delivery, work)
        if handled.outcome is Outcome.DONE:
            log.info("message.done", attempt=delivery.attempt)
        return handled

    @staticmethod
    def _audit_calls(uow: UnitOfWork, calls: CallLog) -> None:
        for record in calls.records:
            uow.audit("agency.call", **record.as_detail())

    async def _retry_or_dead(
        self, event: CloudEvent, delivery: Delivery, exc: TransientAgencyError, calls: CallLog
    ) -> Handled:
        if isinstance(exc, CircuitOpen) and _only_held_back(calls):
            # What failed never reached its agency: a circuit held the call back (the other
            # agencies of a fan-out may have answered). Waiting for it uses no step of the
            # ladder (an outage of hours must not kill the case); the message comes back when
            # the circuit will let a trial call through.
            handled = await self._settle_failure(
                event, delivery, exc, calls, MessageStatus.RETRYING, count_attempt=False
            )
            handled.retry_in_s = max(exc.retry_after or 0.0, 1.0)
            self._count_retry(handled, exc.agency)
            return handled
        if delivery.ladder_step <= len(self._retry_delays_s):  # fresh after a replay
            handled = await self._settle_failure(
                event, delivery, exc, calls, MessageStatus.RETRYING
            )
            handled.retry_in_s = self._retry_delays_s[delivery.ladder_step - 1]
            self._count_retry(handled, exc.agency)
            return handled
        return await self._settle_failure(event, delivery, exc, calls, MessageStatus.DEAD)

    @staticmethod
    def _count_retry(handled: Handled, agency: str) -> None:
        if handled.outcome is Outcome.RETRY:  # not when another delivery settled it first
            count_retry(agency)

    async def _settle_failure(
        self,
        event: CloudEvent,
        delivery: Delivery,
        exc: AgencyError,
        calls: CallLog,
        status: str,
        *,
        count_attempt: bool = True,
    ) -> Handled:
        attempt = delivery.attempt

        def work(uow: UnitOfWork) -> Handled:
            if not self._inbox.claim(uow, event.id, status, [exc.agency], str(exc)):
                return Handled(Outcome.DUPLICATE, event.id)
            if not count_attempt:
                self._inbox.uncount_attempt(uow, event.id)
            self._audit_calls(uow, calls)
            if status == MessageStatus.RETRYING:
                keep_answers(uow.session, event.id, calls.answers)  # for the retry to reuse
            elif calls.reusable:
                forget_answers(uow.session, event.id)
            uow.audit(
                f"message.{status}",
                error=str(exc),
                attempt=attempt,
                error_class=type(exc).__name__,
                **_circuit_detail(exc, calls),
            )
            uow.history(event.id, status, attempt, error=str(exc), agency=exc.agency)
            uow.commit()
            return Handled(_OUTCOME_OF_STATUS[status], event.id)

        handled = await self._settlement.settle(event, delivery, work)
        if handled.outcome is not Outcome.DUPLICATE:
            log.warning(f"message.{status}", attempt=attempt, error=str(exc))
        return handled


def _only_held_back(calls: CallLog) -> bool:
    """Every call of this delivery that did not end answered was only ever held back by its
    agency's circuit: none of its attempts reached the agency."""
    outcomes: dict[tuple[str, str, str], list[str]] = {}
    for r in calls.records:
        outcomes.setdefault((r.agency, r.operation, r.request_digest), []).append(r.outcome)
    failed = [seen for seen in outcomes.values() if seen[-1] not in ("ok", "reused")]
    return bool(failed) and all(set(seen) == {"circuit-open"} for seen in failed)


def _circuit_detail(exc: AgencyError, calls: CallLog) -> dict[str, Any]:
    """An open circuit's state beside the agency's last real error, for the audit entry."""
    if not isinstance(exc, CircuitOpen):
        return {}
    held = [r for r in calls.records if r.agency == exc.agency and r.outcome == "circuit-open"]
    if not held:
        return {}
    return {
        "cause": held[-1].error,
        "circuit": held[-1].circuit,
        "next_trial_s": held[-1].next_trial_s,
    }
