"""The one door to the agencies: contract checks on both sides, in-process retries with
backoff and jitter for transient faults only, and a record of every attempt for the audit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pybreaker
from aiolimiter import AsyncLimiter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from hub.agencies.answers import Answer
from hub.agencies.calls import CallLog, CallRecord, GatewayCall
from hub.agencies.circuits import circuit_state, make_breakers, seconds_until_trial
from hub.agencies.connector import (
    AgencyClient,
    CallContext,
    Connector,
    Operation,
    current_call,
    pick_connector,
)
from hub.agencies.exchanges import Exchange, ExchangeSeals, current_exchanges
from hub.audit.chain import digest
from hub.contracts.registry import ContractRegistry
from hub.errors import (
    AgencyContractViolation,
    AgencyError,
    CircuitOpen,
    ContractViolation,
    PermanentAgencyError,
    TransientAgencyError,
)

__all__ = ["AgencyGateway", "CallLog", "CallRecord"]


def _worth_retrying_now(exc: BaseException) -> bool:
    # An open circuit will not close within the in-process backoff: leave it to the ladder.
    return isinstance(exc, TransientAgencyError) and not isinstance(exc, CircuitOpen)


def _wait_honouring_retry_after(backoff: wait_exponential_jitter) -> Any:
    def wait(state: RetryCallState) -> float:
        delay = float(backoff(state))
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientAgencyError) and exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        return delay

    return wait


class AgencyGateway:
    """Calls agencies through their connectors on behalf of the flows."""

    def __init__(
        self,
        connectors: Mapping[str, Connector],
        clients: Mapping[str, AgencyClient],
        contracts: ContractRegistry,
        breakers: Mapping[str, pybreaker.CircuitBreaker] | None = None,
        rate_limits: Mapping[str, float] | None = None,
        seals: ExchangeSeals | None = None,
    ) -> None:
        """`seals`: signs and keeps each attempt's exact bytes (None: nothing is sealed)."""
        self._connectors = connectors
        self._seals = seals
        self._clients = clients
        self._contracts = contracts
        self.breakers = dict(breakers) if breakers is not None else make_breakers(connectors)
        # Each connector's declared rate limit (or the configured one; 0 lifts it), held per
        # process as a leaky bucket.
        limits = {name: c.policy.rate_limit_per_s for name, c in connectors.items()}
        limits |= dict(rate_limits or {})
        self._limiters = {name: AsyncLimiter(rate, 1.0) for name, rate in limits.items() if rate}
        # Each agency's last real transient failure in this process: what an open circuit's
        # message names as its cause.
        self._last_cause: dict[str, str] = {}

    def circuit(self, agency: str) -> str:
        """closed, open or half-open."""
        return circuit_state(self.breakers[agency])

    def operation(self, agency: str, operation: str) -> Operation:
        connector = pick_connector(self._connectors, agency)
        try:
            return connector.operations()[operation]
        except KeyError:
            raise PermanentAgencyError(agency, operation, "no such operation") from None

    async def call(
        self,
        agency: str,
        operation: str,
        request: Mapping[str, Any],
        ctx: CallContext,
        calls: CallLog,
    ) -> Mapping[str, Any]:
        """The canonical reply, after up to `policy.attempts` tries on transient faults, or
        the answer an earlier delivery kept when the operation allows reusing it."""
        op = self.operation(agency, operation)
        try:
            self._contracts.validate(op.request_contract, dict(request))
        except ContractViolation as exc:
            raise PermanentAgencyError(
                agency, operation, f"request breaks contract: {exc}"
            ) from exc
        ask = GatewayCall(agency, op, digest(dict(request)), calls)
        kept = self._reusable(ask)
        if kept is not None:
            return kept
        policy = self._connectors[agency].policy
        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.attempts),
            wait=_wait_honouring_retry_after(
                wait_exponential_jitter(
                    multiplier=policy.backoff_initial_s,
                    max=policy.backoff_max_s,
                    jitter=policy.backoff_initial_s,
                )
            ),
            retry=retry_if_exception(_worth_retrying_now),
            reraise=True,
        )
        waiting_since = time.perf_counter()
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(
                        ask, request, ctx, attempt.retry_state.attempt_number
                    )
                waiting_since = time.perf_counter()
        except asyncio.CancelledError:
            if not ask.cancel_recorded:  # cancelled during the backoff before the next attempt
                ask.attempts += 1
                ask.record(waiting_since, "cancelled", error="cancelled while waiting to retry")
            raise
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _reusable(self, ask: GatewayCall) -> Mapping[str, Any] | None:
        """The answer an earlier delivery kept, when the operation allows reuse, it is fresh
        enough and it still satisfies the reply's contract; recorded as `reused`."""
        window = ask.op.reuse_answer_s
        kept = ask.calls.reusable.get((ask.agency, ask.op.name, ask.request_digest))
        if window is None or kept is None:
            return None
        if (datetime.now(UTC) - kept.answered_at).total_seconds() > window:
            return None
        if self._contracts.errors(ask.op.response_contract, dict(kept.reply)):
            return None
        ask.record(
            time.perf_counter(), "reused", kept.reply, answered_at=kept.answered_at.isoformat()
        )
        return kept.reply

    async def _attempt(
        self, ask: GatewayCall, request: Mapping[str, Any], ctx: CallContext, number: int
    ) -> Mapping[str, Any]:
        agency, op = ask.agency, ask.op
        policy = self._connectors[agency].policy
        ask.attempts = number
        started = time.perf_counter()
        attempt_ctx = CallContext(ctx.correlation_id, ctx.message_id, number)
        breaker = self.breakers[agency]
        token = current_call.set(attempt_ctx)
        caught: list[Exchange] = []
        caught_token = current_exchanges.set(caught if self._seals is not None else None)
        try:
            with breaker.calling():
                limiter = self._limiters.get(agency)
                if limiter is not None:
                    await limiter.acquire()
                try:
                    async with asyncio.timeout(policy.timeout_s * 2):
                        reply = await self._clients[agency].call(op.name, request, attempt_ctx)
                except TimeoutError:
                    reason = "no answer within the hub's guard timeout"
                    raise TransientAgencyError(agency, op.name, reason) from None
        except pybreaker.CircuitBreakerError:
            raise self._held_back(ask, started) from None
        except AgencyError as exc:
            transient = isinstance(exc, TransientAgencyError)
            if transient:
                self._last_cause[agency] = exc.reason
            ask.record(started, "transient" if transient else "permanent", None, exc.reason, exc)
            raise
        except asyncio.CancelledError:
            ask.record(started, "cancelled", error="cancelled before the agency answered")
            ask.cancel_recorded = True
            raise
        finally:
            current_call.reset(token)
            current_exchanges.reset(caught_token)
            if self._seals is not None and caught:
                await self._seals.keep(agency, op.name, ctx.correlation_id, ctx.message_id, caught)
        try:
            self._contracts.validate(op.response_contract, dict(reply))
        except ContractViolation as exc:
            ask.record(started, "contract-violation", reply, str(exc))
            raise AgencyContractViolation(agency, op.name, exc) from exc
        ask.record(started, "ok", reply)
        self._last_cause.pop(agency, None)
        if op.reuse_answer_s is not None:
            ask.calls.answers.append(
                Answer(agency, op.name, ask.request_digest, reply, datetime.now(UTC))
            )
        return reply

    def _held_back(self, ask: GatewayCall, started: float) -> CircuitOpen:
        """The circuit refused the call: record its state beside the agency's last real
        failure (the reason it opened), which stays the error an operator reads."""
        breaker = self.breakers[ask.agency]
        wait_s = seconds_until_trial(breaker)
        state = circuit_state(breaker)
        cause = self._last_cause.get(ask.agency)
        ask.record(
            started,
            "circuit-open",
            error=cause or f"circuit {state}",
            circuit=state,
            next_trial_s=round(wait_s, 1),
        )
        held = f"circuit {state}; next trial in {wait_s:.0f}s"
        reason = f"{cause} ({held})" if cause else held
        return CircuitOpen(ask.agency, ask.op.name, reason, retry_after=wait_s)
