"""Prometheus metrics: counters moved by one cheap call at the pipeline, gateway and ladder,
and gauges about shared state (outbox, queue, circuits) read from the store and broker only
when Prometheus scrapes.

Counters live in the process that moves them (see docs/OPERATIONS.md, "Metrics"); the scrape
time gauges read shared state, so any hub process serving /metrics reports them correctly.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import structlog
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector

from hub.errors import (
    AgencyAuthError,
    AgencyRateLimited,
    Forbidden,
    Unauthorised,
)

log = structlog.get_logger("hub.metrics")

MAX_MESSAGE_TYPES = 200  # past this, new types count as "other": senders cannot blow up labels

MESSAGES = Counter(
    "hub_messages_total", "Deliveries handled, by message type and outcome.", ["type", "outcome"]
)
DEAD_LETTERS = Counter(
    "hub_dead_letters_total", "Messages that ran out of the retry ladder (dead).", ["type"]
)
AGENCY_CALLS = Histogram(
    "hub_agency_call_seconds",
    "Latency of each agency call attempt; error_source says what went wrong, if anything.",
    ["agency", "operation", "error_source"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
RETRIES = Counter(
    "hub_retries_scheduled_total", "Ladder redeliveries scheduled, by agency.", ["agency"]
)

RECONNECTIONS = Counter(
    "hub_reconnections_total",
    "Connections opened again after one was lost, by kind (consumer, publisher, store).",
    ["kind"],
)
CONNECTION_UP = Gauge(
    "hub_connection_up",
    "1 while this process's connection of that kind works, 0 while it is lost or blocked.",
    ["kind"],
    multiprocess_mode="livemin",
)
LAST_CONFIRM = Gauge(
    "hub_last_confirmed_publish_timestamp_seconds",
    "Unix time of the last publish the broker confirmed (time() minus it: seconds since).",
    multiprocess_mode="max",
)

_message_children: dict[tuple[str, str], Counter] = {}
_dead_children: dict[str, Counter] = {}
_call_children: dict[tuple[str, str, str], Histogram] = {}
_retry_children: dict[str, Counter] = {}


def _bounded_type(message_type: str) -> str:
    known = {t for t, _ in _message_children}
    if message_type in known or len(known) < MAX_MESSAGE_TYPES:
        return message_type
    return "other"


def count_message(message_type: str, outcome: str) -> None:
    """One handled delivery; a dead one also counts as a dead letter."""
    key = (message_type, outcome)
    child = _message_children.get(key)
    if child is None:
        key = (_bounded_type(message_type), outcome)
        child = _message_children.setdefault(key, MESSAGES.labels(*key))
    child.inc()
    if outcome == "dead":
        dead = _dead_children.get(key[0])
        if dead is None:
            dead = _dead_children.setdefault(key[0], DEAD_LETTERS.labels(key[0]))
        dead.inc()


def count_retry(agency: str) -> None:
    """One redelivery scheduled on the retry ladder because of `agency`."""
    child = _retry_children.get(agency)
    if child is None:
        child = _retry_children.setdefault(agency, RETRIES.labels(agency))
    child.inc()


def _caused_by(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    seen: BaseException | None = exc
    for _ in range(5):  # bounded walk down the cause/context chain
        if seen is None:
            return False
        if isinstance(seen, kinds):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def error_source(outcome: str, exc: BaseException | None) -> str:
    """none, agency, timeout, contract, auth, rate-limit, circuit or cancelled: a small fixed
    set, read from the outcome and the error's class (the connectors say why), never from its
    text."""
    if outcome == "ok":
        return "none"
    if outcome == "circuit-open":
        return "circuit"
    if outcome == "cancelled":
        return "cancelled"
    if outcome == "contract-violation":
        return "contract"
    if exc is None:
        return "agency"
    if _caused_by(exc, (TimeoutError,)) or any(
        "Timeout" in type(e).__name__ for e in (exc.__cause__, exc.__context__) if e is not None
    ):
        return "timeout"
    if isinstance(exc, AgencyAuthError) or _caused_by(exc, (Unauthorised, Forbidden)):
        return "auth"
    if isinstance(exc, AgencyRateLimited):
        return "rate-limit"  # the agency asked us to back off (429, or 503 with Retry-After)
    return "agency"


def observe_agency_call(
    agency: str, operation: str, outcome: str, seconds: float, exc: BaseException | None
) -> None:
    """One attempt at an agency operation."""
    key = (agency, operation, error_source(outcome, exc))
    child = _call_children.get(key)
    if child is None:
        child = _call_children.setdefault(key, AGENCY_CALLS.labels(*key))
    child.observe(seconds)


@dataclass(frozen=True)
class LinkState:
    """What this process last saw of one of its connections."""

    up: bool
    since: float  # time.monotonic() of the change
    reason: str = ""


_links: dict[tuple[str, int], LinkState] = {}
_links_lock = threading.Lock()


def link_up(kind: str, owner: object = None) -> None:
    """A connection of `kind` (consumer, publisher, store, broker) held by `owner` works."""
    _set_link(kind, owner, True, "")


def link_down(kind: str, reason: str, owner: object = None) -> None:
    """`owner`'s connection of `kind` was lost (or is blocked); `reason`: a short class name."""
    _set_link(kind, owner, False, reason)


