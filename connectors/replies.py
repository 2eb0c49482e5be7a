"""The one failure classifier of the REST and SOAP connector bases: the verdict on an agency's
raw reply (its HTTP status: transient or not, and why when the agency said: refused
credentials or "slow down"), the Retry-After it may carry, the hub error class each verdict
becomes, how a failed exchange (timeout, connection, HTTP) is classed, and the health probe's
reading of the same failures. Protocol-specific verdicts (a SOAP fault, a schema break) are
made by each base and handed here as `ReplyRejected`."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import Literal

import httpx

from hub.plugin import (
    AgencyAuthError,
    AgencyError,
    AgencyRateLimited,
    Health,
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


def judge_status(
    status: int, headers: httpx.Headers, *, expected: int = 200, unexplained: str = ""
) -> None:
    """Raise `ReplyRejected` unless `status` is `expected`: refusals as `refused_by_status`,
    any other 5xx transient (honouring Retry-After; `unexplained` says what the reply lacked),
    anything else permanent."""
    retry_after = retry_after_seconds(headers.get("retry-after"))
    refused = refused_by_status(status, retry_after)
    if refused is not None:
        raise refused
    if status >= 500:
        raise ReplyRejected(f"HTTP {status}{unexplained}", transient=True, retry_after=retry_after)
    if status != expected:
        raise ReplyRejected(f"unexpected HTTP {status}", transient=False)


def exchange_error(
    agency: str, operation: str, exc: Exception, timeout_s: float
) -> AgencyError | None:
    """The hub's error for a rejected reply or a failed httpx exchange (transient only when
    asking again may help); None for anything else, which the protocol's base judges."""
    if isinstance(exc, ReplyRejected):
        return agency_error(agency, operation, exc)
    if isinstance(exc, httpx.TimeoutException):
        reason = f"no answer within {timeout_s:g}s ({type(exc).__name__})"
        return TransientAgencyError(agency, operation, reason)
    if isinstance(exc, httpx.TransportError):
        return TransientAgencyError(agency, operation, f"connection failed: {exc!r}")
    if isinstance(exc, httpx.HTTPError):
        return PermanentAgencyError(agency, operation, f"HTTP exchange failed: {exc!r}")
    return None


async def probe(
    fetch: Callable[[], Awaitable[httpx.Response]], timeout_s: float, what: str, served: str
) -> Health:
    """Health from one side-effect-free round trip (`fetch`): reachable when it answers 200."""
    started = time.perf_counter()
    try:
        response = await fetch()
    except httpx.TimeoutException:
        return Health(False, f"no answer within {timeout_s:g}s")
    except httpx.HTTPError as exc:
        return Health(False, f"unreachable: {exc!r}")
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    if response.status_code != 200:
        return Health(False, f"{what} answered HTTP {response.status_code}", latency_ms)
    return Health(True, served, latency_ms)
