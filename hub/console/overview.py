"""The overview's numbers, read from the store and the broker the CLI reads: messages per
minute by type and outcome over the last hour, counts by status, queue depth, unsent
results, and the audit trail's last verify result. The broker is looked at through a probe
that keeps its look a few seconds, so many open overviews cost one broker connection."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hub.bus.probe import BrokerProbe
from hub.console.charts import bars
from hub.store.tables import AuditEntry, Message, OutboxEvent

WINDOW = timedelta(hours=1)
BUCKETS = 12  # five minutes each
VERIFIED = "console.audit.verified"


def overview(sessions: sessionmaker[Session], broker: BrokerProbe) -> dict[str, Any]:
    """Everything the overview page and its live refresh show."""
    now = datetime.now(UTC)
    since = now - WINDOW
    with sessions() as session:
        by_status = dict(
            session.execute(select(Message.status, func.count()).group_by(Message.status)).all()
        )
        recent = session.execute(
            select(Message.type, Message.status, func.count())
            .where(Message.updated_at >= since)
            .group_by(Message.type, Message.status)
            .order_by(Message.type, Message.status)
        ).all()
        received = list(
            session.scalars(
                select(Message.received_at).where(Message.received_at >= since).limit(100_000)
            )
        )
        unsent = session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.sent_at.is_(None))
        )
        verified = _last_verify(session)
    return {
        "at": now.isoformat(timespec="seconds"),
        "by_status": {str(k): int(v) for k, v in by_status.items()},
        "rates": [
            {"type": t or "-", "outcome": s, "count": int(n), "per_minute": round(n / 60, 2)}
            for t, s, n in recent
        ],
        "queue_depth": broker.look().depth,
        "unsent": int(unsent or 0),
        "last_verify": verified,
        "chart": _received_chart(received, now),
    }


def _last_verify(session: Session) -> dict[str, Any] | None:
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.kind == VERIFIED).order_by(AuditEntry.seq.desc())
    ).first()
    if entry is None:
        return None
    return {"at": entry.recorded_at[:19], "by": entry.actor, **entry.detail}


def _received_chart(received: list[datetime], now: datetime) -> list[dict[str, Any]]:
    size = WINDOW / BUCKETS
    counts = Counter(min(int((now - at) / size), BUCKETS - 1) for at in received)
    ok = [counts.get(BUCKETS - 1 - i, 0) for i in range(BUCKETS)]
    labels = [f"-{(BUCKETS - i) * 5} min" for i in range(BUCKETS)]
    return [bar.__dict__ for bar in bars(ok, [0] * BUCKETS, labels)]
