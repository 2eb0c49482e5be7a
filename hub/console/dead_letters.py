"""Dead, failed and retrying messages grouped by cause, so an operator sees one outage as one
line, not as a hundred."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.store.queries import message_summary
from hub.store.tables import Message, MessageStatus

STUCK = (MessageStatus.DEAD, MessageStatus.FAILED, MessageStatus.RETRYING)
SHOWN = 1000
_VARYING = re.compile(r"[0-9a-f]{8,}|[0-9]+(?:\.[0-9]+)?")


def cause_of(last_error: str | None) -> str:
    """An error's first line with its numbers and ids blurred: the same failure, one cause."""
    if not last_error:
        return "(no error recorded)"
    return _VARYING.sub("#", last_error.splitlines()[0])[:160]


def stuck_groups(session: Session) -> list[dict[str, Any]]:
    """Groups of stuck messages by (status, agency, cause), largest first."""
    rows = session.scalars(
        select(Message)
        .where(Message.status.in_(STUCK))
        .order_by(Message.updated_at.desc())
        .limit(SHOWN)
    )
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        key = (row.status, row.agency or "-", cause_of(row.last_error))
        groups[key].append(message_summary(row))
    return [
        {"status": status, "agency": agency, "cause": cause, "messages": messages}
        for (status, agency, cause), messages in sorted(
            groups.items(), key=lambda item: (-len(item[1]), item[0])
        )
    ]
