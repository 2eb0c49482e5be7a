"""What the store knows of each agency across all workers: its circuit's last known state
(written by whichever worker changed it) and the last error a message met there."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.store.tables import AgencyCircuit, Message, MessageStatus

FAILING = (MessageStatus.RETRYING, MessageStatus.DEAD, MessageStatus.FAILED)


@dataclass(frozen=True)
class AgencyStatus:
    circuit: str = "closed"
    circuit_changed_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None


def agency_statuses(session: Session, agencies: list[str]) -> dict[str, AgencyStatus]:
    circuits = {row.agency: row for row in session.scalars(select(AgencyCircuit))}
    statuses = {}
    for agency in agencies:
        failing = session.scalars(
            select(Message)
            .where(Message.agency == agency, Message.status.in_(FAILING))
            .order_by(Message.updated_at.desc())
            .limit(1)
        ).first()
        circuit = circuits.get(agency)
        statuses[agency] = AgencyStatus(
            circuit=circuit.state if circuit else "closed",
            circuit_changed_at=circuit.changed_at if circuit else None,
            last_error=failing.last_error if failing else None,
            last_error_at=failing.updated_at if failing else None,
        )
    return statuses
