"""Charts drawn server-side as inline SVG: bars per time bucket, no script and no library."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 360, 80


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    ok_y: float
    ok_height: float
    bad_y: float
    bad_height: float
    title: str


def bars(ok: Sequence[int], bad: Sequence[int], labels: Sequence[str]) -> list[Bar]:
    """Stacked bars (good below, bad on top) scaled to the tallest bucket."""
    tallest = max((o + b for o, b in zip(ok, bad, strict=True)), default=0) or 1
    width = WIDTH / max(len(ok), 1)
    drawn = []
    for index, (good, failed, label) in enumerate(zip(ok, bad, labels, strict=True)):
        ok_h = HEIGHT * good / tallest
        bad_h = HEIGHT * failed / tallest
        drawn.append(
            Bar(
                x=round(index * width, 2),
                width=round(max(width - 1, 1), 2),
                ok_y=round(HEIGHT - ok_h, 2),
                ok_height=round(ok_h, 2),
                bad_y=round(HEIGHT - ok_h - bad_h, 2),
                bad_height=round(bad_h, 2),
                title=f"{label}: {good} ok, {failed} failed",
            )
        )
    return drawn
