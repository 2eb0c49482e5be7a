"""CPU per message: the hub's pipeline beside the bare work, in this process, one message at a
time, measured in CPU seconds of this process (not wall time), so the figure holds on a busy
shared machine where throughput does not. PostgreSQL and the ROP simulator do their share in
processes of their own and are not counted here.

    .venv/bin/python -m bench.cpu_per_message --messages 500 [--profile out.html]
    .venv/bin/python -m bench.cpu_per_message --store sqlite   # the embedded default's store
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, NullPool, create_engine, event, text

from bench import services
from bench.bare_work import BareParkingWork
from bench.processes import cpu_seconds, hub_env
from bench.workload import parking_requests
from hub.config import Settings
from hub.observability import configure_logging
from hub.pipeline import Outcome
from hub.runtime.build import build_runtime

T = TypeVar("T")


def count_statements(engine: Engine) -> Counter[str]:
    """Statements sent to the database from now on, by their first words (one `executemany`
    counts once: it is one round trip in pipeline mode)."""
    seen: Counter[str] = Counter()

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split()
        kind = " ".join(words[:3]) if words else "?"
        seen[kind] += 1

    event.listen(engine, "before_cursor_execute", note)
    return seen


def measure_hub(
    database: str | None,
    rop_url: str,
    messages: int,
    profile: Path | None,
    statements: Counter[str] | None = None,
) -> tuple[float, float]:
    """CPU seconds per message of this process and of the database's backends (none for the
    embedded SQLite store, `database` None)."""
    env = hub_env(Path(tempfile.mkdtemp(prefix="bench-cpu-")), rop_url, None, database)
    os.environ.update({k: v for k, v in env.items() if k.startswith("HUB_")})
    settings = Settings()
    configure_logging(settings.log_level, open(os.devnull, "w"))  # as `hub serve`: JSON lines
    with build_runtime(settings) as runtime:
        pipeline = runtime.pipeline()
        warm = parking_requests(20, f"CW{int(time.time())}")
        for request in warm:
            runtime.loop.run_until_complete(pipeline.handle(request.body))
        work = parking_requests(messages, f"CM{int(time.time())}")

        async def run_all() -> None:
            for request in work:
                handled = await pipeline.handle(request.body)
                if handled.outcome is not Outcome.DONE:
                    raise RuntimeError(f"{request.event_id}: {handled.outcome}")

        seen = count_statements(runtime.engine)
        backends = _backends(runtime.engine) if database else []
        backend_cpu = sum(cpu_seconds(pid) for pid in backends)
        profiler = _profiler(profile)
        started = time.process_time()
        runtime.loop.run_until_complete(run_all())
        spent = time.process_time() - started
        _save(profiler, profile)
        backend_spent = sum(cpu_seconds(pid) for pid in backends) - backend_cpu
        if statements is not None:
            statements.update(seen)
        return spent / messages, backend_spent / messages


def _backends(engine: Engine) -> list[int]:
    """The PostgreSQL backends serving this (fresh, private) database: the hub's pool, warm.
    Asked on a connection of its own, outside the hub's pool."""
    probe = create_engine(engine.url, poolclass=NullPool)
    with probe.connect() as conn:
        pids = list(
            conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ).scalars()
        )
    probe.dispose()
    return pids


def measure_bare(broker: str, database: str, rop_url: str, messages: int) -> float:
    work = BareParkingWork(broker, database, rop_url)
    try:
        for request in parking_requests(20, f"BW{int(time.time())}"):
            work.process(request.body)
        requests = parking_requests(messages, f"BM{int(time.time())}")
        started = time.process_time()
        for request in requests:
            work.process(request.body)
        return (time.process_time() - started) / messages
    finally:
        work.close()


def _profiler(path: Path | None) -> cProfile.Profile | None:
    """CPU-time cProfile of every thread's share: store work runs inline while profiling."""
    if path is None:
        return None

    async def inline(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return func(*args, **kwargs)

    asyncio.to_thread = inline  # type: ignore[assignment]
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    return profiler


def _save(profiler: cProfile.Profile | None, path: Path | None) -> None:
    if profiler is None or path is None:
        return
    profiler.disable()
    with path.open("w") as out:
        profiler.dump_stats(str(path) + ".pstats")
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(80)
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(50)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_per_message", description=__doc__)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument(
        "--store",
        choices=["postgres", "sqlite"],
        default="postgres",
        help="the hub's store: PostgreSQL (beside the bare work) or the embedded SQLite file",
    )
    parser.add_argument(
        "--profile", type=Path, default=None, help="cProfile (CPU time) of the hub, as text"
    )
    args = parser.parse_args()
    if args.store == "sqlite":
        with services.rop_simulator() as rop_url:
            statements = Counter[str]()
            hub, _ = measure_hub(None, rop_url, args.messages, args.profile, statements)
        print(f"hub (SQLite):  {hub * 1000:.2f} ms CPU/message")
        _print_statements(statements, args.messages)
        return
    missing = services.unreachable_reason()
    if missing:
        raise SystemExit(missing)
    with services.rop_simulator() as rop_url, services.fresh_vhost("cpu") as broker:
        with services.fresh_database("cpubare") as bare_db:
            bare = measure_bare(broker, bare_db, rop_url, args.messages)
        with services.fresh_database("cpuhub") as hub_db:
            statements: Counter[str] = Counter()
            hub, backends = measure_hub(hub_db, rop_url, args.messages, args.profile, statements)
    print(f"bare: {bare * 1000:.2f} ms CPU/message")
    print(f"hub:  {hub * 1000:.2f} ms CPU/message ({hub / bare:.2f}x bare)")
    print(f"hub:  {backends * 1000:.2f} ms CPU/message in its PostgreSQL backends")
    _print_statements(statements, args.messages)


def _print_statements(statements: Counter[str], messages: int) -> None:
    total = sum(statements.values())
    print(f"hub:  {total / messages:.2f} statements/message (executemany counts once):")
    for kind, count in statements.most_common():
        print(f"  {count / messages:5.2f}  {kind}")


if __name__ == "__main__":
    main()
