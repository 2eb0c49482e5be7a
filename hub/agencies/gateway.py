"""The one door to the agencies: contract checks on both sides, in-process retries with
backoff and jitter for transient faults only, and a record of every attempt for the audit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pybreaker
import structlog
from aiolimiter import AsyncLimiter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from hub.agencies.circuits import circuit_state, make_breakers, seconds_until_trial
from hub.agencies.connector import (
    AgencyClient,
    CallContext,
    Connector,
    Operation,
    current_call,
    pick_connector,
)
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
from hub.metrics import observe_agency_call

log = structlog.get_logger("hub.agencies.gateway")


@dataclass(frozen=True)
class CallRecord:
    """One attempt at one agency operation, as the audit trail keeps it."""

    agency: str
    operation: str
    attempt: int
    latency_ms: float
    outcome: str
    request_digest: str
    response_digest: str | None = None
    error: str | None = None

    def as_detail(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class CallLog:
    """The attempts made while handling one message, kept until its unit of work commits."""

    records: list[CallRecord] = field(default_factory=list)

    @property
    def agencies(self) -> list[str]:
        return list(dict.fromkeys(r.agency for r in self.records))


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
    ) -> None:
        self._connectors = connectors
        self._clients = clients
        self._contracts = contracts
        self.breakers = dict(breakers) if breakers is not None else make_breakers(connectors)
        # Each connector's declared rate limit (or the configured one; 0 lifts it), held per
        # process as a leaky bucket.
        limits = {name: c.policy.rate_limit_per_s for name, c in connectors.items()}
        limits |= dict(rate_limits or {})
        self._limiters = {name: AsyncLimiter(rate, 1.0) for name, rate in limits.items() if rate}

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
        """The canonical reply, after up to `policy.attempts` tries on transient faults."""
        op = self.operation(agency, operation)
        try:
            self._contracts.validate(op.request_contract, dict(request))
        except ContractViolation as exc:
            raise PermanentAgencyError(
                agency, operation, f"request breaks contract: {exc}"
            ) from exc
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
        async for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                return await self._attempt(agency, op, request, ctx, calls, number)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _attempt(
        self,
        agency: str,
        op: Operation,
        request: Mapping[str, Any],
        ctx: CallContext,
        calls: CallLog,
        number: int,
    ) -> Mapping[str, Any]:
        policy = self._connectors[agency].policy
        request_digest = digest(dict(request))
        started = time.perf_counter()

        def record(
            outcome: str,
            reply: Mapping[str, Any] | None,
            error: str | None,
            exc: BaseException | None = None,
        ) -> None:
            elapsed = time.perf_counter() - started
            observe_agency_call(agency, op.name, outcome, elapsed, exc)
            latency = round(elapsed * 1000, 2)
            calls.records.append(
                CallRecord(
                    agency,
                    op.name,
                    number,
                    latency,
                    outcome,
                    request_digest,
                    digest(dict(reply)) if reply is not None else None,
                    error,
                )
            )
            log.info(
                "agency.call",
                agency=agency,
                operation=op.name,
                attempt=number,
                latency_ms=latency,
                outcome=outcome,
                error=error,
            )

        attempt_ctx = CallContext(ctx.correlation_id, ctx.message_id, number)
        breaker = self.breakers[agency]
        token = current_call.set(attempt_ctx)
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
            wait_s = seconds_until_trial(breaker)
            record("circuit-open", None, f"circuit open; next trial in {wait_s:.0f}s")
            raise CircuitOpen(agency, op.name, "circuit open", retry_after=wait_s) from None
        except AgencyError as exc:
            record(
                "transient" if isinstance(exc, TransientAgencyError) else "permanent",
                None,
                exc.reason,
                exc,
            )
            raise
        finally:
            current_call.reset(token)
        try:
            self._contracts.validate(op.response_contract, dict(reply))
        except ContractViolation as exc:
            record("contract-violation", reply, str(exc))
            raise AgencyContractViolation(agency, op.name, exc) from exc
        record("ok", reply, None)
        return reply
