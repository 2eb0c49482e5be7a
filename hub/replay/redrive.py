"""Carry out a replay: each message in its own transaction (the replay's audit entry, its log
row and the message marked as re-driven commit together), then published with the hub's
Publisher: the stored envelope to the hub's work queue, or the stored results to
municipal.out. Nothing is moved between queues by hand."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.sealing import Checkpointer
from hub.bus.outbox import OutboxRelay
from hub.bus.publisher import Publisher
from hub.bus.topology import INBOUND_QUEUE_NAME, declare_topology
from hub.contracts.envelope import body_from_text
from hub.messages.lifecycle import MessageLife
from hub.messages.marker import ReplayMarker
from hub.messages.unit_of_work import UnitOfWork
from hub.replay.plan import IN_FLIGHT, Action, PlannedReplay, decide
from hub.store.engine import WRITE_INTENT
from hub.store.queries import results_of, unpublished_redrives
from hub.store.tables import Message, MessageReplay, MessageStatus, OutboxEvent

OPERATOR_MAX = 100


@dataclass(frozen=True)
class ReplayRequest:
    """Who replays, why, and whether final messages get their results re-published."""

    reason: str
    operator: str  # the name the operator gave (--operator), or the OS user
    force: bool = False
    os_user: str | None = None  # who ran the command, recorded beside the given name

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("--reason is required: say why these messages are replayed")
        if not self.operator.strip() or len(self.operator) > OPERATOR_MAX:
            raise ValueError(f"--operator must be 1 to {OPERATOR_MAX} characters")


@dataclass(frozen=True)
class ReplayOutcome:
    """What was done to one message; `action` may be SKIP when its state changed meanwhile."""

    planned: PlannedReplay
    action: Action
    why: str
    replay_id: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return self.planned.as_dict() | {
            "action": self.action.value,
            "why": self.why,
            "replay_id": self.replay_id,
        }


@dataclass
class ReplaySummary:
    outcomes: list[ReplayOutcome] = field(default_factory=list)

    @property
    def counts(self) -> Counter[Action]:
        return Counter(o.action for o in self.outcomes)


def parse_rate(text: str) -> float:
    """`5/s`, `300/m` or a bare number (per second) -> messages per second."""
    number, _, unit = text.strip().partition("/")
    per = {"": 1.0, "s": 1.0, "m": 60.0}.get(unit.strip())
    try:
        rate = float(number) / per if per else -1.0
    except ValueError:
        rate = -1.0
    if not rate > 0:
        raise ValueError(f"not a rate: {text!r} (use e.g. 5/s or 300/m)")
    return rate


class Pacer:
    """At most `rate_per_s` publishes per second (None: as fast as the store and broker go)."""

    def __init__(
        self, rate_per_s: float | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval = 1.0 / rate_per_s if rate_per_s else 0.0
        self._clock = clock
        self._next = clock()

    def wait(self) -> None:
        if not self._interval:
            return
        delay = self._next - self._clock()
        if delay > 0:
            time.sleep(delay)
        self._next = max(self._next, self._clock()) + self._interval


class Replayer:
    """Re-drives or re-publishes one planned message at a time."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        publisher: Publisher,
        broker_url: str,
        sealer: Checkpointer | None = None,
    ) -> None:
        self._sessions = sessions
        self._sealer = sealer
        self._publisher = publisher
        self._relay = OutboxRelay(sessions, publisher)
        # The work queue exists before anything is published to it, served or not.
        declare_topology(publisher.producer.channel, broker_url)

    def replay(self, planned: PlannedReplay, request: ReplayRequest) -> ReplayOutcome:
        marker = ReplayMarker(str(uuid.uuid4()), request.operator, request.reason)
        uow = UnitOfWork(
            self._sessions,
            correlationid=planned.correlationid,
            message_id=planned.message_id,
            actor=f"operator:{request.operator}"[:OPERATOR_MAX],
            sealer=self._sealer,
        )
        with uow:
            row = uow.session.get(Message, planned.message_id, with_for_update=True)
            if row is None:
                return ReplayOutcome(planned, Action.SKIP, "no longer in the store")
            interrupted = row.status in IN_FLIGHT and bool(
                unpublished_redrives(uow.session, [row.id])
            )
            # Decided again on the locked row: the hub may have moved it since the plan.
            decision = decide(row.status, force=request.force, interrupted=interrupted)
            if decision.action is Action.SKIP:
                return ReplayOutcome(planned, Action.SKIP, decision.why)
            results = results_of(uow.session, row.id) if decision.action is Action.REPUBLISH else []
            if decision.action is Action.REPUBLISH and not results:
                return ReplayOutcome(planned, Action.SKIP, f"{row.status}: no stored result")
            body = body_from_text(row.envelope)
            self._mark(uow, row, marker, decision.action, results, request.os_user)
            uow.commit()
        if decision.action is Action.REDRIVE:
            self._publisher.publish(
                body, exchange="", routing_key=INBOUND_QUEUE_NAME, headers=marker.headers()
            )
        else:
            self._relay.publish(results)
        self._published(planned.message_id, decision.action)
        return ReplayOutcome(planned, decision.action, decision.why, marker.replay_id)

    @staticmethod
    def _mark(
        uow: UnitOfWork,
        row: Message,
        marker: ReplayMarker,
        action: Action,
        results: list[OutboxEvent],
        os_user: str | None = None,
    ) -> None:
        """Log and audit the replay; a re-drive also restarts the message's retry ladder."""
        previous = row.status
        uow.session.add(
            MessageReplay(
                id=marker.replay_id,
                message_id=row.id,
                operator=marker.operator,
                reason=marker.reason,
                mode=action.value,
                previous_status=previous,
            )
        )
        if action is Action.REDRIVE:
            row.ladder_base = row.attempts  # the ladder counts deliveries from here
            row.unexpected_errors = 0  # and so does the bound on unexpected errors
            MessageLife.move(row, MessageStatus.PENDING)
            uow.history(
                row.id, MessageStatus.PENDING, row.attempts, step="replayed", **marker.as_detail()
            )
        uow.audit(
            "message.replayed",
            mode=action.value,
            previous_status=previous,
            attempts=row.attempts,
            results=[r.id for r in results] if action is Action.REPUBLISH else [],
            **marker.as_detail(),
            **({"os_user": os_user} if os_user else {}),
        )

    def _published(self, message_id: str, action: Action) -> None:
        """Record that this message's replays went out (an unpublished one means a crash)."""
        with self._sessions.begin() as session:
            session.connection(execution_options=WRITE_INTENT)
            session.execute(
                update(MessageReplay)
                .where(
                    MessageReplay.message_id == message_id,
                    MessageReplay.mode == action.value,
                    MessageReplay.published_at.is_(None),
                )
                .values(published_at=datetime.now(UTC))
            )


def run_replay(
    plan: Iterable[PlannedReplay],
    request: ReplayRequest,
    replayer: Replayer,
    *,
    rate_per_s: float | None = None,
    on_each: Callable[[ReplayOutcome], None] | None = None,
) -> ReplaySummary:
    """Replay each planned message in turn; skipped ones cost no time against the rate."""
    summary = ReplaySummary()
    pacer = Pacer(rate_per_s)
    for planned in plan:
        if planned.decision.action is Action.SKIP:
            outcome = ReplayOutcome(planned, Action.SKIP, planned.decision.why)
        else:
            pacer.wait()
            outcome = replayer.replay(planned, request)
        summary.outcomes.append(outcome)
        if on_each is not None:
            on_each(outcome)
    return summary
