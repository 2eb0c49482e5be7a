"""What the hub does with one inbound message, independent of the broker that brought it:
decode, validate, register in the inbox, run the flow, and commit the outcome atomically."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hub.connectors import CallContext
from hub.contracts import ContractRegistry, UnknownContract
from hub.envelope import (
    CloudEvent,
    body_digest,
    body_to_text,
    derived_id,
    new_event,
    parse_event,
)
from hub.errors import (
    AgencyError,
    CircuitOpen,
    EnvelopeError,
    FieldError,
    TransientAgencyError,
    UnknownMessageType,
)
from hub.flows import Agencies, FlowRegistry, Results
from hub.gateway import AgencyGateway, CallLog
from hub.metrics import count_message, count_retry
from hub.observability import bind_case, unbind_case
from hub.replay.marker import ReplayMarker
from hub.store.tables import Message, MessageStatus, OutboxEvent
from hub.store.uow import UnitOfWork

log = structlog.get_logger("hub.pipeline")
REJECTED_TYPE = "hub.message.rejected"


class Outcome(StrEnum):
    DONE = "done"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    RETRY = "retry"
    FAILED = "failed"
    DEAD = "dead"


@dataclass
class Handled:
    """What became of one delivery, and what the bus must do next."""

    outcome: Outcome
    message_id: str
    emitted: list[OutboxEvent] = field(default_factory=list)
    retry_in_s: float | None = None


class Pipeline:
    """The hub's core service: one call of `handle` per delivery."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        contracts: ContractRegistry,
        flows: FlowRegistry,
        gateway: AgencyGateway,
        retry_delays_s: list[float],
    ) -> None:
        self._sessions = sessions
        self._contracts = contracts
        self._flows = flows
        self._gateway = gateway
        self._retry_delays_s = retry_delays_s

    async def handle(self, body: bytes, replay: ReplayMarker | None = None) -> Handled:
        """`replay` marks a delivery an operator re-drove; its history and audit say so."""
        try:
            event = parse_event(body)
        except EnvelopeError as exc:
            handled = self._reject_undecodable(body, exc)
            count_message("undecodable", handled.outcome)
            return handled
        bind_case(event.correlation, event.id, type=event.type)
        try:
            handled = await self._handle_event(event, body, replay)
        finally:
            unbind_case()
        count_message(event.type, handled.outcome)
        return handled

    async def _handle_event(
        self, event: CloudEvent, body: bytes, replay: ReplayMarker | None = None
    ) -> Handled:
        try:
            flow = self._flows.for_type(event.type)
            contract = self._contracts.for_event(event.type, event.dataschema)
        except (UnknownMessageType, UnknownContract) as exc:
            field_name = "type" if isinstance(exc, UnknownMessageType) else "dataschema"
            return self._reject(event, body, "unknown-type", [FieldError(field_name, str(exc))])
        errors = [
            FieldError(f"data.{e.field}" if e.field != "(root)" else "data", e.message)
            for e in self._contracts.errors(contract.id, event.data)
        ]
        if errors:
            return self._reject(event, body, "contract", errors)
        delivery = self._receive(event, body, contract.id, replay)
        if delivery is None:
            log.info("message.duplicate")
            return Handled(Outcome.DUPLICATE, event.id)
        attempt, ladder_step = delivery
        calls = CallLog()
        ctx = CallContext(event.correlation, event.id, attempt)
        try:
            facts = await flow.gather(event, Agencies(self._gateway, ctx, calls))
        except TransientAgencyError as exc:
            return self._retry_or_dead(event, attempt, exc, calls, ladder_step)
        except AgencyError as exc:
            return self._settle_failure(event, attempt, exc, calls, MessageStatus.FAILED)
        with self._uow(event) as uow:
            if not self._claim_final(uow, event.id, MessageStatus.DONE, agency=calls.agencies):
                log.info("message.duplicate", detail="completed by another delivery")
                return Handled(Outcome.DUPLICATE, event.id)
            self._audit_calls(uow, calls)
            flow.apply(event, facts, uow, Results(self._contracts, event))
            uow.audit("message.done", type=event.type)
            uow.history(event.id, MessageStatus.DONE, attempt)
            uow.commit()
        log.info("message.done", attempt=attempt)
        return Handled(Outcome.DONE, event.id, uow.emitted)

    def _uow(self, event: CloudEvent) -> UnitOfWork:
        return UnitOfWork(self._sessions, correlationid=event.correlation, message_id=event.id)

    def _receive(
        self, event: CloudEvent, body: bytes, contract_id: str, replay: ReplayMarker | None = None
    ) -> tuple[int, int] | None:
        """Register the delivery in the inbox: (attempt, step on the retry ladder, counted from
        the last replay); None when the message already has its outcome."""
        for _ in range(2):
            try:
                with self._uow(event) as uow:
                    row = uow.session.get(Message, event.id, with_for_update=True)
                    if row is not None and row.status in MessageStatus.FINAL:
                        return None
                    if row is None:
                        row = Message(
                            id=event.id,
                            type=event.type,
                            source=event.source,
                            correlationid=event.correlation,
                            causationid=event.causationid,
                            status=MessageStatus.PENDING,
                            attempts=0,
                            envelope=body_to_text(body),
                        )
                        uow.session.add(row)
                        uow.audit("message.received", type=event.type, source=event.source)
                        uow.audit("message.validated", contract=contract_id)
                    row.attempts += 1
                    row.status = MessageStatus.PENDING
                    replayed = {"replay": replay.as_detail()} if replay else {}
                    uow.history(event.id, MessageStatus.PENDING, row.attempts, **replayed)
                    if replay is not None:
                        uow.audit("replay.delivered", attempt=row.attempts, **replay.as_detail())
                    delivery = (row.attempts, row.attempts - (row.ladder_base or 0))
                    uow.commit()
                    return delivery
            except IntegrityError:
                continue  # a competing worker inserted it first; read it again
        raise RuntimeError(f"could not register message {event.id}")

    def _claim_final(
        self,
        uow: UnitOfWork,
        message_id: str,
        status: str,
        agency: list[str],
        last_error: str | None = None,
    ) -> bool:
        """Move the message to a final or waiting state unless another delivery finished it."""
        result = uow.session.execute(
            update(Message)
            .where(Message.id == message_id, Message.status.not_in(MessageStatus.FINAL))
            .values(status=status, agency=",".join(agency)[:50] or None, last_error=last_error)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    @staticmethod
    def _audit_calls(uow: UnitOfWork, calls: CallLog) -> None:
        for record in calls.records:
            uow.audit("agency.call", **record.as_detail())

    def _retry_or_dead(
        self,
        event: CloudEvent,
        attempt: int,
        exc: TransientAgencyError,
        calls: CallLog,
        ladder_step: int | None = None,
    ) -> Handled:
        step = attempt if ladder_step is None else ladder_step  # fresh after a replay
        if isinstance(exc, CircuitOpen) and all(r.outcome == "circuit-open" for r in calls.records):
            # Nothing reached the agency: its circuit held the call back. Waiting for it uses
            # no step of the ladder (an outage of hours must not kill the case); the message
            # comes back when the circuit will let a trial call through.
            handled = self._settle_failure(
                event, attempt, exc, calls, MessageStatus.RETRYING, count_attempt=False
            )
            handled.retry_in_s = max(exc.retry_after or 0.0, 1.0)
            self._count_retry(handled, exc.agency)
            return handled
        if step <= len(self._retry_delays_s):
            handled = self._settle_failure(event, attempt, exc, calls, MessageStatus.RETRYING)
            handled.retry_in_s = self._retry_delays_s[step - 1]
            self._count_retry(handled, exc.agency)
            return handled
        return self._settle_failure(event, attempt, exc, calls, MessageStatus.DEAD)

    @staticmethod
    def _count_retry(handled: Handled, agency: str) -> None:
        if handled.outcome is Outcome.RETRY:  # not when another delivery settled it first
            count_retry(agency)

    def _settle_failure(
        self,
        event: CloudEvent,
        attempt: int,
        exc: AgencyError,
        calls: CallLog,
        status: str,
        *,
        count_attempt: bool = True,
    ) -> Handled:
        outcome = {
            MessageStatus.RETRYING: Outcome.RETRY,
            MessageStatus.DEAD: Outcome.DEAD,
            MessageStatus.FAILED: Outcome.FAILED,
        }[status]
        with self._uow(event) as uow:
            if not self._claim_final(uow, event.id, status, [exc.agency], str(exc)):
                return Handled(Outcome.DUPLICATE, event.id)
            if not count_attempt:
                uow.session.execute(
                    update(Message)
                    .where(Message.id == event.id)
                    .values(attempts=Message.attempts - 1)
                )
            self._audit_calls(uow, calls)
            uow.audit(
                f"message.{status}", error=str(exc), attempt=attempt, error_class=type(exc).__name__
            )
            uow.history(event.id, status, attempt, error=str(exc), agency=exc.agency)
            uow.commit()
        log.warning(f"message.{status}", attempt=attempt, error=str(exc))
        return Handled(outcome, event.id)

    def _reject(
        self, event: CloudEvent, body: bytes, reason: str, errors: list[FieldError]
    ) -> Handled:
        return self._record_rejection(
            message_id=event.id,
            type_=event.type,
            source=event.source,
            correlationid=event.correlation,
            causationid=event.causationid,
            body=body,
            reason=reason,
            errors=errors,
        )

    def _reject_undecodable(self, body: bytes, exc: EnvelopeError) -> Handled:
        raw: Any = None
        try:
            raw = json.loads(body)
        except ValueError:
            pass
        given = raw.get("id") if isinstance(raw, dict) else None
        type_ = raw.get("type") if isinstance(raw, dict) else None
        message_id = (
            given if isinstance(given, str) and 0 < len(given) <= 200 else body_digest(body)
        )
        correlation = raw.get("correlationid") if isinstance(raw, dict) else None
        return self._record_rejection(
            message_id=message_id,
            type_=type_ if isinstance(type_, str) else None,
            source=None,
            correlationid=correlation if isinstance(correlation, str) else message_id,
            causationid=None,
            body=body,
            reason="envelope",
            errors=exc.errors,
        )

    def _record_rejection(
        self,
        *,
        message_id: str,
        type_: str | None,
        source: str | None,
        correlationid: str,
        causationid: str | None,
        body: bytes,
        reason: str,
        errors: list[FieldError],
    ) -> Handled:
        """Keep the message as rejected and answer with `hub.message.rejected`; change nothing."""
        contract = self._contracts.latest(REJECTED_TYPE)
        data = {
            "rejected_id": message_id,
            "rejected_type": type_,
            "reason": reason,
            "errors": [e.as_dict() for e in errors],
        }
        answer = new_event(
            REJECTED_TYPE,
            data,
            dataschema=contract.id,
            correlationid=correlationid,
            causationid=message_id,
            event_id=derived_id(message_id, REJECTED_TYPE),
        )
        uow = UnitOfWork(self._sessions, correlationid=correlationid, message_id=message_id)
        try:
            with uow:
                if uow.session.get(Message, message_id) is not None:
                    return Handled(Outcome.DUPLICATE, message_id)
                uow.session.add(
                    Message(
                        id=message_id,
                        type=type_,
                        source=source,
                        correlationid=correlationid,
                        causationid=causationid,
                        status=MessageStatus.REJECTED,
                        attempts=1,
                        last_error="; ".join(f"{e.field}: {e.message}" for e in errors)[:2000],
                        envelope=body_to_text(body),
                    )
                )
                uow.audit("message.received", type=type_, source=source)
                uow.audit("message.rejected", reason=reason, errors=data["errors"])
                uow.history(
                    message_id, MessageStatus.REJECTED, 1, reason=reason, errors=data["errors"]
                )
                uow.emit(answer)
                uow.commit()
        except IntegrityError:
            return Handled(Outcome.DUPLICATE, message_id)
        log.warning("message.rejected", message_id=message_id, reason=reason, errors=data["errors"])
        return Handled(Outcome.REJECTED, message_id, uow.emitted)
