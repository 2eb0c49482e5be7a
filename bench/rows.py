"""One row of the benchmark: start a worker, warm it up, then measure throughput (a burst),
latency at half of that peak (paced), and the worker's memory; the same steps for every row."""

from __future__ import annotations

import contextlib
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import processes, services
from bench.bare_work import RESULT_TYPE
from bench.driver import CloudEventSender, Phase, ResultCollector, Send, burst, paced
from bench.workload import Request, parking_requests
from hub.audit.journal import CheckpointJournal
from hub.audit.keys import existing_signing_key
from hub.audit.verify import verify_chain
from hub.config import Settings
from hub.store.engine import make_engine, make_session_factory

WARMUP = 20
WARMUP_TIMEOUT_S = 180.0


CELERY_ROW = "Celery worker (prefork, 1 child)"


@dataclass
class Sizes:
    messages: int
    paced_messages: int
    memory_messages: int
    profile_dir: Path | None
    profile_cpu: bool = False  # record running threads only (where the CPU goes), not waits


@dataclass
class Row:
    name: str
    skipped: str | None = None
    throughput: Phase | None = None
    half_peak: Phase | None = None
    rss_kib: dict[str, int] = field(default_factory=dict)
    # CPU milliseconds per message during the burst: the worker processes', the machine's
    cpu_ms_per_message: dict[str, float] = field(default_factory=dict)
    memory: dict[str, Any] | None = None
    audit_verify: dict[str, Any] | None = None
    profile: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "skipped": self.skipped,
            "throughput": self.throughput.as_dict() if self.throughput else None,
            "half_peak": self.half_peak.as_dict() if self.half_peak else None,
            "rss_kib": self.rss_kib,
            "cpu_ms_per_message": self.cpu_ms_per_message,
            "memory": self.memory,
            "audit_verify": self.audit_verify,
            "profile": self.profile,
            "notes": self.notes,
        }


