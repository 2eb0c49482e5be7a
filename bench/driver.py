"""Drive a worker from outside, as a municipal backend would: publish requests, read results
from municipal.out, and time each request from its publish to the result naming it as cause."""

from __future__ import annotations

import json
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from kombu import Connection, Consumer

import hub.bus  # noqa: F401  (registers the embedded transport's URL alias)
from bench.workload import PARKING_TYPE, Request
from hub.bus.publisher import Publisher
from hub.bus.topology import IN_EXCHANGE, declare_topology, results_queue

Send = Callable[[Request], None]


@dataclass
class Phase:
    """What one phase measured; latencies in milliseconds."""

    sent: int
    answered: int
    elapsed_s: float
    msgs_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    rate_asked: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 of 200 samples is the 198th)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


class ResultCollector:
    """A results queue of our own on municipal.out, read on a thread; arrival time per cause."""

    def __init__(self, broker_url: str) -> None:
        self._connection = Connection(broker_url)
        self._queue = results_queue(f"bench.results.{uuid.uuid4().hex[:8]}", broker_url)
        self._queue(self._connection.default_channel).declare()
        self.arrivals: dict[str, float] = {}
        self.types: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-results", daemon=True)
        self._thread.start()

    def _on_message(self, body: Any, message: Any) -> None:
        now = time.perf_counter()
        event = json.loads(message.body)
        cause = event.get("causationid")
        if isinstance(cause, str):
            self.arrivals.setdefault(cause, now)
        self.types[str(event.get("type"))] += 1
        message.ack()

    def _run(self) -> None:
        channel = self._connection.channel()
        channel.basic_qos(0, 256, False)
        with Consumer(channel, [self._queue], callbacks=[self._on_message], accept=None):
            while not self._stop.is_set():
                try:
                    self._connection.drain_events(timeout=0.2)
                except TimeoutError:
                    continue
                except OSError:  # socket.timeout on some transports
                    continue

    def wait_for(self, ids: set[str], timeout_s: float, idle_s: float) -> None:
        """Until every id has a result, the time is up, or nothing new came for `idle_s`."""
        deadline = time.monotonic() + timeout_s
        seen, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            answered = sum(1 for i in ids if i in self.arrivals)
            if answered == len(ids):
                return
            if answered != seen:
                seen, last_change = answered, time.monotonic()
            elif time.monotonic() - last_change > idle_s:
                return
            time.sleep(0.05)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        try:
            self._queue(self._connection.default_channel).delete()
        finally:
            self._connection.release()


class CloudEventSender:
    """Publishes requests to municipal.in with a confirm, as the hub's own Publisher does."""

    def __init__(self, broker_url: str, declare: bool = True) -> None:
        self._publisher = Publisher(broker_url)
        if declare:  # the hub's queue exists before anything is published: nothing is dropped
            declare_topology(self._publisher.producer.channel, broker_url)

    def __call__(self, request: Request) -> None:
        self._publisher.publish(request.body, exchange=IN_EXCHANGE, routing_key=PARKING_TYPE)

    def close(self) -> None:
        self._publisher.close()


def _phase(
    sent_at: dict[str, float], collector: ResultCollector, started: float, rate: float | None
) -> Phase:
    latencies = [
        (collector.arrivals[i] - t) * 1000 for i, t in sent_at.items() if i in collector.arrivals
    ]
    last = max((collector.arrivals[i] for i in sent_at if i in collector.arrivals), default=started)
    elapsed = last - started
    return Phase(
        sent=len(sent_at),
        answered=len(latencies),
        elapsed_s=round(elapsed, 3),
        msgs_per_s=round(len(latencies) / elapsed, 1) if elapsed > 0 else 0.0,
        p50_ms=round(percentile(latencies, 50), 1),
        p95_ms=round(percentile(latencies, 95), 1),
        p99_ms=round(percentile(latencies, 99), 1),
        rate_asked=rate,
    )


def burst(
    send: Send, requests: Sequence[Request], collector: ResultCollector, timeout_s: float
) -> Phase:
    """Publish everything at once: throughput at saturation (latency here includes queueing)."""
    sent_at: dict[str, float] = {}
    started = time.perf_counter()
    for request in requests:
        sent_at[request.event_id] = time.perf_counter()
        send(request)
    collector.wait_for(set(sent_at), timeout_s, idle_s=min(timeout_s, 60.0))
    return _phase(sent_at, collector, started, None)


def paced(
    send: Send,
    requests: Sequence[Request],
    collector: ResultCollector,
    rate: float,
    timeout_s: float,
) -> Phase:
    """Publish at a steady `rate` per second: latency with the worker not saturated."""
    sent_at: dict[str, float] = {}
    started = time.perf_counter()
    for index, request in enumerate(requests):
        due = started + index / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        sent_at[request.event_id] = time.perf_counter()
        send(request)
    collector.wait_for(set(sent_at), timeout_s, idle_s=min(timeout_s, 60.0))
    return _phase(sent_at, collector, started, round(rate, 1))


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")
