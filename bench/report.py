"""The end of a run: ratios against the issue's targets, a Rich table, and the JSON file."""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.rows import Row

LIBRARIES = (
    "kombu",
    "amqp",
    "celery",
    "sqlalchemy",
    "psycopg",
    "httpx",
    "jsonschema",
    "zeep",
    "uvicorn",
    "lxml",
    "py-spy",
)
BARE, CELERY = "bare", "Celery"
HUB_PG = ("hub RabbitMQ+PostgreSQL 1 worker", "hub RabbitMQ+PostgreSQL 2 workers")


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": versions,
    }


def _find(rows: list[Row], start: str) -> Row | None:
    return next((r for r in rows if r.name.startswith(start) and r.throughput), None)


def targets(rows: list[Row], audit: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each target of issue 9 with the figure measured in this run and whether it is met."""
    out: list[dict[str, Any]] = []
    bare, celery = _find(rows, BARE), _find(rows, CELERY)
    for name in HUB_PG:
        hub = _find(rows, name)
        if hub and hub.throughput and bare and bare.throughput:
            ratio = hub.throughput.msgs_per_s / bare.throughput.msgs_per_s
            out.append(
                {
                    "target": f"{name} >= 70% of bare throughput",
                    "measured": f"{ratio:.0%}",
                    "met": ratio >= 0.70,
                }
            )
        if hub and hub.throughput and celery and celery.throughput:
            ratio = hub.throughput.msgs_per_s / celery.throughput.msgs_per_s
            out.append(
                {
                    "target": f"{name} ahead of Celery",
                    "measured": f"{ratio:.2f}x",
                    "met": ratio > 1.0,
                }
            )
    hub1 = _find(rows, HUB_PG[0])
    if hub1 and hub1.half_peak and bare and bare.half_peak:
        added = hub1.half_peak.p99_ms - bare.half_peak.p99_ms
        out.append(
            {
                "target": "added p99 at half of peak < 20 ms (hub 1 worker - bare)",
                "measured": f"{added:.1f} ms",
                "met": added < 20.0,
            }
        )
    if hub1 and hub1.memory:
        growth = hub1.memory["growth_kib"]
        per_1000 = growth / max(1, hub1.memory["messages"]) * 1000
        out.append(
            {
                "target": f"flat worker RSS over {hub1.memory['messages']} messages "
                "(100,000 asked)",
                "measured": f"{growth / 1024:+.1f} MiB ({per_1000:+.0f} KiB/1000 msgs)",
                "met": abs(growth) < 5 * 1024,
            }
        )
    if audit:
        out.append(
            {
                "target": "audit verify > 200,000 entries/s (PostgreSQL, as `hub audit verify`)",
                "measured": f"{audit['entries_per_s']:,} entries/s over {audit['entries']:,} "
                f"({audit['x_bare_fetch']}x the bare fetch)",
                "met": audit["entries_per_s"] > 200_000,
            }
        )
    return out


def _services_cpu(cpu: dict[str, float]) -> str:
    if "postgresql" not in cpu:
        return ""
    parts = ("postgresql", "rabbitmq", "simulator", "driver")
    return " + ".join(f"{cpu.get(part, 0):.1f}" for part in parts)


def render(console: Console, rows: list[Row], checks: list[dict[str, Any]]) -> None:
    table = Table(title="pipeline benchmark (latency: publish -> result on municipal.out)")
    for column in (
        "row",
        "msgs/s (burst)",
        "burst p99 ms",
        "half-peak rate",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "worker RSS MiB",
        "CPU ms/msg worker",
        "CPU ms/msg machine",
        "of which PG + MQ + sim + driver",
    ):
        table.add_column(column, justify="left" if column == "row" else "right")
    for row in rows:
        if row.skipped or not row.throughput or not row.half_peak:
            table.add_row(row.name, f"skipped: {row.skipped or 'no result'}", *[""] * 9)
            continue
        rss = row.rss_kib.get("after_measured", 0) / 1024
        table.add_row(
            row.name,
            f"{row.throughput.msgs_per_s:.1f}",
            f"{row.throughput.p99_ms:.0f}",
            f"{row.half_peak.rate_asked}/s",
            f"{row.half_peak.p50_ms:.1f}",
            f"{row.half_peak.p95_ms:.1f}",
            f"{row.half_peak.p99_ms:.1f}",
            f"{rss:.0f}",
            f"{row.cpu_ms_per_message.get('worker', 0):.1f}",
            f"{row.cpu_ms_per_message.get('machine', 0):.1f}",
            _services_cpu(row.cpu_ms_per_message),
        )
    console.print(table)
    goals = Table(title="targets (issue 9), ratios within this run")
    for column in ("target", "measured", "met"):
        goals.add_column(column)
    for check in checks:
        goals.add_row(check["target"], check["measured"], "yes" if check["met"] else "NO")
    console.print(goals)


def write(
    path: Path,
    args: dict[str, Any],
    rows: list[Row],
    checks: list[dict[str, Any]],
    audit: dict[str, Any] | None,
    started: str,
    seconds: float,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "started": started,
        "seconds": round(seconds, 1),
        "arguments": args,
        "machine": machine(),
        "rows": [r.as_dict() for r in rows],
        "targets": checks,
        "audit_verify": audit,
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
