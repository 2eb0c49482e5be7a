"""Time options as operators type them: `2h` (ago) or an ISO 8601 timestamp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.config import parse_duration


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """`30m`, `2h`, `1d` mean that long ago; otherwise an ISO timestamp (UTC when naive)."""
    now = now or datetime.now(UTC)
    try:
        return now - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a time: {text!r} (use e.g. 2h, 1d or 2026-11-29T08:00)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
