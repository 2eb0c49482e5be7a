"""Start-up that waits for the store and the broker instead of crashing: one log line per
attempt (no traceback), capped and jittered backoff, for ever unless HUB_STARTUP_WAIT_S."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import structlog
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_delay,
    stop_never,
    wait_random_exponential,
)

from hub.metrics import link_down, link_up

log = structlog.get_logger("hub.startup")
MAX_WAIT_S = 15.0
T = TypeVar("T")


def wait_for(what: str, attempt: Callable[[], T], limit_s: float = 0.0) -> T:
    """`attempt()` until it succeeds; `limit_s` > 0 gives up (re-raising) after that long."""

    def say(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        wait_s = state.next_action.sleep if state.next_action is not None else 0.0
        reason = f"{type(exc).__name__}: {exc}"[:200] if exc is not None else ""
        link_down(what, type(exc).__name__ if exc is not None else "unreachable")
        log.warning(
            "startup.waiting",
            waiting_for=what,
            attempt=state.attempt_number,
            retry_in_s=round(wait_s, 1),
            error=reason.splitlines()[0] if reason else "",
        )

    retrying = Retrying(
        retry=retry_if_exception_type(Exception),
        wait=wait_random_exponential(multiplier=0.5, max=MAX_WAIT_S),
        stop=stop_after_delay(limit_s) if limit_s > 0 else stop_never,
        before_sleep=say,
        reraise=True,
    )
    result = retrying(attempt)
    link_up(what)
    return result
