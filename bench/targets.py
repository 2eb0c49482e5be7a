"""Issue 18's targets, measured: each target's figure is taken within one repetition (a ratio
of two rows of the same run), then the median over the repetitions is compared with the goal.
A missed target says by how much and which measured cause stands in its way: the CPU per
message of each process and the process (or the whole machine) that is the bottleneck."""

from __future__ import annotations

import os
from collections.abc import Callable
from statistics import median
from typing import Any

from bench.rows import Row

BARE, CELERY, EMBEDDED = "bare", "Celery", "hub embedded"
PG1, PG2 = "hub RabbitMQ+PostgreSQL 1 worker", "hub RabbitMQ+PostgreSQL 2 workers"
PROCESSES = ("worker", "postgresql_own", "postgresql", "rabbitmq", "simulator", "driver")
MEMORY_MESSAGES = 100_000
MEMORY_BOUND_KIB = 5 * 1024
BUSY = 0.85  # the machine busier than this share of its cores is the limit
GIL_BUSY = 0.75  # a worker above this share of one core is held by its interpreter (GIL)

Repetition = list[Row]


def _find(rows: Repetition, start: str) -> Row | None:
    return next((r for r in rows if r.name.startswith(start) and r.throughput), None)


def _rate(row: Row | None) -> float | None:
    return row.throughput.msgs_per_s if row and row.throughput else None


def _ratio(reps: list[Repetition], top: str, bottom: str) -> list[float]:
    """`top`'s msgs/s over `bottom`'s, in each repetition where both ran."""
    out = []
    for rows in reps:
        a, b = _rate(_find(rows, top)), _rate(_find(rows, bottom))
        if a and b:
            out.append(a / b)
    return out


def row_cpu(cpu: dict[str, float]) -> dict[str, float]:
    """The row's CPU with `row_total`: its worker, its own PostgreSQL backends (all of
    PostgreSQL when they were not read), RabbitMQ, the simulator and the driver. On a machine
    shared with other sessions this is the row's figure; /proc/stat's `machine` is not."""
    if "worker" not in cpu:
        return cpu
    database = cpu.get("postgresql_own", cpu.get("postgresql", 0.0))
    parts = ("worker", "rabbitmq", "simulator", "driver")
    return cpu | {"row_total": round(database + sum(cpu.get(p, 0.0) for p in parts), 2)}


def _median_cpu(reps: list[Repetition], start: str) -> dict[str, float]:
    """The row's CPU ms per message, per process, median over the repetitions."""
    per: dict[str, list[float]] = {}
    for rows in reps:
        row = _find(rows, start)
        for key, value in (row.cpu_ms_per_message if row else {}).items():
            per.setdefault(key, []).append(value)
    return row_cpu({key: round(median(values), 2) for key, values in per.items()})


def _median_rate(reps: list[Repetition], start: str) -> float:
    rates = [r for rows in reps if (r := _rate(_find(rows, start)))]
    return median(rates) if rates else 0.0


SHORT = {
    "worker": "worker",
    "postgresql_own": "PG (row's backends)",
    "postgresql": "PG (all)",
    "rabbitmq": "MQ",
    "simulator": "sim",
}


def bottleneck(cpu: dict[str, float], msgs_per_s: float, workers: int) -> str:
    """Which process limits the row, from the cores each one keeps busy at the measured rate.
    A worker process is one interpreter (the GIL: at most about one core); the machine has
    os.cpu_count() cores shared by every process (and, on a shared machine, by others')."""
    cores = os.cpu_count() or 1
    used = {p: cpu.get(p, 0.0) * msgs_per_s / 1000 for p in PROCESSES if p in cpu}
    machine = cpu.get("machine", 0.0) * msgs_per_s / 1000
    figures = ", ".join(f"{SHORT.get(p, p)} {cpu[p]:.2f}" for p in PROCESSES if p in cpu)
    worker_share = used.get("worker", 0.0) / workers
    if worker_share >= GIL_BUSY:
        limit = f"each worker's interpreter, {worker_share:.2f} of a core (GIL)"
    elif machine >= BUSY * cores:
        top = max(used, key=lambda p: used[p]) if used else "worker"
        limit = f"the machine, {machine:.2f} of {cores} cores busy (most: {top})"
    else:
        limit = f"waits: {machine:.2f} of {cores} cores busy, worker {worker_share:.2f} of a core"
    total = f"row {cpu.get('row_total', 0):.2f}, machine {cpu.get('machine', 0):.2f}"
    return f"CPU ms/msg {figures} ({total}); limit: {limit}"


def _check(
    target: str,
    values: list[float],
    goal: float,
    *,
    higher_is_better: bool,
    unit: Callable[[float], str],
    cause: str,
) -> dict[str, Any]:
    if not values:
        return {
            "target": target,
            "measured": "not measured",
            "per_repetition": [],
            "met": None,
            "missed_by": "not measured in this run",
            "cause": "",
        }
    value = median(values)
    met = value >= goal if higher_is_better else value <= goal
    if met:
        missed = ""
    elif higher_is_better:
        missed = f"{unit(goal - value)} short; needs {goal / value:.2f}x" if value else "-"
    else:
        missed = f"{unit(value - goal)} over; needs {value / goal:.2f}x less"
    return {
        "target": target,
        "measured": unit(value),
        "value": round(value, 4),
        "goal": goal,
        "per_repetition": [round(v, 4) for v in values],
        "met": met,
        "missed_by": missed,
        "cause": "" if met else cause,
    }


