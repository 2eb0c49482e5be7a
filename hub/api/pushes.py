"""Agencies' pushes (MOCI over REST, electricity and ROP over SOAP) become CloudEvents on
municipal.in, each exactly once.

A push is checked against its event contract, written to the outbox with its audit entries in
one transaction, then published at once with a publisher confirm. Its event id is derived
from its content, so an agency that sends the same notification again (a retry after a lost
reply) gets the same id back and nothing is published twice; should the publish itself fail,
the outbox relay's sweep publishes it later, so an accepted push is never lost.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import rfc8785
import structlog
from kombu.exceptions import KombuError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.chain import digest
from hub.audit.sealing import Checkpointer
from hub.bus.outbox import OutboxRelay
from hub.bus.publisher import Publisher
from hub.bus.topology import IN_EXCHANGE_NAME
from hub.contracts.envelope import derived_id, new_event
from hub.contracts.registry import ContractRegistry
from hub.errors import ContractViolation
from hub.messages.unit_of_work import UnitOfWork
from hub.store.tables import AuditEntry, OutboxEvent

log = structlog.get_logger("hub.pushes")

MOCI_CR_STATUS_CHANGED = "moci.cr.status-changed"
ELECTRICITY_CONNECTION_COMPLETED = "electricity.connection.completed"
ROP_OWNERSHIP_TRANSFERRED = "rop.ownership.transferred"
PARTNER_SOURCE = "urn:muscat-hub:partner:"


class PushAccepted(BaseModel):
    """What the pushing agency gets back: the event id it can quote, and whether it was new."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "5c1f3d2e-8a7b-5e6f-9a0b-1c2d3e4f5a6b",
                    "correlationid": "5c1f3d2e-8a7b-5e6f-9a0b-1c2d3e4f5a6b",
                    "type": MOCI_CR_STATUS_CHANGED,
                    "duplicate": False,
                    "published": True,
                }
            ]
        }
    )

    event_id: str
    correlationid: str = Field(
        description="The hub's case id for this push: quote it as X-Correlation-Id on a later "
        "push of the same case. A reference that names no case this partner started is kept "
        "as the partner's reference only."
    )
    type: str
    duplicate: bool
    published: bool


class _LockedPublisher:
    """One broker connection shared by the HTTP threads, one publish at a time."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher
        self._lock = threading.Lock()

    def publish_rows(self, sessions: sessionmaker[Session], rows: list[OutboxEvent]) -> bool:
        with self._lock:
            try:
                OutboxRelay(sessions, self._publisher).publish(rows)
            except (KombuError, OSError) as exc:
                log.warning("push.publish_deferred", error=str(exc), events=[r.id for r in rows])
                return False
        return True


@dataclass
class PushService:
    """Accept one push: validate, record and publish it."""

    sessions: sessionmaker[Session]
    contracts: ContractRegistry
    publisher: Publisher
    sealer: Checkpointer | None = None  # signs audit checkpoints when due

    def __post_init__(self) -> None:
        self._out = _LockedPublisher(self.publisher)

    def validate(self, type_: str, data: dict[str, Any]) -> str:
        """The contract id `data` satisfies, or `ContractViolation` naming each field."""
        contract = self.contracts.latest(type_)
        self.contracts.validate(contract.id, data)
        return contract.id

    def accept(
        self,
        partner: str,
        type_: str,
        data: dict[str, Any],
        reference: str | None = None,
        key_field: str | None = None,
        case: str | None = None,
    ) -> PushAccepted:
        """`reference` is the partner's own X-Correlation-Id (validated by the door): it joins
        the push to a case only when this partner started that case; else it is audited as the
        partner's reference and the case id is the hub's (the event id). With `key_field`,
        the event id is derived from that field alone (one case per application, whatever
        else a resend changed) and the case gets an id of its own (so `hub replay show` of
        the case id lists every message of it), else from the whole content. `case` is the
        case the content names, when the hub knows one (Isnad's tender number names the
        tender the municipality floated)."""
        dataschema = self.validate(type_, data)
        identity = str(data[key_field]) if key_field else rfc8785.dumps(data).decode("utf-8")
        event_id = derived_id(type_, identity)
        own_case = case or (derived_id("case", event_id) if key_field else event_id)
        record = (partner, type_, data, dataschema, event_id, own_case, reference)
        try:
            return self._record(*record)
        except IntegrityError:
            # The same push, committed by another process a moment ago.
            return self._record(*record)

    @staticmethod
    def _case(session: Session, partner: str, reference: str | None, own_case: str) -> str:
        """The case this push belongs to: the referenced one if this partner started it."""
        if reference is None:
            return own_case
        started = session.scalar(
            select(AuditEntry.seq)
            .where(
                AuditEntry.correlationid == reference,
                AuditEntry.kind == "partner.push.accepted",
                AuditEntry.actor == partner,
            )
            .limit(1)
        )
        return reference if started is not None else own_case

    def _record(
        self,
        partner: str,
        type_: str,
        data: dict[str, Any],
        dataschema: str,
        event_id: str,
        own_case: str,
        reference: str | None,
    ) -> PushAccepted:
        with self.sessions() as session:
            seen = session.get(OutboxEvent, event_id)
            case = (
                str(json.loads(seen.body).get("correlationid") or event_id)
                if seen is not None
                else self._case(session, partner, reference, own_case)
            )
        event = new_event(
            type_,
            data,
            dataschema=dataschema,
            correlationid=case,
            causationid=None,
            event_id=event_id,
        ).model_copy(update={"source": f"{PARTNER_SOURCE}{partner}"})
        noted = {"reference": reference} if reference is not None else {}
        with UnitOfWork(
            self.sessions,
            correlationid=event.correlation,
            message_id=event_id,
            actor=partner,
            sealer=self.sealer,
        ) as uow:
            seen = uow.session.get(OutboxEvent, event_id)
            if seen is not None:
                uow.audit(
                    "partner.push.duplicate",
                    partner=partner,
                    type=type_,
                    event_id=event_id,
                    **noted,
                )
                uow.commit()
                published = seen.sent_at is not None
                return PushAccepted(
                    event_id=event_id,
                    correlationid=case,
                    type=type_,
                    duplicate=True,
                    published=published,
                )
            uow.emit(event, exchange=IN_EXCHANGE_NAME)
            uow.audit(
                "partner.push.accepted",
                partner=partner,
                type=type_,
                event_id=event_id,
                data_digest=digest(data),
                **noted,
            )
            uow.commit()
            rows = list(uow.emitted)
        published = self._out.publish_rows(self.sessions, rows)
        return PushAccepted(
            event_id=event_id, correlationid=case, type=type_, duplicate=False, published=published
        )

    def refused(self, partner: str, type_: str, fields: list[str]) -> None:
        """Audit a push refused for its body (`partner.push.refused`): who, which type, which
        fields failed; the values are not kept (they may be personal), nor anything else."""
        with UnitOfWork(self.sessions, actor=partner, sealer=self.sealer) as uow:
            uow.audit("partner.push.refused", partner=partner, type=type_, fields=fields)
            uow.commit()

    def publish(self, rows: list[OutboxEvent]) -> bool:
        """Publish rows another door committed (a payment notice), as pushes are published."""
        return self._out.publish_rows(self.sessions, rows)


def refused_fields(exc: Exception) -> list[str]:
    """The failing fields of a refused body: each field a contract check named, else the body."""
    if isinstance(exc, ContractViolation):
        return sorted({error.field for error in exc.errors})
    return ["(body)"]
