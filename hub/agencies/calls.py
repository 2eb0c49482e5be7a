"""What one message's agency calls leave behind: a record of every attempt for the audit
trail, and the answers that may be kept for a retry."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from hub.agencies.answers import Answer, AnswerKey
from hub.agencies.connector import Operation
from hub.audit.chain import digest
from hub.metrics import observe_agency_call

log = structlog.get_logger("hub.agencies.gateway")  # the attempts are the gateway's


@dataclass(frozen=True)
class CallRecord:
    """One attempt at one agency operation, as the audit trail keeps it.

    outcome: ok, transient, permanent, contract-violation, circuit-open (held back by the
    circuit: `error` is then the agency's last real failure, `circuit` and `next_trial_s` the
    circuit's state), cancelled (the fan-out was decided elsewhere while this attempt or its
    backoff ran) or reused (attempt 0: an answer kept from an earlier delivery, `answered_at`).
    """

    agency: str
    operation: str
    attempt: int
    latency_ms: float
    outcome: str
    request_digest: str
    response_digest: str | None = None
    error: str | None = None
    circuit: str | None = None
    next_trial_s: float | None = None
    answered_at: str | None = None

    def as_detail(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class CallLog:
    """The attempts made while handling one message, kept until its unit of work commits;
    `reusable` holds the answers earlier deliveries kept, `answers` this delivery's new ones
    that may be kept for a retry."""

    records: list[CallRecord] = field(default_factory=list)
    reusable: Mapping[AnswerKey, Answer] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)

    @property
    def agencies(self) -> list[str]:
        return list(dict.fromkeys(r.agency for r in self.records))


@dataclass
class GatewayCall:
    """One `AgencyGateway.call`: what its attempts share, and how each is recorded."""

    agency: str
    op: Operation
    request_digest: str
    calls: CallLog
    attempts: int = 0
    cancel_recorded: bool = False

    def record(
        self,
        started: float,
        outcome: str,
        reply: Mapping[str, Any] | None = None,
        error: str | None = None,
        exc: BaseException | None = None,
        **state: Any,
    ) -> None:
        elapsed = time.perf_counter() - started
        if outcome != "reused":  # no call was made
            observe_agency_call(self.agency, self.op.name, outcome, elapsed, exc)
        latency = round(elapsed * 1000, 2)
        number = self.attempts if outcome != "reused" else 0
        self.calls.records.append(
            CallRecord(
                self.agency,
                self.op.name,
                number,
                latency,
                outcome,
                self.request_digest,
                digest(dict(reply)) if reply is not None else None,
                error,
                **state,
            )
        )
        log.info(
            "agency.call",
            agency=self.agency,
            operation=self.op.name,
            attempt=number,
            latency_ms=latency,
            outcome=outcome,
            error=error,
        )
