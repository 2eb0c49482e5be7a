"""Invest Easy applications as the flows and the status endpoint read and change them: one
row per application reference, holding its one decision."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.store.tables import InvestEasyApplication, Message


class Applications:
    """Reads and writes of Invest Easy applications inside one transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, application_ref: str) -> InvestEasyApplication | None:
        return self._session.get(InvestEasyApplication, application_ref)

    def by_licence(self, licence_no: str) -> InvestEasyApplication | None:
        """The application a licence was issued for, if it came through Invest Easy."""
        return self._session.scalars(
            select(InvestEasyApplication).where(InvestEasyApplication.licence_no == licence_no)
        ).first()

    def add(self, application: InvestEasyApplication) -> None:
        self._session.add(application)
        self._session.flush()


def snapshot(application: InvestEasyApplication | None) -> dict[str, Any] | None:
    """What an audit entry keeps of an application (before and after a change)."""
    if application is None:
        return None
    return {
        "application_ref": application.application_ref,
        "cr_no": application.cr_no,
        "status": application.status,
        "decision": application.decision,
        "licence_no": application.licence_no,
        "fee_omr": None if application.fee_omr is None else f"{application.fee_omr:.3f}",
        "receipt": application.receipt,
    }


def application_state(
    session: Session, application_ref: str, message_id: str
) -> tuple[InvestEasyApplication | None, str | None]:
    """The application's row (once decided) and the status of its request message (None
    when the hub never accepted one)."""
    message_status = session.scalar(select(Message.status).where(Message.id == message_id))
    return session.get(InvestEasyApplication, application_ref), message_status
