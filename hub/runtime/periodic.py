"""A background job that runs every few seconds in a thread of its own until stopped: the
shape every sweeper of a worker shares (SMS reminders, payments)."""

from __future__ import annotations

import threading
from collections.abc import Callable


class PeriodicThread:
    """Calls `tick` every `every_s` seconds (first after one period) until `stop`; `tick`
    catches its own failures, so one bad sweep never ends the thread."""

    def __init__(self, name: str, every_s: float, tick: Callable[[], None]) -> None:
        self._name = name
        self._every_s = every_s
        self._tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            self._tick()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
