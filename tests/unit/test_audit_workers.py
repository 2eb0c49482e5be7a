"""When verify recomputes hashes in worker processes: long trails, cores not all busy."""

from __future__ import annotations

import os

import pytest

from hub.audit.verify import MAX_WORKERS, PARALLEL_FROM, default_workers


@pytest.mark.parametrize(
    ("entries", "cores", "load", "workers"),
    [
        (PARALLEL_FROM - 1, 2, 0.0, 0),  # short trail: starting processes costs more
        (PARALLEL_FROM, 1, 0.0, 0),  # one core: nothing to run them on
        (PARALLEL_FROM, 2, 0.5, 2),
        (PARALLEL_FROM, 2, 1.5, 2),
        (PARALLEL_FROM, 2, 2.5, 0),  # both cores busy already
        (10 * PARALLEL_FROM, 16, 2.0, MAX_WORKERS),
    ],
)
def test_default_workers(
    monkeypatch: pytest.MonkeyPatch, entries: int, cores: int, load: float, workers: int
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)))
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert default_workers(entries) == workers
