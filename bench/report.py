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


def _services_cpu(cpu: dict[str, float]) -> str:
    if "postgresql" not in cpu:
        return ""
    parts = ("postgresql", "rabbitmq", "simulator", "driver")
    return " + ".join(f"{cpu.get(part, 0):.1f}" for part in parts)


def render(console: Console, rows: list[Row], title: str = "") -> None:
    """One repetition's rows, in the order they ran."""
    table = Table(title=f"pipeline benchmark{title} (latency: publish -> result on municipal.out)")
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


def render_targets(console: Console, checks: list[dict[str, Any]], repetitions: int) -> None:
    """Issue 18's targets: median over the repetitions, met or missed by how much and why."""
    goals = Table(title=f"targets (issue 18), ratios within each run, median of {repetitions}")
    for column in ("target", "measured", "each run", "met", "missed by", "measured cause"):
        goals.add_column(column, overflow="fold")
    for check in checks:
        met = {True: "yes", False: "NO", None: "not measured"}[check["met"]]
        each = ", ".join(f"{v:g}" for v in check["per_repetition"])
        goals.add_row(
            check["target"], check["measured"], each, met, check["missed_by"], check["cause"]
        )
    console.print(goals)


def write(
    path: Path,
    args: dict[str, Any],
    repetitions: list[list[Row]],
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
        "rows": [r.as_dict() for r in repetitions[0]] if repetitions else [],
        "repetitions": [
            {"order": [r.name for r in rows], "rows": [r.as_dict() for r in rows]}
            for rows in repetitions
        ],
        "targets": checks,
        "audit_verify": audit,
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
