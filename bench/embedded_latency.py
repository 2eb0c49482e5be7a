"""Idle-to-delivery latency and idle CPU of the embedded transport, before and after, in one run.

    .venv/bin/python -m bench.embedded_latency
    .venv/bin/python -m bench.embedded_latency --pings 300 --gap-ms 20 --idle-s 10

"before" is the transport as it was at `--baseline-ref` (read with `git show` into a temporary
package and registered with kombu as ``embeddedbase``), "after" is the working tree; both run
side by side on the same machine, so the ratios are what to read. Not a test.

Measured, per variant:
- ping-pong across two processes: this process publishes a ping, an echo process consumes it
  (``drain_events(timeout=1)``, as ConsumerMixin does) and publishes a pong, this process
  consumes the pong. Round trip = two hops, each idle-to-delivery. Pings are spaced by
  `--gap-ms` (jittered), as at a steady rate below peak; then a few after a long quiet gap.
- idle CPU: a consumer process takes one message, then waits on an empty queue for `--idle-s`;
  CPU seconds (user + system, getrusage) used while waiting.
- ``drain_events(timeout=0.01)`` on an empty queue: how long it takes to give up.
- burst: publish `--burst` messages, then consume and ack them (throughput must not regress).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kombu import Connection, Consumer, Producer, Queue
from kombu.transport import TRANSPORT_ALIASES

import hub.bus  # noqa: F401  (registers the embedded alias)

REPO = Path(__file__).resolve().parents[1]
# The last commit whose transport polled with a fixed 50 ms sleep.
DEFAULT_BASELINE_REF = "5100923"
BASELINE_PACKAGE = "_embedded_baseline"
BASELINE_ALIAS = "embeddedbase"
PING, PONG, IDLE, BURST = "bench.ping", "bench.pong", "bench.idle", "bench.burst"


@dataclass
class Variant:
    name: str
    url: str
    figures: dict[str, str] = field(default_factory=dict)


def register_baseline(directory: Path) -> None:
    """Make ``embeddedbase+sqlite://`` load the baseline copy in `directory`."""
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    TRANSPORT_ALIASES[BASELINE_ALIAS] = f"{BASELINE_PACKAGE}.embedded:Transport"


def extract_baseline(ref: str, workdir: Path) -> Path | None:
    """Write the transport as it was at `ref` into a package of its own; None without git."""
    package = workdir / "baseline" / BASELINE_PACKAGE
    package.mkdir(parents=True)
    try:
        for name in ("embedded.py", "embedded_store.py"):
            source = subprocess.run(
                ["git", "show", f"{ref}:hub/bus/{name}"],
                cwd=REPO,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            source = source.replace("hub.bus.embedded_store", f"{BASELINE_PACKAGE}.embedded_store")
            (package / name).write_text(source)
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"baseline {ref} not available ({error}); measuring the working tree only")
        return None
    (package / "__init__.py").write_text("")
    return package.parent


def child(role: str, url: str, baseline: str, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "bench.embedded_latency", "--role", role, "--url", url]
    command += ["--baseline-dir", baseline, *args]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)


def declare(url: str, *names: str) -> None:
    with Connection(url) as conn:
        channel = conn.channel()
        for name in names:
            Queue(name)(channel).declare()


# Child roles ------------------------------------------------------------------------------


def run_echo(url: str) -> None:
    """Answer every ping with a pong carrying the same body, until the body is "stop"."""
    stop = threading.Event()
    with Connection(url) as conn, Connection(url) as out:
        producer = Producer(out.channel())

        def on_message(body: Any, message: Any) -> None:
            message.ack()
            producer.publish(body, routing_key=PONG)
            if body == "stop":
                stop.set()

        with Consumer(conn.channel(), [Queue(PING)], callbacks=[on_message], prefetch_count=8):
            print("ready", flush=True)
            while not stop.is_set():
                try:
                    conn.drain_events(timeout=1.0)
                except TimeoutError:
                    pass


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_idle(url: str, idle_s: float) -> None:
    """Take one message (so the consumer has just been busy), then wait on an empty queue."""
    got = threading.Event()
    with Connection(url) as conn:

        def on_message(body: Any, message: Any) -> None:
            message.ack()
            got.set()

        with Consumer(conn.channel(), [Queue(IDLE)], callbacks=[on_message], prefetch_count=8):
            print("ready", flush=True)
            while not got.is_set():
                try:
                    conn.drain_events(timeout=1.0)
                except TimeoutError:
                    pass
            before, started = cpu_s(), time.monotonic()
            while time.monotonic() - started < idle_s:
                try:
                    conn.drain_events(timeout=1.0)
                except TimeoutError:
                    pass
            print(f"cpu {cpu_s() - before:.4f} {time.monotonic() - started:.3f}", flush=True)


