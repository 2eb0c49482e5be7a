"""Gauges read from the shared store and broker at scrape time (outbox lag, queue depth,
circuits): every hub process reports the same values, whoever served the scrape."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hub.bus.probe import BrokerProbe
from hub.store.tables import AgencyCircuit, OutboxEvent, Payment

log = structlog.get_logger("hub.metrics")
CIRCUIT_VALUES = {"closed": 0.0, "half-open": 1.0, "open": 2.0}


def unsent_count(sessions: sessionmaker[Session]) -> int:
    """Outbox rows not yet published (the backlog an outage leaves for the relay)."""
    with sessions() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.sent_at.is_(None))
            )
            or 0
        )


def oldest_unsent_age_s(sessions: sessionmaker[Session]) -> float:
    """Age of the oldest outbox row the relay has not published yet; 0 when all are sent."""
    with sessions() as session:
        oldest = session.scalar(
            select(func.min(OutboxEvent.created_at)).where(OutboxEvent.sent_at.is_(None))
        )
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max((datetime.now(UTC) - oldest).total_seconds(), 0.0)


def circuit_states(sessions: sessionmaker[Session]) -> dict[str, str]:
    """Last known circuit state per agency, as the workers wrote it to the store."""
    with sessions() as session:
        return {row.agency: row.state for row in session.scalars(select(AgencyCircuit))}


def payment_states(sessions: sessionmaker[Session]) -> dict[tuple[str, str], int]:
    """Payments per (provider, state), as the store holds them."""
    with sessions() as session:
        rows = session.execute(
            select(Payment.provider, Payment.status, func.count()).group_by(
                Payment.provider, Payment.status
            )
        ).all()
    return {(provider, status): int(count) for provider, status, count in rows}


class SharedStateCollector(Collector):
    """Gauges read at scrape time; a failed read reports -1 (or nothing) and never raises."""

    def __init__(self, sessions: sessionmaker[Session], broker: str | BrokerProbe) -> None:
        """`broker`: a URL (looked at on every scrape) or a shared, caching probe."""
        self._sessions = sessions
        self._broker = BrokerProbe(broker, ttl_s=0) if isinstance(broker, str) else broker

    def collect(self) -> Iterator[Metric]:
        outbox = GaugeMetricFamily(
            "hub_outbox_lag_seconds", "Age of the oldest unpublished outbox row (-1: unknown)."
        )
        backlog = GaugeMetricFamily(
            "hub_outbox_backlog", "Outbox rows not yet published (-1: store unreadable)."
        )
        queue = GaugeMetricFamily(
            "hub_queue_lag_messages", "Messages waiting in hub.inbound (-1: broker unreachable)."
        )
        circuits = GaugeMetricFamily(
            "hub_circuit_state",
            "Circuit per agency: 0 closed, 1 half-open, 2 open (last state a worker stored).",
            labels=["agency"],
        )
        try:
            outbox.add_metric([], oldest_unsent_age_s(self._sessions))
            backlog.add_metric([], float(unsent_count(self._sessions)))
        except Exception:
            log.warning("metrics.outbox_unreadable")
            outbox.add_metric([], -1.0)
            backlog.add_metric([], -1.0)
        try:
            queue.add_metric([], float(self._broker.depth()))
        except Exception:
            log.warning("metrics.queue_unreadable")
            queue.add_metric([], -1.0)
        try:
            for agency, state in circuit_states(self._sessions).items():
                circuits.add_metric([agency], CIRCUIT_VALUES.get(state, 2.0))
        except Exception:
            log.warning("metrics.circuits_unreadable")
        payments = GaugeMetricFamily(
            "hub_payments",
            "Payments by provider and state (read from the store).",
            labels=["provider", "state"],
        )
        try:
            for (provider, state), count in payment_states(self._sessions).items():
                payments.add_metric([provider, state], float(count))
        except Exception:
            log.warning("metrics.payments_unreadable")
        yield from (outbox, backlog, queue, circuits, payments)
