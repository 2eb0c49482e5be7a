"""The simulated world is deterministic, internally consistent, and has its weaknesses where the
agency simulators and the licence flow expect them."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest

from connectors import world
from connectors.world import WEAK_PLAN, WEAKNESSES, WILAYATS

TODAY = date(2025, 3, 1)
ARABIC = re.compile("[\u0600-\u06ff]")


def test_same_seed_and_day_give_the_same_world() -> None:
    assert world.establishments(0, TODAY) == world.establishments(0, TODAY)
    first = world.establishments(0, TODAY)
    other = world.establishments(1, TODAY)
    assert [e.cr_no for e in first] != [e.cr_no for e in other]
    assert first[0] == other[0]  # the example establishment does not depend on the seed


def test_the_example_comes_first_and_is_healthy_whatever_the_day() -> None:
    for day in (TODAY, TODAY + timedelta(days=3650)):
        example = world.establishments(0, day)[0]
        assert example.cr_no == world.EXAMPLE_CR
        assert example.name_en == "Al Noor Trading LLC"
        assert example.weaknesses_on(day) == frozenset()


def test_identifiers_are_unique_and_well_formed() -> None:
    found = world.establishments(0, TODAY)
    assert len(found) == world.ESTABLISHMENT_COUNT
    for attr, pattern in [
        ("cr_no", r"[0-9]{7}"),
        ("premises_id", r"MCT-PR-[0-9]{5}"),
        ("account_no", r"[0-9]{10}"),
        ("licence_no", r"MCT-TL-[0-9]{6}"),
    ]:
        values = [getattr(e, attr) for e in found]
        assert len(set(values)) == len(values), attr
        assert all(re.fullmatch(pattern, v) for v in values), attr
    names = [e.name_en for e in found]
    assert len(set(names)) == len(names)


def test_each_establishment_is_consistent() -> None:
    for e in world.establishments(3, TODAY):
        assert ARABIC.search(e.name_ar) and not ARABIC.search(e.name_en)
        assert e.wilayat in WILAYATS and WILAYATS[e.wilayat][0] == e.wilayat_ar
        assert (e.area_en, e.area_ar) in WILAYATS[e.wilayat][1]
        assert e.cr_status in ("active", "suspended", "cancelled")
        assert e.cr_issued < TODAY
        assert e.activities and all(re.fullmatch(r"[0-9]{4}", a.code) for a in e.activities)
        assert sum(o.share_pct for o in e.owners) == 100
        assert all(re.fullmatch(r"[0-9]{8}", o.civil_id) for o in e.owners)
        assert all(ARABIC.search(o.name_ar) for o in e.owners)
        assert (e.occi_grade is None) == (e.occi_valid_until is None) == (e.occi_member_no is None)
        assert e.occi_grade is None or 1 <= e.occi_grade <= 5
        assert 1 <= e.workers and 0 <= e.omani_workers <= e.workers
        assert e.omanisation_ratio == round(e.omani_workers / e.workers, 3)
        assert e.clearance == (e.clearance_reason_en is None) == (e.clearance_reason_ar is None)
        assert re.fullmatch(r"[0-9]+\.[0-9]{3}", e.arrears_omr)


def test_a_refusal_for_omanisation_goes_with_a_low_ratio() -> None:
    reason = world.CLEARANCE_REFUSALS[0][0]
    for seed in range(6):
        for e in world.establishments(seed, TODAY):
            if e.clearance_reason_en == reason:
                assert e.omanisation_ratio < 0.1


def test_weaknesses_read_from_the_data_follow_the_plan_for_every_seed() -> None:
    for seed in range(5):
        found = [e.weaknesses_on(TODAY) for e in world.establishments(seed, TODAY)]
        weak = Counter(w for w in found if w)
        assert weak == Counter(WEAK_PLAN)
        assert len([w for w in found if not w]) > len(found) / 2  # most are in good standing


def test_every_weakness_occurs_alone_and_some_combined() -> None:
    found = [e.weaknesses_on(TODAY) for e in world.establishments(0, TODAY)]
    for kind in WEAKNESSES:
        assert frozenset({kind}) in found, kind
    assert len([w for w in found if len(w) > 1]) >= 3


@pytest.mark.parametrize("kind", WEAKNESSES)
def test_with_weakness_picks_establishments_that_fail_that_check(kind: str) -> None:
    picked = world.with_weakness(kind, 0, TODAY)
    assert picked
    for e in picked:
        assert kind in e.weaknesses_on(TODAY)
    if kind == "arrears":
        assert all(Decimal(e.arrears_omr) > 0 for e in picked)
    if kind == "civil-defence-expired":
        assert all(
            e.civil_defence_valid_until and e.civil_defence_valid_until < TODAY for e in picked
        )
    if kind == "cr-expired":
        assert all(e.cr_expiry < TODAY and e.cr_status == "active" for e in picked)


def test_healthy_ones_pass_every_check() -> None:
    for e in world.healthy(0, TODAY):
        assert e.cr_status == "active" and e.cr_expiry >= TODAY
        assert e.occi_valid_until is not None and e.occi_valid_until >= TODAY
        assert e.clearance
        assert e.civil_defence_valid_until is not None and e.civil_defence_valid_until >= TODAY
        assert e.arrears_omr == "0.000"
        assert e.licence_activity in e.activities


def test_lookups_find_the_same_establishment_by_each_key() -> None:
    for e in world.establishments(0, TODAY):
        assert world.by_cr(e.cr_no, 0, TODAY) == e
        assert world.by_premises(e.premises_id, 0, TODAY) == e
        assert world.by_account(e.account_no, 0, TODAY) == e
        assert world.by_licence(e.licence_no, 0, TODAY) == e
    assert world.by_cr("0000000", 0, TODAY) is None
    assert world.by_premises("MCT-PR-00000", 0, TODAY) is None
    assert world.by_account("0000000000", 0, TODAY) is None
    assert world.by_licence("MCT-TL-000000", 0, TODAY) is None


def test_unknown_cr_numbers_are_well_formed_and_unknown() -> None:
    unknown = world.unknown_cr_numbers(5, seed=0)
    assert len(set(unknown)) == 5
    for cr_no in unknown:
        assert re.fullmatch(r"[0-9]{7}", cr_no)
        assert world.by_cr(cr_no, 0) is None


def test_an_unknown_weakness_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="arrears"):
        world.with_weakness("bankrupt")
