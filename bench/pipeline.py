"""Drive parking permit requests through the full pipeline (consume, validate, one ROP call,
record, audit, outbox, publish, ack) and compare the hub with the bare parts and with Celery;
then time `hub audit verify` on a PostgreSQL trail of 200,000 entries.

    .venv/bin/python -m bench.pipeline                       # defaults: a few minutes
    .venv/bin/python -m bench.pipeline --messages 5000 --memory-messages 100000
    .venv/bin/python -m bench.pipeline --repeat 3       # issue 18's figure: median of 3 runs

Not a test (pytest never collects bench/). Prints a table and writes bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from bench import rows as bench_rows
from bench import services
from bench.audit_verify import trail_rate
from bench.report import render, render_targets, write
from bench.rows import Row, Sizes
from bench.targets import evaluate

SHIPPED = "as shipped: hub RabbitMQ+PostgreSQL 1 worker, ROP limit 20/s"
ALL_ROWS = ("embedded", "pg1", "pg2", "bare", "celery", "pg1-shipped")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__)
    parser.add_argument(
        "--messages", type=int, default=1000, help="messages in the throughput burst of each row"
    )
    parser.add_argument(
        "--paced-messages",
        type=int,
        default=None,
        help="messages sent at half of each row's peak (default messages/4)",
    )
    parser.add_argument(
        "--memory-messages",
        type=int,
        default=3000,
        help="extra messages for the hub worker's RSS check (the issue: 100000)",
    )
    parser.add_argument(
        "--audit-entries",
        type=int,
        default=200_000,
        help="entries on the PostgreSQL trail whose verify is timed (0: skip)",
    )
    parser.add_argument(
        "--rows",
        default=",".join(ALL_ROWS),
        help=f"which rows, comma separated, of {','.join(ALL_ROWS)}",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="record the hub workers with py-spy during the burst (slows them)",
    )
    parser.add_argument(
        "--profile-cpu",
        action="store_true",
        help="with --profile: sample running threads only, to see where the CPU goes",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="repetitions, each with the rows in a shuffled order; targets take the median of "
        "the ratios within each (issue 18: 3)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the shuffles")
    parser.add_argument("--output", type=Path, default=Path("bench/results/latest.json"))
    return parser.parse_args()


def main() -> None:
    args = parse()
    console = Console(width=None if Console().is_terminal else 150)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.monotonic()
    out_dir = args.output.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = Sizes(
        messages=args.messages,
        paced_messages=args.paced_messages or max(50, args.messages // 4),
        memory_messages=args.memory_messages,
        profile_dir=out_dir if args.profile else None,
        profile_cpu=args.profile_cpu,
    )
    wanted = [r.strip() for r in args.rows.split(",") if r.strip()]
    missing = services.unreachable_reason()
    logs = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    console.print(f"worker logs in {logs}", highlight=False)
    repetitions: list[list[Row]] = []
    shuffler = random.Random(args.seed)
    with services.rop_simulator() as rop_url:
        plan: list[tuple[str, str, bool, Callable[[], Row]]] = [
            (
                "bare",
                "bare pipeline (kombu, RabbitMQ + PostgreSQL)",
                True,
                lambda: bench_rows.run_bare(sizes, rop_url, logs),
            ),
            (
                "celery",
                bench_rows.CELERY_ROW,
                True,
                lambda: bench_rows.run_celery(sizes, rop_url, logs),
            ),
            (
                "embedded",
                "hub embedded (SQLite) 1 worker",
                False,
                lambda: bench_rows.run_hub(
                    "hub embedded (SQLite) 1 worker",
                    sizes,
                    rop_url,
                    workers=1,
                    embedded=True,
                    memory=False,
                    logs=logs,
                ),
            ),
            (
                "pg1",
                "hub RabbitMQ+PostgreSQL 1 worker",
                True,
                lambda: bench_rows.run_hub(
                    "hub RabbitMQ+PostgreSQL 1 worker",
                    sizes,
                    rop_url,
                    workers=1,
                    embedded=False,
                    memory=True,
                    logs=logs,
                ),
            ),
            (
                "pg2",
                "hub RabbitMQ+PostgreSQL 2 workers",
                True,
                lambda: bench_rows.run_hub(
                    "hub RabbitMQ+PostgreSQL 2 workers",
                    sizes,
                    rop_url,
                    workers=2,
                    embedded=False,
                    memory=False,
                    logs=logs,
                ),
            ),
            (
                "pg1-shipped",
                SHIPPED,
                True,
                lambda: bench_rows.run_hub(
                    SHIPPED,
                    sizes,
                    rop_url,
                    workers=1,
                    embedded=False,
                    memory=False,
                    logs=logs,
                    rop_rate_limit=True,
                ),
            ),
        ]
        for repetition in range(max(1, args.repeat)):
            if repetition:
                sizes.memory_messages = 0  # the long memory run once, in the first repetition
            order = [entry for entry in plan if entry[0] in wanted]
            if args.repeat > 1:
                shuffler.shuffle(order)
            console.print(
                f"[bold]repetition {repetition + 1}/{args.repeat}[/]: "
                + ", ".join(key for key, *_ in order),
                highlight=False,
            )
            results: list[Row] = []
            for _key, name, needs_services, run in order:
                if needs_services and missing:
                    results.append(Row(name, skipped=missing))
                    continue
                console.print(f"[bold]{name}[/] ...")
                try:
                    results.append(run())
                except Exception as exc:  # one failing row must not hide the others' figures
                    traceback.print_exc()
                    results.append(Row(name, skipped=f"failed: {exc}"))
            repetitions.append(results)
    audit = None
    if args.audit_entries and not missing:
        console.print(f"[bold]audit verify, a trail of {args.audit_entries:,} entries[/] ...")
        audit = trail_rate(args.audit_entries)
    checks = evaluate(repetitions, audit)
    for index, results in enumerate(repetitions, start=1):
        render(console, results, f", run {index}/{len(repetitions)}")
        for row in results:
            if row.memory:
                console.print(f"{row.name} memory: {row.memory}", highlight=False)
            if row.audit_verify:
                console.print(f"{row.name} audit verify: {row.audit_verify}", highlight=False)
    if audit:
        console.print(f"audit verify, PostgreSQL trail: {audit}", highlight=False)
    render_targets(console, checks, len(repetitions))
    write(
        args.output,
        vars(args) | {"output": str(args.output)},
        repetitions,
        checks,
        audit,
        started_at,
        time.monotonic() - started,
    )
    console.print(f"written {args.output}", highlight=False)


if __name__ == "__main__":
    main()
