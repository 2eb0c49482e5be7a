"""The replay rule, the rate option and the pacing, without a store or a broker."""

from __future__ import annotations

import pytest

from hub.messages.marker import ReplayMarker
from hub.replay import redrive
from hub.replay.plan import Action, decide
from hub.replay.redrive import Pacer, ReplayRequest, parse_rate


@pytest.mark.parametrize(
    ("status", "force", "interrupted", "action"),
    [
        ("dead", False, False, Action.REDRIVE),
        ("failed", False, False, Action.REDRIVE),
        ("dead", True, False, Action.REDRIVE),
        ("retrying", False, False, Action.SKIP),
        ("pending", False, False, Action.SKIP),
        ("retrying", True, False, Action.REDRIVE),
        ("pending", False, True, Action.REDRIVE),
        ("done", False, False, Action.SKIP),
        ("done", True, False, Action.REPUBLISH),
        ("rejected", False, False, Action.SKIP),
        ("rejected", True, False, Action.REPUBLISH),
    ],
)
def test_replay_rule(status: str, force: bool, interrupted: bool, action: Action) -> None:
    assert decide(status, force=force, interrupted=interrupted).action is action


def test_a_done_message_is_never_redriven_even_when_forced() -> None:
    assert all(
        decide(status, force=force).action is not Action.REDRIVE
        for status in ("done", "rejected")
        for force in (False, True)
    )


@pytest.mark.parametrize(("text", "per_s"), [("5/s", 5.0), ("300/m", 5.0), ("0.5", 0.5)])
def test_rates(text: str, per_s: float) -> None:
    assert parse_rate(text) == per_s


@pytest.mark.parametrize("text", ["0/s", "-1/s", "fast", "5/h", "nan/s", ""])
def test_bad_rates(text: str) -> None:
    with pytest.raises(ValueError, match="not a rate"):
        parse_rate(text)


def test_pacer_spaces_publishes_by_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 3))
        now[0] += seconds

    monkeypatch.setattr(redrive.time, "sleep", sleep)
    pacer = Pacer(4.0, clock=lambda: now[0])
    for _ in range(3):
        pacer.wait()
    assert slept == [0.25, 0.25]  # the first goes at once, then one every quarter second
    unpaced = Pacer(None, clock=lambda: now[0])
    unpaced.wait()
    assert len(slept) == 2


def test_reason_and_operator_are_required() -> None:
    with pytest.raises(ValueError, match="--reason is required"):
        ReplayRequest(" ", "fatma")
    with pytest.raises(ValueError, match="--operator"):
        ReplayRequest("ROP back", "")


def test_marker_round_trips_through_headers_and_ignores_ordinary_deliveries() -> None:
    marker = ReplayMarker("r-1", "سالم", "عودة الخدمة")  # Arabic operator name and reason
    assert ReplayMarker.from_headers(marker.headers()) == marker
    raw = {k: v.encode() for k, v in marker.headers().items()}  # some transports give bytes
    assert ReplayMarker.from_headers(raw) == marker
    assert ReplayMarker.from_headers({"x-delay": 1000}) is None
    assert ReplayMarker.from_headers(None) is None