def slug(name: str) -> str:
    """A file-name-safe form of a row name."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _rss(pids: list[int]) -> int:
    return sum(processes.rss_kib(p) for p in pids)


def _cpu(pids: list[int], *, system_only: bool = False) -> float:
    return sum(processes.cpu_seconds(p, system_only=system_only) for p in pids)


def measure(
    row: Row,
    sizes: Sizes,
    send: Send,
    collector: ResultCollector,
    worker_pids: Callable[[], list[int]],
    *,
    memory: bool = False,
    profile_idle: bool = True,
    database: str | None = None,
) -> None:
    """Warm-up, burst, paced (and, when asked, the long memory run) against a started worker."""
    tag = f"{row.name.split()[0]}{int(time.time())}".upper()  # the contract: [A-Z0-9-]
    warm = parking_requests(WARMUP, f"W{tag}")
    warm_phase = burst(send, warm, collector, WARMUP_TIMEOUT_S)
    if warm_phase.answered < len(warm):
        raise RuntimeError(f"{row.name}: only {warm_phase.answered}/{len(warm)} warm-up results")
    if set(collector.types) != {RESULT_TYPE}:  # a rejection skips the agency call: not measured
        raise RuntimeError(f"{row.name}: warm-up results were {dict(collector.types)}")
    pids = worker_pids()
    row.rss_kib["after_warmup"] = _rss(pids)
    profiler = None
    if sizes.profile_dir is not None:
        out = sizes.profile_dir / f"profile-{slug(row.name)}.txt"
        profiler = processes.Profiler(pids[0], out, idle=profile_idle and not sizes.profile_cpu)
        row.profile = str(out)
    timeout = max(120.0, sizes.messages / 5)
    worker_cpu, machine_cpu = _cpu(pids), processes.machine_busy_seconds()
    worker_sys = _cpu(pids, system_only=True)
    services_cpu = processes.service_cpu_seconds()
    backends = services.database_backends(database) if database else []
    backends_cpu = {pid: processes.cpu_seconds(pid) for pid in backends}
    row.throughput = burst(send, parking_requests(sizes.messages, f"B{tag}"), collector, timeout)
    answered = max(1, row.throughput.answered)
    row.cpu_ms_per_message = {
        "worker": round((_cpu(pids) - worker_cpu) * 1000 / answered, 2),
        "worker_system": round((_cpu(pids, system_only=True) - worker_sys) * 1000 / answered, 2),
        "machine": round((processes.machine_busy_seconds() - machine_cpu) * 1000 / answered, 2),
    }
    for service, used in processes.service_cpu_seconds().items():
        spent = used - services_cpu[service]
        row.cpu_ms_per_message[service] = round(spent * 1000 / answered, 2)
    if backends:  # this row's own backends, warm after the warm-up (a later one is missed;
        # one that exits meanwhile takes its share with it, so it counts nothing, not less)
        spent = sum(
            max(0.0, processes.cpu_seconds(pid) - used) for pid, used in backends_cpu.items()
        )
        row.cpu_ms_per_message["postgresql_own"] = round(spent * 1000 / answered, 2)
    if profiler is not None:
        profiler.stop()
    rate = max(1.0, row.throughput.msgs_per_s / 2)
    paced_requests = parking_requests(sizes.paced_messages, f"P{tag}")
    row.half_peak = paced(send, paced_requests, collector, rate, timeout)
    row.rss_kib["after_measured"] = _rss(pids)
    row.notes.append(f"result types: {dict(collector.types)}")
    if memory and sizes.memory_messages:
        _memory_run(row, sizes.memory_messages, send, collector, pids, tag)


def _memory_run(
    row: Row, count: int, send: Send, collector: ResultCollector, pids: list[int], tag: str
) -> None:
    """RSS before and after `count` more messages, sampled every tenth of the way."""
    before = _rss(pids)
    samples: list[int] = []
    chunk = max(1, count // 10)
    answered = 0
    started = time.perf_counter()
    for start in range(0, count, chunk):
        batch = parking_requests(min(chunk, count - start), f"M{start}{tag}")
        phase = burst(send, batch, collector, max(120.0, len(batch) / 5))
        answered += phase.answered
        samples.append(_rss(pids))
    row.memory = {
        "messages": count,
        "answered": answered,
        "seconds": round(time.perf_counter() - started, 1),
        "rss_before_kib": before,
        "rss_after_kib": samples[-1] if samples else before,
        "growth_kib": (samples[-1] if samples else before) - before,
        "samples_kib": samples,
    }


def audit_rate(data_dir: Path, database_url: str | None) -> dict[str, Any]:
    """Verify the trail the run left (as `hub audit verify` does), timing the walk itself."""
    settings = Settings(data_dir=data_dir, database_url=database_url)
    engine = make_engine(settings.resolved_database_url)
    try:
        key = existing_signing_key(settings)
        started = time.perf_counter()
        result = verify_chain(
            make_session_factory(engine),
            public_key=key.public_key() if key is not None else None,
            journal=CheckpointJournal.from_settings(settings),
        )
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    return {
        "entries": result.entries,
        "seconds": round(seconds, 3),
        "entries_per_s": round(result.entries / seconds) if seconds > 0 else 0,
        "intact": result.ok,
    }


@contextlib.contextmanager
def _rabbit_and_postgres(tag: str) -> Iterator[tuple[str, str]]:
    with services.fresh_vhost(tag) as broker, services.fresh_database(tag) as database:
        yield broker, database


def _sender_and_collector(broker: str) -> tuple[CloudEventSender, ResultCollector]:
    return CloudEventSender(broker), ResultCollector(broker)


def run_hub(
    name: str,
    sizes: Sizes,
    rop_url: str,
    *,
    workers: int,
    embedded: bool,
    memory: bool,
    logs: Path,
    rop_rate_limit: bool = False,
) -> Row:
    """`hub serve` as a subprocess on its own data dir (and vhost + database when not embedded)."""
    row = Row(name)
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp, contextlib.ExitStack() as stack:
        data_dir = Path(tmp)
        broker = database = None
        if not embedded:
            broker, database = stack.enter_context(_rabbit_and_postgres(f"hub{workers}"))
        env = processes.hub_env(data_dir, rop_url, broker, database, rop_rate_limit=rop_rate_limit)
        url = broker or Settings(data_dir=data_dir).resolved_broker_url
        sender, collector = _sender_and_collector(url)
        try:
            log = logs / f"{slug(name)}.log"
            with processes.started(processes.hub_command(workers), env, log) as hub:

                def pids() -> list[int]:
                    return [hub.pid] if workers == 1 else processes.children(hub.pid)

                measure(row, sizes, sender, collector, pids, memory=memory, database=database)
            row.audit_verify = audit_rate(data_dir, database)
        finally:
            sender.close()
            collector.close()
    return row


def run_bare(sizes: Sizes, rop_url: str, logs: Path) -> Row:
    """The bare kombu + jsonschema + httpx + SQLAlchemy consumer, sequential."""
    from bench import bare

    row = Row("bare pipeline (kombu, RabbitMQ + PostgreSQL)")
    with _rabbit_and_postgres("bare") as (broker, database):
        bare.declare(broker)
        sender, collector = _sender_and_collector(broker)
        try:
            command = processes.bare_command(broker, database, rop_url)
            with processes.started(command, processes.bare_env(), logs / "bare.log") as proc:
                measure(row, sizes, sender, collector, lambda: [proc.pid], database=database)
        finally:
            sender.close()
            collector.close()
    return row


def run_celery(sizes: Sizes, rop_url: str, logs: Path) -> Row:
    """A Celery worker (prefork pool, one child process) doing the same work, acked late;
    its CPU and memory are the parent's and the child's together."""
    from bench import celery_app

    row = Row(CELERY_ROW)
    with _rabbit_and_postgres("celery") as (broker, database):
        celery_app.app.conf.broker_url = broker
        collector = ResultCollector(broker)

        def send(request: Request) -> None:
            celery_app.parking.apply_async(args=[request.body.decode("utf-8")])

        try:
            env = processes.celery_env(broker, database, rop_url)
            with processes.started(processes.celery_command(), env, logs / "celery.log") as proc:
                measure(
                    row,
                    sizes,
                    send,
                    collector,
                    lambda: [proc.pid, *processes.children(proc.pid)],
                    database=database,
                )
        finally:
            collector.close()
            celery_app.app.pool.force_close_all()
            # Forget the closed pools (as Celery does after a fork), or the next Celery row
            # (--repeat) fails with "Acquire on closed pool" and would publish to this vhost.
            celery_app.app._after_fork()
    return row
