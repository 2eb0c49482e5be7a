"""`connectors.replies`: the one failure classifier the REST and SOAP clients share."""

from __future__ import annotations

import httpx
import pytest

from connectors.replies import ReplyRejected, exchange_error, judge_status
from hub.errors import (
    AgencyAuthError,
    AgencyRateLimited,
    PermanentAgencyError,
    TransientAgencyError,
)


def headers(**values: str) -> httpx.Headers:
    return httpx.Headers({name.replace("_", "-"): value for name, value in values.items()})


def rejected(
    status: int, found: httpx.Headers | None = None, *, expected: int = 200, unexplained: str = ""
) -> ReplyRejected:
    with pytest.raises(ReplyRejected) as caught:
        judge_status(status, found or headers(), expected=expected, unexplained=unexplained)
    return caught.value


def test_the_expected_status_passes() -> None:
    judge_status(200, headers())
    judge_status(404, headers(), expected=404)


def test_server_errors_are_transient_and_say_what_the_reply_lacked() -> None:
    verdict = rejected(502, unexplained=" without a SOAP fault")
    assert verdict.transient and verdict.reason == "HTTP 502 without a SOAP fault"
    assert rejected(500, headers(retry_after="4")).retry_after == 4.0


def test_refusals_say_why_and_other_statuses_are_permanent() -> None:
    assert rejected(503, headers(retry_after="2")).refusal == "rate-limit"
    assert rejected(429).transient and rejected(429).refusal == "rate-limit"
    auth = rejected(403)
    assert (auth.transient, auth.refusal, auth.status) == (False, "auth", 403)
    other = rejected(404)
    assert not other.transient and other.reason == "unexpected HTTP 404"
    assert rejected(200, expected=404).reason == "unexpected HTTP 200"


def test_exchange_failures_are_classed_once_for_every_protocol() -> None:
    request = httpx.Request("GET", "http://127.0.0.1:9/x")
    timeout = exchange_error("moci", "op", httpx.ReadTimeout("slow", request=request), 2.0)
    assert isinstance(timeout, TransientAgencyError) and "no answer within 2s" in str(timeout)
    refused = exchange_error("moci", "op", httpx.ConnectError("refused", request=request), 2.0)
    assert isinstance(refused, TransientAgencyError) and "connection failed" in str(refused)
    broken = exchange_error("moci", "op", httpx.DecodingError("bad gzip", request=request), 2.0)
    assert type(broken) is PermanentAgencyError and "HTTP exchange failed" in str(broken)
    assert exchange_error("moci", "op", ValueError("not an exchange"), 2.0) is None


def test_rejected_replies_become_the_hub_error_their_verdict_names() -> None:
    limited = ReplyRejected("slow down", transient=True, retry_after=3.0, refusal="rate-limit")
    assert isinstance(exchange_error("rop", "op", limited, 1.0), AgencyRateLimited)
    auth = ReplyRejected("who?", transient=False, refusal="auth", status=401)
    assert isinstance(exchange_error("rop", "op", auth, 1.0), AgencyAuthError)
