"""What became of one delivery: the pipeline's answer to the bus (ack, retry later, publish)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from hub.store.tables import OutboxEvent


class Outcome(StrEnum):
    DONE = "done"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    RETRY = "retry"
    FAILED = "failed"
    DEAD = "dead"


@dataclass
class Handled:
    """What became of one delivery, and what the bus must do next."""

    outcome: Outcome
    message_id: str
    emitted: list[OutboxEvent] = field(default_factory=list)
    retry_in_s: float | None = None
    published: bool = False  # its results went to the broker straight after the commit