def _x(value: float) -> str:
    return f"{value:.2f}x"


def _ms(value: float) -> str:
    return f"{value:.2f} ms"


def evaluate(reps: list[Repetition], audit: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every target of issue 18, median over the repetitions, with its cause when missed."""
    pg1_cpu, pg2_cpu = _median_cpu(reps, PG1), _median_cpu(reps, PG2)
    cause1 = bottleneck(pg1_cpu, _median_rate(reps, PG1), 1) if pg1_cpu else ""
    cause2 = bottleneck(pg2_cpu, _median_rate(reps, PG2), 2) if pg2_cpu else ""
    emb_cpu = _median_cpu(reps, EMBEDDED)
    cause_emb = bottleneck(emb_cpu, _median_rate(reps, EMBEDDED), 1) if emb_cpu else ""

    def at_least(label: str, row: str, against: str, goal: float, cause: str) -> dict[str, Any]:
        """A throughput ratio target: `row` over `against`, within each repetition."""
        ratios = _ratio(reps, row, against)
        return _check(label, ratios, goal, higher_is_better=True, unit=_x, cause=cause)

    out = [
        at_least("2 workers >= 1.0x bare (RabbitMQ + PostgreSQL)", PG2, BARE, 1.0, cause2),
        at_least("2 workers ahead of Celery's best pool (> 1.0x)", PG2, CELERY, 1.0, cause2),
        at_least("1 worker >= 0.8x bare", PG1, BARE, 0.8, cause1),
    ]
    for key, goal, label in (
        ("row_total", 5.0, "CPU per message <= 5 ms, the row's processes (1 worker)"),
        ("worker", 2.5, "worker CPU per message <= 2.5 ms (1 worker)"),
        ("postgresql_own", 0.6, "PostgreSQL CPU per message <= 0.6 ms (1 worker, its backends)"),
    ):
        values = [
            cpu[key]
            for rows in reps
            if (row := _find(rows, PG1)) and key in (cpu := row_cpu(row.cpu_ms_per_message))
        ]
        out.append(_check(label, values, goal, higher_is_better=False, unit=_ms, cause=cause1))
    out.append(at_least("embedded (SQLite) >= 0.8x bare", EMBEDDED, BARE, 0.8, cause_emb))
    added = []
    for rows in reps:
        hub, bare = _find(rows, PG1), _find(rows, BARE)
        if hub and hub.half_peak and bare and bare.half_peak:
            added.append(hub.half_peak.p99_ms - bare.half_peak.p99_ms)
    out.append(
        _check(
            "added p99 at half of peak < 10 ms (hub 1 worker - bare)",
            added,
            10.0,
            higher_is_better=False,
            unit=_ms,
            cause=cause1,
        )
    )
    out.append(_memory(reps))
    rate = [float(audit["entries_per_s"])] if audit else []
    out.append(
        _check(
            "audit verify > 400,000 entries/s (PostgreSQL, as `hub audit verify`)",
            rate,
            400_000,
            higher_is_better=True,
            unit=lambda v: f"{v:,.0f} entries/s",
            cause=(
                f"{audit['x_bare_fetch']}x the bare fetch of the same rows "
                f"({audit['bare_fetch_seconds']} s for {audit['entries']:,})"
                if audit
                else ""
            ),
        )
    )
    return out


def _memory(reps: list[Repetition]) -> dict[str, Any]:
    """Flat RSS: under the bound over at least 100,000 messages; a shorter run is reported
    with its figure but counts as not measured."""
    runs = [row.memory for rows in reps if (row := _find(rows, PG1)) and row.memory]
    target = f"worker memory flat over {MEMORY_MESSAGES:,} messages (< 5 MiB growth)"
    if not runs:
        return _check(target, [], 0, higher_is_better=False, unit=str, cause="")
    memory = runs[0]
    growth = memory["growth_kib"]
    per_1000 = growth / max(1, memory["messages"]) * 1000
    measured = f"{growth / 1024:+.1f} MiB over {memory['messages']:,} ({per_1000:+.0f} KiB/1000)"
    long_enough = memory["messages"] >= MEMORY_MESSAGES
    met: bool | None = abs(growth) < MEMORY_BOUND_KIB if long_enough else None
    return {
        "target": target,
        "measured": measured,
        "per_repetition": [m["growth_kib"] for m in runs],
        "met": met,
        "missed_by": ""
        if met
        else (
            f"{(abs(growth) - MEMORY_BOUND_KIB) / 1024:.1f} MiB over the bound"
            if long_enough
            else f"run over {memory['messages']:,} only (--memory-messages 100000)"
        ),
        "cause": "" if met or not long_enough else f"samples (KiB): {memory['samples_kib']}",
    }
