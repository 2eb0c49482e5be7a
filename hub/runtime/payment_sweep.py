"""Each worker sweeps the payments every HUB_PAYMENT_SWEEP_S, in a thread of its own: pending
payments past their expiry are marked expired (the case stays unpaid, and says so), and a
payment nobody has heard of for HUB_PAYMENT_STATUS_AFTER_S gets a status query, whose answer
is accepted exactly like a notification (hub/flows/payment_notices.py): a lost notification
loses no payment, and a notice that arrives later is refused as a replay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog

from hub.agencies.calls import CallLog
from hub.agencies.connector import CallContext
from hub.flows.payment_notices import (
    NOTICE_STATUSES,
    NoticeDesk,
    NoticeRefused,
    ProviderNotice,
    expire_overdue,
)
from hub.runtime.build import HubRuntime
from hub.runtime.periodic import PeriodicThread
from hub.store.payments import PaymentLedger
from hub.store.tables import OutboxEvent, Payment

log = structlog.get_logger("hub.payments")

Publish = Callable[[Sequence[OutboxEvent]], object]
QUERY_TIMEOUT_S = 30.0  # the gateway's own timeouts and retries end well before this


class PaymentSweeper:
    """Sweeps until stopped; a failed sweep (store, broker or provider away) is tried again at
    the next one."""

    def __init__(self, runtime: HubRuntime, publish: Publish) -> None:
        self._runtime = runtime
        self._publish = publish
        settings = runtime.settings
        self._quiet = timedelta(seconds=settings.payment_status_after_s)
        self._desk = NoticeDesk(runtime.sessions, runtime.contracts, runtime.sealer)
        self._periodic = PeriodicThread("hub-payments", settings.payment_sweep_s, self.sweep_safely)

    def sweep(self, now: datetime | None = None) -> int:
        """One sweep (as if at `now`): the payments it changed."""
        now = now or datetime.now(UTC)
        runtime = self._runtime
        rows = expire_overdue(runtime.sessions, runtime.contracts, now, runtime.sealer)
        changed = len(rows)
        with runtime.sessions() as session:
            due = [
                (p.provider, p.payment_id, p.reference)
                for p in PaymentLedger(session).due_status_query(now, self._quiet)
                if p.payment_id
            ]
        for provider, payment_id, reference in due:
            answer = self._ask_status(provider, str(payment_id), reference)
            accepted = self._accept(provider, str(payment_id), answer, now)
            rows.extend(accepted)
            changed += 1 if accepted else 0
        if rows:
            self._publish(rows)
        return changed

    def _ask_status(self, provider: str, payment_id: str, reference: str) -> Mapping[str, Any]:
        runtime = self._runtime
        ctx = CallContext(f"payment-status-{reference}", f"sweep-{uuid.uuid4()}")
        call = runtime.gateway.call(
            provider, "payment_status", {"payment_id": payment_id}, ctx, CallLog()
        )
        future = asyncio.run_coroutine_threadsafe(call, runtime.loop)
        return future.result(QUERY_TIMEOUT_S)

    def _accept(
        self, provider: str, payment_id: str, answer: Mapping[str, Any], now: datetime
    ) -> list[OutboxEvent]:
        status = str(answer.get("status", ""))
        if not answer.get("found") or status not in NOTICE_STATUSES:
            self._note_checked(provider, payment_id, now)
            return []
        paid_at = answer.get("paid_at")
        notice = ProviderNotice(
            provider=provider,
            notice_id=f"status-query:{payment_id}:{status}",
            payment_id=payment_id,
            status=status,
            amount=Decimal(str(answer["amount"])),
            currency=str(answer["currency"]),
            paid_at=datetime.fromisoformat(paid_at) if paid_at else None,
            via="status-query",
        )
        try:
            return self._desk.accept(notice, now)
        except NoticeRefused as refused:  # audited by the desk
            log.warning("payment.status.refused", payment_id=payment_id, problem=refused.kind)
            self._note_checked(provider, payment_id, now)
            return []

    def _note_checked(self, provider: str, payment_id: str, now: datetime) -> None:
        with self._runtime.sessions() as session:
            payment: Payment | None = PaymentLedger(session).by_payment_id(provider, payment_id)
            if payment is not None:
                payment.status_checked_at = now
                session.commit()

    def sweep_safely(self) -> None:
        try:
            self.sweep()
        except Exception as exc:  # the store, broker or provider may be away: next sweep
            log.warning("payment.sweep.failed", error=f"{type(exc).__name__}: {exc}"[:200])

    def start(self) -> PaymentSweeper:
        """Always on: fines are billed whether or not HUB_PAYMENTS_BILLING is (one indexed
        query per sweep when nothing is pending)."""
        self._periodic.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._periodic.stop(timeout_s)