# Measurements ------------------------------------------------------------------------------


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return f"{cuts[49]:.2f} / {cuts[94]:.2f} / {cuts[98]:.2f}"


def ping_pong(variant: Variant, baseline: str, pings: int, gap_s: float, quiet: int) -> None:
    declare(variant.url, PING, PONG)
    echo = child("echo", variant.url, baseline)
    assert echo.stdout is not None
    echo.stdout.readline()
    arrived: dict[int, float] = {}
    lock = threading.Condition()

    def on_message(body: Any, message: Any) -> None:
        message.ack()
        with lock:
            arrived[int(body) if body != "stop" else -1] = time.perf_counter()
            lock.notify_all()

    def rtt_ms(n: int) -> float:
        sent = time.perf_counter()
        producer.publish(str(n), routing_key=PING)
        while n not in arrived:
            conn.drain_events(timeout=5.0)
        return (arrived[n] - sent) * 1000

    random.seed(7)
    with Connection(variant.url) as conn, Connection(variant.url) as out:
        producer = Producer(out.channel())
        with Consumer(conn.channel(), [Queue(PONG)], callbacks=[on_message], prefetch_count=8):
            for n in range(5):  # warm-up
                rtt_ms(n)
            steady: list[float] = []
            for n in range(5, 5 + pings):
                time.sleep(gap_s * random.uniform(0.5, 1.5))
                steady.append(rtt_ms(n))
            after_quiet: list[float] = []
            for n in range(10_000, 10_000 + quiet):
                time.sleep(2.0)
                after_quiet.append(rtt_ms(n))
            producer.publish("stop", routing_key=PING)
    echo.communicate(timeout=10)
    if len(steady) >= 2:
        variant.figures["rtt p50/p95/p99 ms"] = percentiles(steady)
        variant.figures["rtt_p50"] = f"{statistics.median(steady):.3f}"
    if after_quiet:
        variant.figures["rtt after 2 s quiet, median ms"] = f"{statistics.median(after_quiet):.2f}"


def timeout_promptness(variant: Variant) -> None:
    """How long drain_events(timeout=0.01) takes to give up on an empty queue."""
    declare(variant.url, IDLE + ".empty")
    took: list[float] = []
    with Connection(variant.url) as conn:
        with Consumer(conn.channel(), [Queue(IDLE + ".empty")], callbacks=[lambda b, m: None]):
            for _ in range(50):
                started = time.perf_counter()
                try:
                    conn.drain_events(timeout=0.01)
                except TimeoutError:
                    pass
                took.append((time.perf_counter() - started) * 1000)
    variant.figures["drain_events(timeout=10 ms) returns after, mean/max ms"] = (
        f"{statistics.mean(took):.1f} / {max(took):.1f}"
    )


def burst(variant: Variant, count: int) -> None:
    declare(variant.url, BURST)
    received = 0

    def on_message(body: Any, message: Any) -> None:
        nonlocal received
        received += 1
        message.ack()

    with Connection(variant.url) as conn:
        producer = Producer(conn.channel())
        for n in range(count):
            producer.publish({"n": n}, routing_key=BURST)
        with Consumer(conn.channel(), [Queue(BURST)], callbacks=[on_message], prefetch_count=10):
            started = time.perf_counter()
            while received < count:
                conn.drain_events(timeout=5.0)
            rate = count / (time.perf_counter() - started)
    variant.figures["burst consume+ack msg/s"] = f"{rate:.0f}"


