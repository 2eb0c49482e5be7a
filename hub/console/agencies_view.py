"""Each agency as the console shows it: circuit state from the store, error rate and latency
percentiles of the last hour's calls from the audit trail, a chart of those calls, and the
simulator's fault switch when simulators run."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.agencies.simulators import SimulatorsUnavailable, read_registry
from hub.agencies.status import agency_statuses
from hub.console.charts import bars
from hub.store.tables import AuditEntry

WINDOW = timedelta(hours=1)
BUCKETS = 12
NOT_A_CALL = ("reused", "cancelled")  # no request reached the agency


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(int(round(share * len(ordered) + 0.5)) - 1, 0)
    return round(ordered[min(rank, len(ordered) - 1)], 1)


def agencies(session: Session, names: list[str], data_dir: Path) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    since = (now - WINDOW).isoformat()
    entries = session.execute(
        select(AuditEntry.recorded_at, AuditEntry.detail).where(
            AuditEntry.kind == "agency.call", AuditEntry.recorded_at >= since
        )
    ).all()
    calls: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for at, detail in entries:
        if detail.get("outcome") not in NOT_A_CALL:
            calls[str(detail.get("agency"))].append((at, detail))
    statuses = agency_statuses(session, names)
    simulators = _simulators(data_dir)
    return [
        _agency(name, calls.get(name, []), statuses[name].circuit, simulators.get(name), now)
        for name in names
    ]


def _simulators(data_dir: Path) -> dict[str, str]:
    try:
        return read_registry(data_dir)
    except SimulatorsUnavailable:
        return {}


def _agency(
    name: str,
    calls: list[tuple[str, dict[str, Any]]],
    circuit: str,
    simulator: str | None,
    now: datetime,
) -> dict[str, Any]:
    latencies = [float(d.get("latency_ms") or 0) for _, d in calls]
    failed = [d for _, d in calls if d.get("outcome") != "ok"]
    size = WINDOW / BUCKETS
    ok_counts, bad_counts = [0] * BUCKETS, [0] * BUCKETS
    for at, detail in calls:
        age = now - datetime.fromisoformat(at)
        index = BUCKETS - 1 - min(int(age / size), BUCKETS - 1)
        (ok_counts if detail.get("outcome") == "ok" else bad_counts)[index] += 1
    labels = [f"-{(BUCKETS - i) * 5} min" for i in range(BUCKETS)]
    return {
        "name": name,
        "circuit": circuit,
        "calls": len(calls),
        "error_rate": f"{100 * len(failed) / len(calls):.1f} %" if calls else "-",
        "p50": percentile(latencies, 0.50),
        "p95": percentile(latencies, 0.95),
        "p99": percentile(latencies, 0.99),
        "simulator": simulator,
        "chart": [bar.__dict__ for bar in bars(ok_counts, bad_counts, labels)],
    }
