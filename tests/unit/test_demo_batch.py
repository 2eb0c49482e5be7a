"""`hub demo`'s first wave leaves the payment demo what it pays, at every size the command
accepts: two renewals of healthy licences and one fine that the wave does not touch."""

from __future__ import annotations

import pytest

from hub.demo.batch import first_wave
from hub.demo.payments import payment_cases


@pytest.mark.parametrize("count", [5, 300, 5000])
def test_the_first_wave_leaves_two_renewals_and_a_fine_to_pay(count: int) -> None:
    wave = first_wave(count, "A1B2C3")
    used = {str(v) for c in wave for v in c.data.values() if isinstance(v, str)}
    paid = payment_cases(used)
    assert [p.service for p in paid] == ["licence-renewal", "licence-renewal", "parking-fine"]
    assert not {p.case for p in paid} & used
