"""The payment providers' notifications: POST /api/v1/payments/{provider}/notifications.

Not a partner call (no X-Api-Key): the provider proves itself with an HMAC-SHA256 signature
over the exact body, under the key configured for it (HUB_PAYMENT_NOTIFY_KEYS__<PROVIDER>; a
simulated provider's own key otherwise), compared in constant time. A notice that fits its
payment is accepted (hub/flows/payment_notices.py) and its `payment.paid` published at once,
like an agency's push; every refusal is audited and answered as an RFC 9457 problem document.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from hub.agencies.connector import load_connectors
from hub.agencies.simulators import agencies_to_simulate
from hub.api.auth_throttle import AuthThrottle
from hub.api.problems import problem_response
from hub.config import Settings
from hub.flows.payment_notices import (
    NOTICE_STATUSES,
    NoticeDesk,
    NoticeRefused,
    ProviderNotice,
)
from hub.metrics import PAYMENT_NOTICES, PAYMENT_NOTIFICATION_LATENCY
from hub.store.tables import OutboxEvent

log = structlog.get_logger("hub.payments")

Publish = Callable[[Sequence[OutboxEvent]], bool]
AMOUNT = re.compile(r"[0-9]{1,9}(\.[0-9]{1,3})?")  # rials and baisa, nothing a float could mean
REQUIRED = ("notificationId", "paymentId", "status", "amount", "currency")


class NotifyKeys:
    """Each provider's notification key: configured, or (for a provider this deployment
    simulates) the simulator's own; None for a provider nobody configured."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._simulated: dict[str, str | None] | None = None

    def key(self, provider: str) -> str | None:
        configured = self._settings.payment_notify_keys.get(provider)
        if configured is not None:
            return configured.get_secret_value()
        return self._simulated_keys().get(provider)

    def _simulated_keys(self) -> dict[str, str | None]:
        if self._simulated is None:
            connectors = load_connectors()
            unconfigured = [n for n in connectors if n not in self._settings.agencies]
            try:
                simulated = agencies_to_simulate(self._settings, unconfigured)
            except Exception:  # agencies lacking URLs: the runtime reports that, not us
                simulated = []
            self._simulated = {
                name: connectors[name].simulator(0).credentials.get("notify_key")
                for name in simulated
            }
        return self._simulated


def signature_matches(body: bytes, key: str, signature: str | None) -> bool:
    """HMAC-SHA256 (hex) of exactly these bytes under `key`, compared in constant time."""
    if not signature:
        return False
    expected = hmac.new(key.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


def _signature(request: Request) -> str | None:
    """The provider's signature header (`X-<Provider>-Signature`, or `X-Signature`)."""
    for name, value in request.headers.items():
        if name.lower().endswith("-signature"):
            return value
    return None


def _notice(provider: str, body: bytes) -> ProviderNotice:
    try:
        raw: Any = json.loads(body)
    except ValueError:
        raise NoticeRefused("invalid-notification", 422, "the body is not JSON") from None
    if not isinstance(raw, dict) or any(not isinstance(raw.get(k), str) for k in REQUIRED):
        raise NoticeRefused(
            "invalid-notification", 422, f"a notification needs {', '.join(REQUIRED)} as text"
        )
    if not AMOUNT.fullmatch(raw["amount"]):
        raise NoticeRefused("invalid-notification", 422, "amount must be rials like 12.500")
    try:
        amount = Decimal(raw["amount"])
        paid_at = datetime.fromisoformat(raw["paidAt"]) if raw.get("paidAt") else None
    except (InvalidOperation, ValueError, TypeError):
        raise NoticeRefused("invalid-notification", 422, "amount or paidAt unreadable") from None
    if paid_at is not None and paid_at.tzinfo is None:
        raise NoticeRefused("invalid-notification", 422, "paidAt has no time zone")
    if raw["status"] not in NOTICE_STATUSES:
        raise NoticeRefused(
            "invalid-notification", 422, f"status must be one of {', '.join(NOTICE_STATUSES)}"
        )
    return ProviderNotice(
        provider=provider,
        notice_id=raw["notificationId"],
        payment_id=raw["paymentId"],
        status=raw["status"],
        amount=amount,
        currency=raw["currency"],
        paid_at=paid_at,
        via="notification",
    )


UNPROVEN = ("unknown-provider", "bad-signature")  # who sent these is not known


def payment_router(
    desk: NoticeDesk, keys: NotifyKeys, publish: Publish, throttle: AuthThrottle
) -> APIRouter:
    """`throttle` bounds what unproven senders cost: past the failed-authentication limit an
    address gets 429 before its body is looked at, and the audit a summary per window."""
    router = APIRouter(prefix="/api/v1")

    @router.post("/payments/{provider}/notifications", include_in_schema=False)
    async def notification(provider: str, request: Request) -> Response:
        client = request.client.host if request.client else None
        summaries = throttle.ended()
        if summaries:
            await run_in_threadpool(desk.summarise, summaries)
        retry_after = throttle.retry_after(client, None)
        if retry_after is not None:
            PAYMENT_NOTICES.labels(provider="unknown", outcome="throttled").inc()
            detail = f"too many unproven notifications; retry after {retry_after} s"
            headers = {"Retry-After": str(retry_after)}
            return problem_response(request, 429, detail, kind="rate-limited", headers=headers)
        body = await request.body()
        key = await run_in_threadpool(keys.key, provider)  # the first call loads connectors
        try:
            if key is None:
                raise NoticeRefused("unknown-provider", 404, f"no provider {provider!r}")
            if not signature_matches(body, key, _signature(request)):
                raise NoticeRefused("bad-signature", 401, "the signature does not match the body")
            notice = _notice(provider, body)
        except NoticeRefused as refused:
            known = provider if key is not None else "unknown"  # no label per made-up name
            # Unproven senders are audited in full up to the limit, then in the summary.
            if refused.kind not in UNPROVEN or throttle.failed(client, None):
                await run_in_threadpool(
                    partial(desk.refuse, provider_named=provider[:60], body_bytes=len(body)),
                    known,
                    refused,
                    client=client,
                )
            PAYMENT_NOTICES.labels(provider=known, outcome=refused.kind).inc()
            return problem_response(request, refused.status, refused.detail, kind=refused.kind)
        return await _accept(desk, publish, notice, request)

    return router


async def _accept(
    desk: NoticeDesk, publish: Publish, notice: ProviderNotice, request: Request
) -> Response:
    now = datetime.now(UTC)
    try:
        rows = await run_in_threadpool(desk.accept, notice, now)
    except NoticeRefused as refused:
        PAYMENT_NOTICES.labels(provider=notice.provider, outcome=refused.kind).inc()
        return problem_response(request, refused.status, refused.detail, kind=refused.kind)
    PAYMENT_NOTICES.labels(provider=notice.provider, outcome="accepted").inc()
    if notice.paid_at is not None:
        PAYMENT_NOTIFICATION_LATENCY.labels(provider=notice.provider).observe(
            max((now - notice.paid_at).total_seconds(), 0.0)
        )
    started = time.monotonic()
    published = await run_in_threadpool(publish, rows)
    log.info(
        "payment.notice.accepted",
        provider=notice.provider,
        payment_id=notice.payment_id,
        status=notice.status,
        published=published,
        publish_ms=round((time.monotonic() - started) * 1000, 1),
    )
    return JSONResponse({"accepted": True, "payment_id": notice.payment_id, "published": published})
