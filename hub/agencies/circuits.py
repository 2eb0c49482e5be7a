"""One circuit breaker per agency (pybreaker): after `circuit_failures` transient failures in a
row the agency is left alone for `circuit_reset_s`, then one trial call decides.

The breaker lives in each worker process (each finds out for itself that an agency is down);
every state change is also written to the store, so `hub connectors check` and other
processes can see the last known state of each agency's circuit.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pybreaker
import structlog
from sqlalchemy.orm import Session, sessionmaker

from hub.agencies.connector import Connector
from hub.errors import TransientAgencyError
from hub.store.engine import WRITE_INTENT
from hub.store.tables import AgencyCircuit

log = structlog.get_logger("hub.agencies.circuits")


def _not_transient(exc: BaseException) -> bool:
    # Only faults that say "the agency is unwell" count; a refusal or a broken reply does not.
    return not isinstance(exc, TransientAgencyError)


class StoreCircuitListener(pybreaker.CircuitBreakerListener):
    """Writes each state change of a breaker to the `agency_circuits` table."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._worker = f"{socket.gethostname()}:{os.getpid()}"

    def state_change(self, cb: pybreaker.CircuitBreaker, old: Any, new: Any) -> None:
        log.warning("circuit.changed", agency=cb.name, old=old.name, new=new.name)
        try:
            with self._sessions.begin() as session:
                session.connection(execution_options=WRITE_INTENT)
                row = session.get(AgencyCircuit, cb.name) or AgencyCircuit(agency=cb.name)
                row.state, row.changed_at, row.worker = new.name, datetime.now(UTC), self._worker
                session.add(row)
        except Exception:  # a store hiccup must not break the agency call path
            log.exception("circuit.persist_failed", agency=cb.name)


def make_breakers(
    connectors: Mapping[str, Connector],
    listener_factory: Callable[[], pybreaker.CircuitBreakerListener] | None = None,
    reset_s: float | None = None,
) -> dict[str, pybreaker.CircuitBreaker]:
    """One breaker per agency from its policy; `reset_s` overrides every open time."""
    listeners = [listener_factory()] if listener_factory else []
    return {
        name: pybreaker.CircuitBreaker(
            fail_max=connector.policy.circuit_failures,
            reset_timeout=reset_s or connector.policy.circuit_reset_s,
            exclude=[_not_transient],
            listeners=listeners,
            name=name,
            throw_new_error_on_trip=False,
        )
        for name, connector in connectors.items()
    }


def seconds_until_trial(breaker: pybreaker.CircuitBreaker) -> float:
    """How long an open circuit stays open before it lets one trial call through."""
    opened = breaker._state_storage.opened_at  # pybreaker keeps it on its storage only
    if opened is None:
        return float(breaker.reset_timeout)
    elapsed = (datetime.now(UTC) - opened).total_seconds()
    return max(float(breaker.reset_timeout) - elapsed, 0.0)


def circuit_state(breaker: pybreaker.CircuitBreaker) -> str:
    """closed, open or half-open (an open breaker whose reset time has passed is half-open)."""
    state = str(breaker.current_state)
    if state == pybreaker.STATE_OPEN and seconds_until_trial(breaker) == 0.0:
        return pybreaker.STATE_HALF_OPEN
    return state
