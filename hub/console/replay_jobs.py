"""Replays started from the console, each on a thread of its own: the same plan and the same
`run_replay` as `hub replay run`, with the operator's name on every audit entry, and the
progress kept for the page that polls it."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from hub.bus.publisher import Publisher
from hub.replay.plan import Action, PlannedReplay
from hub.replay.redrive import Replayer, ReplayOutcome, ReplayRequest, run_replay

KEPT = 50  # finished jobs remembered for their progress pages


@dataclass
class ReplayJob:
    id: str
    operator: str
    reason: str
    planned: list[PlannedReplay]
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    outcomes: list[ReplayOutcome] = field(default_factory=list)
    finished: bool = False
    error: str | None = None

    @property
    def total(self) -> int:
        return len(self.planned)

    @property
    def redriven(self) -> int:
        return sum(1 for o in self.outcomes if o.action is not Action.SKIP)


class ReplayJobs:
    """Starts replays in the background and remembers the last few."""

    def __init__(self, sessions: sessionmaker[Session], broker_url: str) -> None:
        self._sessions = sessions
        self._broker_url = broker_url
        self._jobs: dict[str, ReplayJob] = {}
        self._lock = threading.Lock()

    def start(self, planned: list[PlannedReplay], request: ReplayRequest) -> ReplayJob:
        job = ReplayJob(str(uuid.uuid4()), request.operator, request.reason, planned)
        with self._lock:
            self._jobs[job.id] = job
            for stale in list(self._jobs)[:-KEPT]:
                del self._jobs[stale]
        threading.Thread(
            target=self._run, args=(job, request), name=f"replay-{job.id[:8]}", daemon=True
        ).start()
        return job

    def get(self, job_id: str) -> ReplayJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _run(self, job: ReplayJob, request: ReplayRequest) -> None:
        try:
            with Publisher(self._broker_url) as publisher:
                replayer = Replayer(self._sessions, publisher, self._broker_url)
                run_replay(job.planned, request, replayer, on_each=job.outcomes.append)
        except Exception as exc:  # shown on the progress page; what was done stays done
            job.error = f"{type(exc).__name__}: {exc}"
        finally:
            job.finished = True
