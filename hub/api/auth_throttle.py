"""Failed authentication, throttled and summarised (security review, item 3).

Counted in this process's memory, per client address and per claimed partner (SOAP user name
or the key id of a REST key), in fixed windows. Past `limit` failures in a window an address
gets 429 with Retry-After before its credentials are even looked at; a claimed partner past
the limit is refused the same way, but only to addresses that have failed in the window, so
guessing at a partner's name cannot lock that partner out of its own clean address.

The audit trail gets an address's failures up to the limit as full `partner.denied` entries,
and what comes after (refused with 429, or in flight when the limit was reached) as one
`partner.denied.summary` entry per address or partner and window, instead of one hash-chained
row per attempt: at most `limit + 1` rows per address and window.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Scope = Literal["client", "partner"]
MAX_TRACKED = 10_000  # windows kept at once; the oldest go first (their summary with them)


@dataclass
class _Window:
    start: float
    failures: int = 0
    throttled: int = 0


class AuthThrottle:
    """Failure counters per (scope, who), one fixed window each; thread-safe."""

    def __init__(self, limit: int, window_s: int, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._window_s = window_s
        self._clock = clock
        self._windows: dict[tuple[Scope, str], _Window] = {}
        self._ended: list[dict[str, object]] = []
        self._lock = threading.Lock()

    def _start(self, now: float) -> float:
        return float(int(now // self._window_s) * self._window_s)

    def _current(self, key: tuple[Scope, str], now: float) -> _Window:
        start = self._start(now)
        window = self._windows.get(key)
        if window is None or window.start != start:
            if window is not None:
                self._close(key, window)
            window = self._windows[key] = _Window(start)
            if len(self._windows) > MAX_TRACKED:
                oldest = min(self._windows, key=lambda k: self._windows[k].start)
                self._close(oldest, self._windows.pop(oldest))
        return window

    def _close(self, key: tuple[Scope, str], window: _Window) -> None:
        if window.throttled > 0 or window.failures > self._limit:  # some not audited in full
            scope, who = key
            self._ended.append(
                {
                    "scope": scope,
                    "client" if scope == "client" else "claimed_partner": who,
                    "window_start": datetime.fromtimestamp(window.start, UTC).isoformat(),
                    "window_s": self._window_s,
                    "failures": window.failures,
                    "throttled": window.throttled,
                }
            )

    def retry_after(self, client: str | None, claimed: str | None) -> int | None:
        """Seconds to wait when this caller is over a limit (counted as throttled), else None."""
        now = self._clock()
        with self._lock:
            address = self._current(("client", client), now) if client else None
            partner = self._current(("partner", claimed), now) if claimed else None
            over = address is not None and address.failures >= self._limit
            if partner is not None and partner.failures >= self._limit:
                over = over or (address is not None and address.failures > 0)
            if not over:
                return None
            for window in (address, partner):
                if window is not None:
                    window.throttled += 1
            return max(1, math.ceil(self._start(now) + self._window_s - now))

    def failed(self, client: str | None, claimed: str | None) -> bool:
        """Count one failure; True while the address is within its limit (audit it in full;
        requests already in flight when it reached the limit go to the summary)."""
        now = self._clock()
        with self._lock:
            within = True
            if client:
                window = self._current(("client", client), now)
                window.failures += 1
                within = window.failures <= self._limit
            if claimed:
                self._current(("partner", claimed), now).failures += 1
            return within

    def ended(self) -> list[dict[str, object]]:
        """The summaries of windows that ended since the last call (each handed out once);
        windows past their end are closed first, so a quiet attacker is summarised too."""
        now = self._clock()
        with self._lock:
            start = self._start(now)
            for key in [k for k, w in self._windows.items() if w.start < start]:
                self._close(key, self._windows.pop(key))
            ended, self._ended = self._ended, []
        return ended
