"""Isnad tenders and their status changes as the tender flows read and change them. The
tender row is read with a lock (on PostgreSQL), so two pushes of one tender settling at once
take turns and neither misses a change the other held back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.store.tables import IsnadTender, IsnadTenderChange


class Tenders:
    """Reads and writes of tenders and their changes inside one transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def tender(self, tender_no: str) -> IsnadTender | None:
        """The tender, locked for this transaction where the engine can lock a row."""
        return self._session.scalars(
            select(IsnadTender).where(IsnadTender.tender_no == tender_no).with_for_update()
        ).one_or_none()

    def add(self, record: IsnadTender | IsnadTenderChange) -> None:
        self._session.add(record)
        self._session.flush()

    def change(self, tender_no: str, sequence: int) -> IsnadTenderChange | None:
        return self._session.get(IsnadTenderChange, (tender_no, sequence))

    def held(self, tender_no: str) -> Sequence[IsnadTenderChange]:
        """The changes not relayed yet, in sequence order."""
        return self._session.scalars(
            select(IsnadTenderChange)
            .where(IsnadTenderChange.tender_no == tender_no, IsnadTenderChange.relayed_at.is_(None))
            .order_by(IsnadTenderChange.sequence)
        ).all()


def tender_case(session: Session, tender_no: str) -> str | None:
    """The case (correlation id) of the tender with this Isnad number, if the hub knows it."""
    return session.scalar(
        select(IsnadTender.correlationid).where(IsnadTender.tender_no == tender_no)
    )


def tender_snapshot(tender: IsnadTender | None) -> dict[str, Any] | None:
    """What an audit entry keeps of a tender."""
    if tender is None:
        return None
    return {
        "tender_no": tender.tender_no,
        "tender_ref": tender.tender_ref,
        "status": tender.status,
        "last_sequence": tender.last_sequence,
    }
