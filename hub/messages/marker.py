"""The replay marker: AMQP headers on a re-driven delivery saying who replayed it and why,
so the pipeline can record it in the message's history and the audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

REPLAY_ID_HEADER = "x-hub-replay-id"
OPERATOR_HEADER = "x-hub-replay-operator"
REASON_HEADER = "x-hub-replay-reason"
REASON_MAX = 1000


@dataclass(frozen=True)
class ReplayMarker:
    """Who re-drove a message and why; `replay_id` names the row in `message_replays`."""

    replay_id: str
    operator: str
    reason: str

    def headers(self) -> dict[str, str]:
        return {
            REPLAY_ID_HEADER: self.replay_id,
            OPERATOR_HEADER: self.operator,
            REASON_HEADER: self.reason[:REASON_MAX],
        }

    def as_detail(self) -> dict[str, str]:
        return {"replay_id": self.replay_id, "operator": self.operator, "reason": self.reason}

    @classmethod
    def from_headers(cls, headers: Mapping[str, Any] | None) -> ReplayMarker | None:
        """The marker of a delivery, or None for an ordinary one (or a mangled marker)."""
        if not headers:
            return None
        values = [headers.get(h) for h in (REPLAY_ID_HEADER, OPERATOR_HEADER, REASON_HEADER)]
        texts = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in values]
        if not all(isinstance(t, str) and t for t in texts):
            return None
        replay_id, operator, reason = (str(t) for t in texts)
        return cls(replay_id, operator, reason)
