"""What the REST and SOAP connector bases share about an agency's raw reply: the verdict that
it cannot be used (transient or not, and why when the agency said: refused credentials or
"slow down"), the Retry-After it may carry, and the hub error class each verdict becomes."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Literal

from hub.plugin import (
    AgencyAuthError,
    AgencyError,
    AgencyRateLimited,
    PermanentAgencyError,
    TransientAgencyError,
)

Refusal = Literal["auth", "rate-limit"]
"""Why an agency refused, when it said so in a way the protocol defines (status, fault code)."""


class ReplyRejected(Exception):
    """A reply that cannot be used; `transient` says whether asking again may help, `refusal`
    whether the agency refused our credentials or asked us to back off, `status` the HTTP
    status that said so (None when something else did, e.g. a SOAP fault)."""

    def __init__(
        self,
        reason: str,
        *,
        transient: bool,
        retry_after: float | None = None,
        refusal: Refusal | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.retry_after = retry_after
        self.refusal = refusal
        self.status = status


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


def refused_by_status(status: int, retry_after: float | None) -> ReplyRejected | None:
    """The verdict on an HTTP status that says why whatever protocol rides on it: 401 and 403
    refuse our credentials (permanent), 429 and 503 with Retry-After ask us to back off
    (transient); None for any other status, which the caller judges itself."""
    if status == 429:
        reason = "rate limited (HTTP 429)"
        return ReplyRejected(
            reason, transient=True, retry_after=retry_after, refusal="rate-limit", status=status
        )
    if status == 503 and retry_after is not None:
        reason = f"unavailable, retry after {retry_after:g}s (HTTP 503)"
        return ReplyRejected(
            reason, transient=True, retry_after=retry_after, refusal="rate-limit", status=status
        )
    if status in (401, 403):
        reason = f"credentials refused (HTTP {status})"
        return ReplyRejected(reason, transient=False, refusal="auth", status=status)
    return None


def agency_error(agency: str, operation: str, rejected: ReplyRejected) -> AgencyError:
    """The hub's error for a rejected reply: the retry decision comes from `transient` alone,
    and a refusal only picks the subclass, so saying why never changes whether we retry."""
    reason, status = rejected.reason, rejected.status
    if rejected.transient:
        if rejected.refusal == "rate-limit":
            return AgencyRateLimited(
                agency, operation, reason, rejected.retry_after, http_status=status
            )
        return TransientAgencyError(agency, operation, reason, rejected.retry_after)
    if rejected.refusal == "auth":
        return AgencyAuthError(agency, operation, reason, http_status=status)
    return PermanentAgencyError(agency, operation, reason)
