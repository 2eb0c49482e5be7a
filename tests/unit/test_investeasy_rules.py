"""The Invest Easy decision and fee rules, and the tender relay order, with no I/O."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hub.flows.investeasy_rules import (
    APPROVED,
    INSPECTION,
    REFUSED,
    decide_application,
    licence_fee,
)
from hub.flows.licence_rules import CheckLine, LicenceDecision
from hub.flows.tender_rules import HOLD, RELAY, REPEAT, arrival, check_grade, relayable


def checks(*passed: bool) -> LicenceDecision:
    lines = [
        CheckLine(f"check-{i}", "agency", ok, "ok" if ok else f"fail-{i}", f"en {i}", f"عربي {i}")
        for i, ok in enumerate(passed)
    ]
    return LicenceDecision(all(passed), lines, None)


@pytest.mark.parametrize(
    ("activities", "area", "municipal", "service"),
    [
        (1, 180, "52.000", "10.400"),  # 20 % of the legal fee
        (1, 1, "25.150", "5.030"),
        (4, 900, "235.000", "20.000"),  # capped at 20.000
        (0, 3, "0.450", "0.500"),  # at least 0.500
        (1, 7, "26.050", "5.210"),
    ],
)
def test_the_fee_is_the_legal_fee_and_a_bounded_service_fee_in_baisa(
    activities: int, area: int, municipal: str, service: str
) -> None:
    fee = licence_fee(activities, area)
    assert (fee.municipal, fee.service) == (Decimal(municipal), Decimal(service))
    assert fee.total == Decimal(municipal) + Decimal(service)
    assert fee.total.as_tuple().exponent == -3
    assert fee.as_dict()["total_omr"] == f"{fee.total:.3f}"


def test_any_failing_check_refuses_with_only_the_failing_reasons() -> None:
    decision = decide_application(checks(True, False, True, False, True), ["4690"], 100)
    assert decision.decision == REFUSED and decision.fee is None
    assert [r.code for r in decision.reasons] == ["fail-1", "fail-3"]
    assert all(r.ar and r.en for r in decision.reasons)


@pytest.mark.parametrize(
    ("activities", "area", "codes"),
    [
        (["4690"], 1001, ["inspection-area"]),
        (["5610"], 50, ["inspection-activity"]),
        (["5630", "4690"], 2000, ["inspection-area", "inspection-activity"]),
    ],
)
def test_passing_checks_on_a_large_site_or_food_activity_need_an_inspection(
    activities: list[str], area: int, codes: list[str]
) -> None:
    decision = decide_application(checks(True, True), activities, area)
    assert decision.decision == INSPECTION and decision.fee is None
    assert [r.code for r in decision.reasons] == codes


def test_passing_checks_elsewhere_approve_with_the_fee() -> None:
    decision = decide_application(checks(True, True), ["4690"], 1000)
    assert decision.decision == APPROVED and decision.reasons == []
    assert decision.fee == licence_fee(1, 1000)


@pytest.mark.parametrize(
    ("sequence", "last", "held", "verdict"),
    [
        (1, 0, False, RELAY),
        (2, 1, False, RELAY),
        (3, 1, False, HOLD),
        (3, 1, True, REPEAT),
        (1, 1, False, REPEAT),
        (1, 4, False, REPEAT),
    ],
)
def test_a_change_is_relayed_held_or_a_repeat(
    sequence: int, last: int, held: bool, verdict: str
) -> None:
    assert arrival(sequence, last, held) == verdict


def test_held_changes_go_out_as_the_unbroken_run_after_the_last() -> None:
    assert relayable(0, [1, 2, 3]) == [1, 2, 3]
    assert relayable(1, [3, 2, 5]) == [2, 3]
    assert relayable(1, [3, 4]) == []
    assert relayable(0, []) == []


def test_the_chamber_grade_must_meet_the_tenders_minimum() -> None:
    member = {"found": True, "membership": {"grade": 3}}
    assert check_grade(member, 3).passed and check_grade(member, None).passed
    assert not check_grade(member, 2).passed
    assert not check_grade({"found": False}, None).passed
