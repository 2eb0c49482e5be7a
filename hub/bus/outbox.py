"""The outbox relay: publishes committed results and marks them sent, so a crash between
commit and publish delays a result but never loses it.

Rows are marked sent in batches (`mark_sent`), not in a transaction per result: a row whose
mark is lost to a crash is published again by the sweep with the same event id, which
subscribers already recognise as a duplicate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from hub.bus.publisher import Publisher
from hub.store.engine import WRITE_INTENT
from hub.store.tables import OutboxEvent

log = structlog.get_logger("hub.outbox")
SWEEP_EVERY_S = 5.0
MARK_SENT_EVERY_S = 0.2
SWEEP_LIMIT = 200
MAX_SWEEP_BATCHES = 25  # one sweep sends at most this many batches of `limit`


class OutboxRelay:
    """Thread-safe: workers' store threads publish, the consumer thread marks and sweeps."""

    def __init__(self, sessions: sessionmaker[Session], publisher: Publisher) -> None:
        self._sessions = sessions
        self._publisher = publisher
        self._unmarked: list[str] = []
        self._lock = threading.Lock()
        self._failing: dict[str, int] = {}  # what keeps failing, and how many times in a row
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def publish(self, rows: Sequence[OutboxEvent], *, mark_now: bool = True) -> int:
        """Publish these rows (just committed by a unit of work) and mark them sent, now or,
        with `mark_now=False`, at the next `mark_sent` (the worker's batched path)."""
        for row in rows:
            self._publisher.publish(row.body, exchange=row.exchange, routing_key=row.routing_key)
            with self._lock:
                self._unmarked.append(row.id)
        if mark_now:
            self.mark_sent()
        return len(rows)

    def mark_sent(self) -> int:
        """Record every result published since the last call as sent, in one transaction."""
        with self._lock:
            sent, self._unmarked = self._unmarked, []
        if not sent:
            return 0
        try:
            with self._sessions.begin() as session:
                session.connection(execution_options=WRITE_INTENT)
                session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id.in_(sent), OutboxEvent.sent_at.is_(None))
                    .values(sent_at=datetime.now(UTC))
                )
        except Exception:
            with self._lock:  # try again next time; until then the sweep may publish twice
                self._unmarked[:0] = sent
            raise
        return len(sent)

    def mark_sent_safely(self) -> None:
        try:
            self.mark_sent()
        except Exception as exc:  # the store may be down; the marks wait for the next call
            self._failed("mark", exc)
        else:
            self._recovered("mark")

    def sweep_safely(self) -> int:
        """Sweep until the backlog is sent (bounded); a failure waits for the next sweep."""
        sent = 0
        try:
            for _ in range(MAX_SWEEP_BATCHES):
                batch = self.sweep()
                sent += batch
                if batch < SWEEP_LIMIT:
                    break
        except Exception as exc:  # the store or broker is away: the rows stay in the outbox
            self._failed("sweep", exc)
        else:
            self._recovered("sweep", sent=sent)
        return sent

    def _failed(self, what: str, exc: Exception) -> None:
        """Logged once when it starts failing, not every few seconds while it does."""
        self._failing[what] = self._failing.get(what, 0) + 1
        if self._failing[what] == 1:
            log.warning(f"outbox.{what}_failing", error=f"{type(exc).__name__}: {exc}"[:200])

    def _recovered(self, what: str, **extra: int) -> None:
        failures = self._failing.pop(what, 0)
        if failures:
            log.info(f"outbox.{what}_recovered", failed_attempts=failures, **extra)

    def start(self) -> OutboxRelay:
        """Mark and sweep in a thread of its own, so the backlog drains whatever the consumer
        is doing (reconnecting, waiting for a delivery)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="hub-outbox", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        last_sweep = time.monotonic()
        while not self._stop.wait(MARK_SENT_EVERY_S):
            self.mark_sent_safely()
            if time.monotonic() - last_sweep >= SWEEP_EVERY_S:
                self.sweep_safely()
                last_sweep = time.monotonic()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.mark_sent_safely()

    def sweep(self, older_than_s: float = 5.0, limit: int = SWEEP_LIMIT) -> int:
        """Publish results left unsent by a crash or an outage (older than `older_than_s`)."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
        with self._lock:
            pending = set(self._unmarked)
        with self._sessions() as session:
            rows = [
                row
                for row in session.scalars(
                    select(OutboxEvent)
                    .where(OutboxEvent.sent_at.is_(None), OutboxEvent.created_at <= cutoff)
                    .order_by(OutboxEvent.created_at)
                    .limit(limit)
                )
                if row.id not in pending  # published, only the mark is still to come
            ]
        if rows:
            log.info("outbox.sweep", unsent=len(rows))
        return self.publish(rows)
