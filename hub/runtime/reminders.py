"""Each worker sweeps for SMS parking bookings due a reminder every HUB_SMS_REMINDER_SWEEP_S, in
a thread of its own; the claim in the store (hub/flows/sms_reminders.py) keeps it to one
reminder per booking end however many workers sweep, and across restarts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import structlog

from hub.flows.sms_reminders import remind_due
from hub.runtime.build import HubRuntime
from hub.runtime.periodic import PeriodicThread
from hub.store.tables import OutboxEvent

log = structlog.get_logger("hub.reminders")

Publish = Callable[[Sequence[OutboxEvent]], object]


class ReminderSweeper:
    """Sweeps until stopped; a failed sweep (store or broker away) is tried at the next one,
    and what it committed but could not publish waits in the outbox for the relay."""

    def __init__(self, runtime: HubRuntime, publish: Publish) -> None:
        self._runtime = runtime
        self._publish = publish
        self._window = timedelta(minutes=runtime.settings.sms_reminder_minutes)
        self._periodic = PeriodicThread(
            "hub-reminders", runtime.settings.sms_reminder_sweep_s, self.sweep_safely
        )
        self._failing = 0

    @property
    def enabled(self) -> bool:
        return self._window > timedelta(0)

    def sweep(self, now: datetime | None = None) -> int:
        """One sweep (as if at `now`, default the present): the reminders queued and published."""
        runtime = self._runtime
        rows = remind_due(
            runtime.sessions, runtime.contracts, self._window, sealer=runtime.sealer, now=now
        )
        if rows:
            log.info("sms.reminders.queued", count=len(rows))
            self._publish(rows)
        return len(rows)

    def sweep_safely(self) -> None:
        try:
            self.sweep()
        except Exception as exc:  # the store may be away: the next sweep tries again
            self._failing += 1
            if self._failing == 1:  # once when it starts failing, not every sweep
                log.warning("sms.reminders.failing", error=f"{type(exc).__name__}: {exc}"[:200])
        else:
            if self._failing:
                log.info("sms.reminders.recovered", failed_sweeps=self._failing)
            self._failing = 0

    def start(self) -> ReminderSweeper:
        if self.enabled:
            self._periodic.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._periodic.stop(timeout_s)
