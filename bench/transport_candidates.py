"""Measure the broker-less kombu transports the embedded default could use, in one run:
publish N messages, then consume and ack them, beside kombu's `memory://` as the upper bound;
and check whether a message taken by a consumer killed with SIGKILL comes back.

    .venv/bin/python bench/transport_candidates.py --messages 5000

Not a test: it prints a table (and is where the figures in docs/transport-choice.md come from).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kombu import Connection, Consumer, Exchange, Producer, Queue

import hub.bus  # noqa: F401  (registers the embedded alias)

EXCHANGE = Exchange("municipal.in", type="topic", durable=True)
ROUTING_KEY = "permit.parking.requested"
CRASH_LEASE_S = 1.0
CRASH_GRACE_S = 4.0
EVENT = {
    "specversion": "1.0",
    "type": ROUTING_KEY,
    "source": "urn:muscat:baladiyati",
    "datacontenttype": "application/json",
    "data": {
        "plate": "12345 AB",
        "civil_id": "12345678",
        "owner": "سالم بن خلفان البلوشي",
        "zone": "مطرح",
        "months": 6,
    },
}


@dataclass(frozen=True)
class Candidate:
    name: str
    url: str
    options: dict[str, Any]
    crosses_processes: bool = True


def candidates(workdir: Path) -> list[Candidate]:
    fs = workdir / "fs"
    for sub in ("queue", "processed", "control"):
        (fs / sub).mkdir(parents=True, exist_ok=True)
    return [
        Candidate("memory://", "memory://", {}, crosses_processes=False),
        Candidate(
            "embedded (ours)",
            f"embedded+sqlite:///{workdir / 'embedded.sqlite3'}",
            {"visibility_timeout": CRASH_LEASE_S},
        ),
        Candidate("sqla+sqlite://", f"sqla+sqlite:///{workdir / 'sqla.sqlite3'}", {}),
        Candidate(
            "filesystem://",
            "filesystem://",
            {
                "data_folder_in": str(fs / "queue"),
                "data_folder_out": str(fs / "queue"),
                "processed_folder": str(fs / "processed"),
                "control_folder": str(fs / "control"),
            },
        ),
    ]


def queue(name: str) -> Queue:
    return Queue(name, exchange=EXCHANGE, routing_key="#", durable=True)


def publish_rate(candidate: Candidate, count: int, queue_name: str) -> float:
    body = json.dumps(EVENT, ensure_ascii=False).encode("utf-8")
    with Connection(candidate.url, transport_options=candidate.options) as conn:
        producer = Producer(conn.channel())
        queue(queue_name)(producer.channel).declare()
        started = time.perf_counter()
        for _ in range(count):
            producer.publish(
                body,
                exchange=EXCHANGE,
                routing_key=ROUTING_KEY,
                content_type="application/cloudevents+json",
                content_encoding="utf-8",
            )
        return count / (time.perf_counter() - started)


def consume_rate(candidate: Candidate, count: int, queue_name: str, budget_s: float) -> str:
    """Consume and ack until `count` arrived or the budget ran out (then the partial rate)."""
    received = 0

    def on_message(body: Any, message: Any) -> None:
        nonlocal received
        received += 1
        message.ack()

    with Connection(candidate.url, transport_options=candidate.options) as conn:
        channel = conn.channel()
        with Consumer(channel, [queue(queue_name)], callbacks=[on_message], prefetch_count=10):
            started = time.perf_counter()
            deadline = started + budget_s
            while received < count and time.perf_counter() < deadline:
                try:
                    conn.drain_events(timeout=1.0)
                except TimeoutError:
                    pass
            elapsed = time.perf_counter() - started
    rate = received / elapsed
    return f"{rate:.0f}" if received == count else f"{rate:.0f} ({received}/{count} in budget)"


CRASH_CHILD = """
import json, sys, time
from pathlib import Path
import hub.bus
from kombu import Connection
url, options, queue_name, marker = sys.argv[1], json.loads(sys.argv[2]), *sys.argv[3:5]
with Connection(url, transport_options=options) as conn:
    channel = conn.channel()
    deadline = time.monotonic() + 10
    message = None
    while message is None and time.monotonic() < deadline:
        message = channel.basic_get(queue_name)
        time.sleep(0.01)
    Path(marker).write_text("taken" if message is not None else "nothing")
    time.sleep(60)
"""


def crash_check(candidate: Candidate, workdir: Path) -> str:
    """Publish one message, let a child process take it without ack, SIGKILL the child, then
    see whether the message can be consumed again within the lease plus a grace period."""
    if not candidate.crosses_processes:
        return "n/a (in process)"
    queue_name = "crash.check"
    with Connection(candidate.url, transport_options=candidate.options) as conn:
        producer = Producer(conn.channel())
        queue(queue_name)(producer.channel).declare()
        producer.publish({"n": 1}, exchange=EXCHANGE, routing_key=ROUTING_KEY)
    marker = workdir / f"crash-{os.getpid()}-{time.monotonic_ns()}"
    child = subprocess.Popen(
        [sys.executable, "-c", CRASH_CHILD, candidate.url, json.dumps(candidate.options)]
        + [queue_name, str(marker)],
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while not marker.exists() and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.02)
        if not marker.exists() or marker.read_text() != "taken":
            return "child took nothing"
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=10)
    with Connection(candidate.url, transport_options=candidate.options) as conn:
        channel = conn.channel()
        deadline = time.monotonic() + CRASH_LEASE_S + CRASH_GRACE_S
        while time.monotonic() < deadline:
            message = channel.basic_get(queue_name)
            if message is not None:
                message.ack()
                return "comes back"
            time.sleep(0.05)
    return f"not back after {CRASH_LEASE_S + CRASH_GRACE_S:.0f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--consume-budget", type=float, default=120.0, help="seconds per run")
    parser.add_argument("--no-crash-check", action="store_true")
    parser.add_argument(
        "--skip", nargs="*", default=[], help="candidate names to leave out, e.g. filesystem://"
    )
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        workdir = Path(tmp)
        for candidate in candidates(workdir):
            if candidate.name in args.skip and candidate.name != "memory://":
                continue
            publish = publish_rate(candidate, args.messages, "bench")
            consume = consume_rate(candidate, args.messages, "bench", args.consume_budget)
            crash = "skipped" if args.no_crash_check else crash_check(candidate, workdir)
            rows.append((candidate.name, publish, consume, crash))
            print(f"  {candidate.name}: done", file=sys.stderr)

    memory_publish = rows[0][1]
    memory_consume = float(rows[0][2].split()[0])
    print(f"\n{args.messages} messages, Python {sys.version.split()[0]}")
    print("| transport | publish msg/s | vs memory | consume+ack msg/s | vs memory | kill -9 |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name, publish, consume, crash in rows:
        consume_ratio = float(consume.split()[0]) / memory_consume
        print(
            f"| {name} | {publish:.0f} | {publish / memory_publish:.2f} | {consume} "
            f"| {consume_ratio:.3f} | {crash} |"
        )


if __name__ == "__main__":
    main()
