"""What the REST and SOAP connector bases share about an agency's raw reply: the verdict that
it cannot be used (transient or not), and the Retry-After it may carry."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime


class ReplyRejected(Exception):
    """A reply that cannot be used; `transient` says whether asking again may help."""

    def __init__(self, reason: str, *, transient: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), if it says."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))
