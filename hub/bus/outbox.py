"""The outbox relay: publishes committed results and marks them sent, so a crash between
commit and publish delays a result but never loses it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from hub.bus.publisher import Publisher
from hub.store.engine import WRITE_INTENT
from hub.store.tables import OutboxEvent

log = structlog.get_logger("hub.outbox")


class OutboxRelay:
    def __init__(self, sessions: sessionmaker[Session], publisher: Publisher) -> None:
        self._sessions = sessions
        self._publisher = publisher

    def publish(self, rows: Sequence[OutboxEvent]) -> int:
        """Publish these rows (just committed by a unit of work) and mark them sent."""
        sent = []
        for row in rows:
            self._publisher.publish(row.body, exchange=row.exchange, routing_key=row.routing_key)
            sent.append(row.id)
        if sent:
            with self._sessions.begin() as session:
                session.connection(execution_options=WRITE_INTENT)
                session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id.in_(sent), OutboxEvent.sent_at.is_(None))
                    .values(sent_at=datetime.now(UTC))
                )
        return len(sent)

    def sweep(self, older_than_s: float = 5.0, limit: int = 200) -> int:
        """Publish results left unsent by a crash (older than `older_than_s`)."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
        with self._sessions() as session:
            rows = list(
                session.scalars(
                    select(OutboxEvent)
                    .where(OutboxEvent.sent_at.is_(None), OutboxEvent.created_at <= cutoff)
                    .order_by(OutboxEvent.created_at)
                    .limit(limit)
                )
            )
        if rows:
            log.info("outbox.sweep", unsent=len(rows))
        return self.publish(rows)
