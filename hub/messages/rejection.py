"""Invalid input: keep the message as rejected, answer with `hub.message.rejected` naming each
failing field, and change nothing else."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.sealing import Checkpointer
from hub.contracts.envelope import CloudEvent, body_digest, body_to_text, valid_correlation
from hub.contracts.registry import ContractRegistry
from hub.errors import EnvelopeError, FieldError
from hub.messages.lifecycle import MessageLife
from hub.messages.outcome import Handled, Outcome
from hub.messages.results import Results
from hub.messages.unit_of_work import UnitOfWork
from hub.store.tables import Message, MessageStatus

log = structlog.get_logger("hub.pipeline")
REJECTED_TYPE = "hub.message.rejected"


class Rejections:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        contracts: ContractRegistry,
        sealer: Checkpointer | None = None,
    ) -> None:
        self._sessions = sessions
        self._contracts = contracts
        self._sealer = sealer

    def reject(
        self, event: CloudEvent, body: bytes, reason: str, errors: list[FieldError]
    ) -> Handled:
        """A well-formed envelope whose type, schema or data the hub refuses."""
        return self._record(
            message_id=event.id,
            type_=event.type,
            source=event.source,
            correlationid=event.correlation,
            causationid=event.causationid,
            body=body,
            reason=reason,
            errors=errors,
        )

    def reject_undecodable(
        self, body: bytes, exc: EnvelopeError, attributes: Mapping[str, Any] | None = None
    ) -> Handled:
        """A message that is not a CloudEvent: keyed by its own id when it has a usable one
        (in the body, or for binary mode in `attributes`, its application properties), else
        by the digest of its bytes, so sending it twice is still one rejection."""
        raw: Any = dict(attributes) if attributes is not None else None
        if raw is None:
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
        source = raw.get("source") if isinstance(raw, dict) else None
        return self._record(
            message_id=message_id,
            type_=type_ if isinstance(type_, str) else None,
            source=source if isinstance(source, str) else None,
            correlationid=_usable_correlation(correlation, message_id, body),
            causationid=None,
            body=body,
            reason="envelope",
            errors=exc.errors,
        )

    def _record(
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
        data: dict[str, Any] = {
            "rejected_id": message_id,
            "rejected_type": type_,
            "reason": reason,
            "errors": [e.as_dict() for e in errors],
        }
        results = Results(self._contracts, cause_id=message_id, correlationid=correlationid)
        answer = results.event(REJECTED_TYPE, data)
        uow = UnitOfWork(
            self._sessions,
            correlationid=correlationid,
            message_id=message_id,
            sealer=self._sealer,
        )
        try:
            with uow:
                if uow.session.get(Message, message_id) is not None:
                    return Handled(Outcome.DUPLICATE, message_id)
                MessageLife.create(
                    uow.session,
                    MessageStatus.REJECTED,
                    id=message_id,
                    type=type_,
                    source=source,
                    correlationid=correlationid,
                    causationid=causationid,
                    attempts=1,
                    last_error="; ".join(f"{e.field}: {e.message}" for e in errors)[:2000],
                    envelope=body_to_text(body),
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


def _usable_correlation(given: object, message_id: str, body: bytes) -> str:
    """The case a refused message is answered under: its own correlation id when that passes
    the strict pattern (never a value with control characters or markup), else its id."""
    for candidate in (given, message_id):
        if valid_correlation(candidate):
            assert isinstance(candidate, str)
            return candidate
    return body_digest(body)