def forget_link(kind: str, owner: object = None) -> None:
    """`owner` is closed: its connection no longer says anything about this process."""
    with _links_lock:
        _links.pop((kind, id(owner)), None)
        up = all(state.up for (k, _), state in _links.items() if k == kind)
    CONNECTION_UP.labels(kind).set(1 if up else 0)


def _set_link(kind: str, owner: object, up: bool, reason: str) -> None:
    key = (kind, id(owner))
    with _links_lock:
        if key in _links and _links[key].up == up:
            return
        _links[key] = LinkState(up, time.monotonic(), reason)
        all_up = all(state.up for (k, _), state in _links.items() if k == kind)
    CONNECTION_UP.labels(kind).set(1 if all_up else 0)


def links() -> dict[str, LinkState]:
    """This process's connections as last seen, by kind (a kind is down if any holder's
    connection of it is), for /readyz."""
    with _links_lock:
        by_kind: dict[str, LinkState] = {}
        for (kind, _), state in _links.items():
            if kind not in by_kind or (by_kind[kind].up and not state.up):
                by_kind[kind] = state
        return by_kind


def count_reconnection(kind: str) -> None:
    RECONNECTIONS.labels(kind).inc()


def published_confirmed() -> None:
    LAST_CONFIRM.set(time.time())


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's own switch, read at import


def share_counters_with_children(directory: Path) -> dict[str, str]:
    """`hub serve --workers N`: start an empty folder where the worker children write their
    counters, point this process's /metrics at it; returns the children's environment."""
    shutil.rmtree(directory, ignore_errors=True)  # counts of an earlier run must not add up
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    return {MULTIPROC_ENV: str(directory)}


def forget_child(pid: int) -> None:
    """A worker child has exited: its counts stay, its live gauges go."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def _counters() -> bytes:
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return generate_latest(REGISTRY)
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(merged)


def exposition(collector: Collector | None) -> bytes:
    """The counters (this process's, or every worker child's summed) followed by the
    shared-state gauges, in the text format."""
    text = _counters()
    if collector is not None:
        shared = CollectorRegistry(auto_describe=False)
        shared.register(collector)
        text += generate_latest(shared)
    return text


# Payments (docs/PAYMENTS.md). Payments by state and provider are a gauge read from the store
# at scrape time (hub/api/shared_state.py); these move where the events happen.
PAYMENT_NOTICES = Counter(
    "hub_payment_notices_total",
    "Provider notices about payments, by provider and outcome (accepted, or the problem).",
    ["provider", "outcome"],
)
PAYMENT_NOTIFICATION_LATENCY = Histogram(
    "hub_payment_notification_latency_seconds",
    "From the payer paying (the provider's paidAt) to the hub accepting the notification.",
    ["provider"],
    buckets=(0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0),
)
RECONCILIATION_DIFFERENCES = Counter(
    "hub_payment_reconciliation_differences_total",
    "Differences found reconciling a settlement report, by provider and kind.",
    ["provider", "kind"],
)
