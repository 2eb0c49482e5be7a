"""Agency answers kept between deliveries of one message: when a fan-out ends `retrying`, the
agencies that did answer need not be asked again on the retry, where their operation says an
answer stays good for a while (`Operation.reuse_answer_s`).

The answers are written in the transaction that settles the delivery as `retrying`, read once
when a registered delivery starts, and removed when the message reaches a final state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from hub.store.tables import AgencyAnswer

ANSWERS = cast(Table, AgencyAnswer.__table__)

AnswerKey = tuple[str, str, str]  # agency, operation, request digest


@dataclass(frozen=True)
class Answer:
    """One agency's contract-checked reply to one request."""

    agency: str
    operation: str
    request_digest: str
    reply: Mapping[str, Any]
    answered_at: datetime

    @property
    def key(self) -> AnswerKey:
        return self.agency, self.operation, self.request_digest


def load_answers(sessions: sessionmaker[Session], message_id: str) -> dict[AnswerKey, Answer]:
    """The answers kept for `message_id` by its earlier deliveries, fresh or not."""
    with sessions() as session:
        rows = session.execute(select(ANSWERS).where(ANSWERS.c.message_id == message_id))
        found = [
            Answer(r.agency, r.operation, r.request_digest, r.reply, r.answered_at) for r in rows
        ]
    return {answer.key: answer for answer in found}


def keep_answers(session: Session, message_id: str, answers: Iterable[Answer]) -> None:
    """Keep this delivery's new answers; one kept before for the same request is replaced
    (an upsert, so two deliveries settling at once do not collide)."""
    rows = [
        {
            "message_id": message_id,
            "agency": a.agency,
            "operation": a.operation,
            "request_digest": a.request_digest,
            "reply": dict(a.reply),
            "answered_at": a.answered_at,
        }
        for a in {answer.key: answer for answer in answers}.values()
    ]
    if not rows:
        return
    session.execute(_upsert(session.get_bind().dialect.name, rows))


def _upsert(dialect: str, rows: list[dict[str, Any]]) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE, in the store's dialect."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(ANSWERS).values(rows)
    return statement.on_conflict_do_update(
        index_elements=list(ANSWERS.primary_key.columns),
        set_={"reply": statement.excluded.reply, "answered_at": statement.excluded.answered_at},
    )


def forget_answers(session: Session, message_id: str) -> None:
    """Remove the kept answers of `message_id`: it has its outcome."""
    session.execute(delete(ANSWERS).where(ANSWERS.c.message_id == message_id))