def idle_cpu(variants: list[Variant], baseline: str, idle_s: float) -> None:
    """Both variants' idle consumers at once, so they see the same machine."""
    procs = []
    for variant in variants:
        declare(variant.url, IDLE)
        proc = child("idle", variant.url, baseline, "--idle-s", str(idle_s))
        assert proc.stdout is not None
        proc.stdout.readline()
        with Connection(variant.url) as conn:
            Producer(conn.channel()).publish("go", routing_key=IDLE)
        procs.append(proc)
    for variant, proc in zip(variants, procs, strict=True):
        out, _ = proc.communicate(timeout=idle_s + 30)
        _, used, wall = out.split()[-3:]
        variant.figures[f"idle CPU s over {idle_s:.0f} s"] = used
        variant.figures["idle CPU % of a core"] = f"{float(used) / float(wall) * 100:.3f}"


def ratio(before: str, after: str) -> str:
    try:
        b, a = float(before.split()[0]), float(after.split()[0])
    except ValueError:
        return ""
    return f"{a / b:.2f}x" if b else ""


def report(variants: list[Variant]) -> None:
    keys = [k for k in variants[-1].figures if k != "rtt_p50"]
    width = max(len(k) for k in keys)
    print(f"\n{'':{width}}  " + "  ".join(f"{v.name:>22}" for v in variants) + "   after/before")
    for key in keys:
        cells = [v.figures.get(key, "-") for v in variants]
        change = ratio(cells[0], cells[-1]) if len(variants) == 2 else ""
        print(f"{key:{width}}  " + "  ".join(f"{c:>22}" for c in cells) + f"   {change}")
    if len(variants) == 2:
        b, a = (float(v.figures["rtt_p50"]) for v in variants)
        print(f"\nround-trip p50 (two hops): after/before = {a / b:.3f} ({b:.2f} -> {a:.2f} ms)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=200)
    parser.add_argument("--gap-ms", type=float, default=20.0, help="mean gap between pings")
    parser.add_argument("--quiet-pings", type=int, default=5, help="pings after 2 s quiet")
    parser.add_argument("--idle-s", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=3000)
    parser.add_argument("--baseline-ref", default=DEFAULT_BASELINE_REF)
    parser.add_argument("--role", choices=["echo", "idle"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--baseline-dir", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.baseline_dir:
        register_baseline(Path(args.baseline_dir))
    if args.role == "echo":
        return run_echo(args.url)
    if args.role == "idle":
        return run_idle(args.url, args.idle_s)

    workdir = Path(tempfile.mkdtemp(prefix="embedded-latency-"))
    try:
        baseline_dir = extract_baseline(args.baseline_ref, workdir)
        variants = []
        if baseline_dir is not None:
            register_baseline(baseline_dir)
            variants.append(
                Variant(
                    f"before ({args.baseline_ref})",
                    f"{BASELINE_ALIAS}+sqlite:///{workdir / 'before.sqlite3'}",
                )
            )
        variants.append(Variant("after (working tree)", f"embedded+sqlite:///{workdir / 'a.db'}"))
        baseline = str(baseline_dir or "")
        steps: list[tuple[str, Callable[[Variant], None]]] = [
            ("ping-pong", lambda v: ping_pong(v, baseline, args.pings, args.gap_ms / 1000, 0)),
            ("timeout", timeout_promptness),
            ("burst", lambda v: burst(v, args.burst)),
        ]
        for label, step in steps:
            for variant in variants:
                print(f"{label}: {variant.name}", flush=True)
                step(variant)
        for variant in variants:
            print(f"quiet pings: {variant.name}", flush=True)
            quiet = Variant(variant.name, variant.url)
            ping_pong(quiet, baseline, 1, 0.0, args.quiet_pings)
            variant.figures["rtt after 2 s quiet, median ms"] = quiet.figures[
                "rtt after 2 s quiet, median ms"
            ]
        print(f"idle CPU: {args.idle_s:.0f} s, both variants at once", flush=True)
        idle_cpu(variants, baseline, args.idle_s)
        report(variants)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
