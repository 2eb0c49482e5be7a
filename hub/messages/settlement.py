"""Group commit: the outcomes of deliveries that finish while a commit is under way are
settled together in the next transaction, with one audit-head lock and one commit for all.

Each delivery's work runs against a unit of work of its own (its audit entries, history and
results), sharing the transaction. If any of them fails, the whole transaction is rolled back
and each is settled again in a transaction of its own, as it would have been alone, so one
delivery's failure (a competing duplicate, say) never changes another's outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.sealing import Checkpointer
from hub.contracts.envelope import CloudEvent
from hub.messages.inbox import Delivery, Inbox
from hub.messages.outcome import Handled
from hub.messages.unit_of_work import SharedTransaction, UnitOfWork
from hub.store.tables import OutboxEvent

log = structlog.get_logger("hub.messages.settlement")
MAX_BATCH = 32
Work = Callable[[UnitOfWork], Handled]
# Publishes committed results; runs on the store thread that committed them.
AfterCommit = Callable[[list[OutboxEvent]], object]


@dataclass
class _Settlement:
    event: CloudEvent
    delivery: Delivery
    work: Work
    done: asyncio.Future[Handled] = field(repr=False)


class GroupCommit:
    """Settles outcomes in batches on the store's executor; one batch at a time per loop."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        inbox: Inbox,
        after_commit: AfterCommit | None = None,
        sealer: Checkpointer | None = None,
    ) -> None:
        self._sessions = sessions
        self._sealer = sealer
        self._inbox = inbox
        self._after_commit = after_commit
        self._waiting: list[_Settlement] = []
        self._drainer: asyncio.Task[None] | None = None

    async def settle(self, event: CloudEvent, delivery: Delivery, work: Work) -> Handled:
        """Run `work` in the transaction that settles this delivery; a first-seen message
        gets its inbox row there too."""
        item = _Settlement(event, delivery, work, asyncio.get_running_loop().create_future())
        self._waiting.append(item)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.get_running_loop().create_task(self._drain())
        return await item.done

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                outcomes = await asyncio.to_thread(self._settle_batch, batch)
            except BaseException as exc:  # cancelled, or the executor is gone
                for item in batch:
                    if not item.done.done():
                        item.done.set_exception(exc)
                raise
            for item, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    item.done.set_exception(outcome)
                else:
                    item.done.set_result(outcome)

    def _settle_batch(self, batch: list[_Settlement]) -> list[Handled | BaseException]:
        outcomes: list[Handled | BaseException] | None = None
        if len(batch) > 1:
            try:
                outcomes = list(self._together(batch))
            except Exception:
                log.info("settlement.batch_rolled_back", size=len(batch), exc_info=True)
        if outcomes is None:
            outcomes = [self._alone_or_error(item) for item in batch]
        self._publish([o for o in outcomes if isinstance(o, Handled) and o.emitted])
        return outcomes

    def _publish(self, settled: list[Handled]) -> None:
        """Publish the batch's results from this thread, straight after their commit, rather
        than hand each delivery's to a thread of its own. On failure they stay unpublished
        here; the caller may try again, and the outbox sweep publishes what is left."""
        if self._after_commit is None or not settled:
            return
        try:
            self._after_commit([row for handled in settled for row in handled.emitted])
        except Exception:
            log.exception("outbox.publish_failed", results=sum(len(h.emitted) for h in settled))
            return
        for handled in settled:
            handled.published = True

    def _together(self, batch: list[_Settlement]) -> list[Handled]:
        return self._in_one_transaction([(item, not item.delivery.registered) for item in batch])

    def _in_one_transaction(self, items: list[tuple[_Settlement, bool]]) -> list[Handled]:
        """Each item's work in a unit of its own, all in one transaction; with `True`, the
        item's first-seen inbox row is written there too."""
        with SharedTransaction(self._sessions, self._sealer) as shared:
            outcomes = []
            for item, register in items:
                event = item.event
                with shared.unit(correlationid=event.correlation, message_id=event.id) as uow:
                    if register:
                        self._inbox.register(uow, event, item.delivery)
                    outcomes.append(item.work(uow))  # the unit refuses an unclaimed first_seen
            shared.commit()
        return outcomes

    def _alone_or_error(self, item: _Settlement) -> Handled | BaseException:
        try:
            return self.alone(item)
        except Exception as exc:
            return exc

    def alone(self, item: _Settlement) -> Handled:
        """Settle one delivery in a transaction of its own. If a competing delivery wrote the
        message's inbox row meanwhile, the work runs again against that row, and the row's
        guard decides which outcome stands."""
        register = not item.delivery.registered
        while True:
            try:
                return self._in_one_transaction([(item, register)])[0]
            except IntegrityError:
                if not register or not self._inbox.has_row(item.event.id):
                    raise  # the flow's own write broke a constraint: a bug, counted as one
                register = False
