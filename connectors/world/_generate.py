"""Draw the simulated world from a seed: the example establishment first, then the rest, with
the weaknesses of `WEAK_PLAN` placed at seeded positions and everything else drawn to fit."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from connectors.world._model import WEAKNESSES, Activity, Establishment, Owner
from connectors.world._vocabulary import (
    CLEARANCE_REFUSALS,
    FAMILIES,
    FEMALE,
    LEGAL_FORMS,
    LEGAL_WEIGHTS,
    MALE,
    ROOTS,
    TRADE_WEIGHTS,
    TRADES,
    WILAYAT_WEIGHTS,
    WILAYATS,
)

ESTABLISHMENT_COUNT = 40
EXAMPLE_CR = "1043217"

# Which weaknesses occur, alone and combined, is the same for every seed; the seed picks who.
WEAK_PLAN: tuple[frozenset[str], ...] = (
    *(frozenset({kind}) for kind in WEAKNESSES),
    frozenset({"cr-expired", "occi-lapsed"}),
    frozenset({"no-clearance", "arrears"}),
    frozenset({"cr-suspended", "no-clearance", "arrears"}),
    frozenset({"civil-defence-expired", "arrears"}),
    frozenset({"occi-none", "civil-defence-none", "no-clearance"}),
)


def _person(rng: random.Random, civil_ids: set[str], share_pct: int) -> Owner:
    civil_id = f"{rng.randint(1_000_000, 29_999_999):08d}"
    while civil_id in civil_ids:
        civil_id = f"{rng.randint(1_000_000, 29_999_999):08d}"
    civil_ids.add(civil_id)
    female = rng.random() < 0.25
    first_en, first_ar = rng.choice(FEMALE if female else MALE)
    father_en, father_ar = rng.choice(MALE)
    family_en, family_ar_m, family_ar_f = rng.choice(FAMILIES)
    link_en, link_ar, family_ar = (
        ("bint", "بنت", family_ar_f) if female else ("bin", "بن", family_ar_m)
    )
    return Owner(
        civil_id,
        f"{first_en} {link_en} {father_en} {family_en}",
        f"{first_ar} {link_ar} {father_ar} {family_ar}",
        share_pct,
    )


def _owners(rng: random.Random, legal_form: str, civil_ids: set[str]) -> tuple[Owner, ...]:
    if legal_form in ("SPC", "EST"):
        return (_person(rng, civil_ids, 100),)
    count = rng.choice([2, 2, 3]) if legal_form == "LLC" else rng.choice([3, 4])
    first = 100 - 10 * (count - 1) - rng.randrange(0, 5) * 5
    rest = [10] * (count - 1)
    rest[0] += 100 - first - sum(rest)
    return tuple(_person(rng, civil_ids, share) for share in [first, *rest])


def _example(today: date) -> Establishment:
    trading = TRADES[0][2]
    activities = (Activity(*trading[0]), Activity(*trading[1]))
    return Establishment(
        cr_no=EXAMPLE_CR,
        name_en="Al Noor Trading LLC",
        name_ar="شركة النور للتجارة ش.م.م",
        legal_form="LLC",
        legal_form_en="Limited Liability Company",
        legal_form_ar="شركة محدودة المسؤولية",
        activities=activities,
        owners=(
            Owner("09123456", "Salim bin Hamad Al Harthy", "سالم بن حمد الحارثي", 70),
            Owner("11872045", "Aisha bint Said Al Balushi", "عائشة بنت سعيد البلوشية", 30),
        ),
        cr_status="active",
        cr_issued=today - timedelta(days=9 * 365),
        cr_expiry=today + timedelta(days=400),
        occi_member_no="OCCI-104321",
        occi_grade=2,
        occi_valid_until=today + timedelta(days=210),
        workers=24,
        omani_workers=9,
        clearance=True,
        clearance_reason_en=None,
        clearance_reason_ar=None,
        premises_id="MCT-PR-00123",
        wilayat="Muttrah",
        wilayat_ar="مطرح",
        area_en="Ruwi",
        area_ar="روي",
        plot_no="2/1457",
        civil_defence_valid_until=today + timedelta(days=300),
        account_no="3000123456",
        arrears_omr="0.000",
        licence_no="MCT-TL-004217",
        licence_expiry=today + timedelta(days=20),
        licence_activity=activities[0],
    )


def _establishment(
    rng: random.Random, today: date, weak: frozenset[str], taken: dict[str, set[str]]
) -> Establishment:
    def unique(kind: str) -> str:
        number = _FRESH[kind](rng)
        while number in taken[kind]:
            number = _FRESH[kind](rng)
        taken[kind].add(number)
        return number

    trade_en, trade_ar, trade_acts = rng.choices(TRADES, weights=TRADE_WEIGHTS)[0]
    code, form_en, form_ar, suffix_en, pattern_ar = rng.choices(LEGAL_FORMS, weights=LEGAL_WEIGHTS)[
        0
    ]
    root_en, root_ar = rng.choice(ROOTS)
    while f"{root_en} {trade_en}" in taken["name"]:
        root_en, root_ar = rng.choice(ROOTS)
    taken["name"].add(f"{root_en} {trade_en}")
    activities = tuple(Activity(*a) for a in trade_acts[: rng.randint(1, len(trade_acts))])
    wilayat = rng.choices(list(WILAYATS), weights=WILAYAT_WEIGHTS)[0]
    wilayat_ar, areas = WILAYATS[wilayat]
    area_en, area_ar = rng.choice(areas)
    workers = rng.choice([rng.randint(1, 9), rng.randint(10, 40), rng.randint(41, 160)])
    refusal = rng.choice(CLEARANCE_REFUSALS) if "no-clearance" in weak else None
    ratio = rng.uniform(0.0, 0.08) if refusal is CLEARANCE_REFUSALS[0] else rng.uniform(0.2, 0.6)
    omani = min(workers, round(workers * ratio))
    status = "suspended" if "cr-suspended" in weak else "active"
    status = "cancelled" if "cr-cancelled" in weak else status
    grades = rng.choices([1, 2, 3, 4, 5], weights=[1, 3, 5, 6, 4])
    grade: int | None = None if "occi-none" in weak else grades[0]
    occi_days = -rng.randint(5, 200) if "occi-lapsed" in weak else rng.randint(20, 365)
    cd_days = -rng.randint(3, 250) if "civil-defence-expired" in weak else rng.randint(15, 700)
    arrears = Decimal(rng.randint(12_500, 950_000)) / 1000 if "arrears" in weak else Decimal(0)
    other = [a for trade in TRADES for a in trade[2] if Activity(*a) not in activities]
    mismatch = "activity-mismatch" in weak
    licence_activity = Activity(*rng.choice(other)) if mismatch else activities[0]
    return Establishment(
        cr_no=unique("cr"),
        name_en=f"{root_en} {trade_en} {suffix_en}",
        name_ar=pattern_ar.format(f"{root_ar} {trade_ar}"),
        legal_form=code,
        legal_form_en=form_en,
        legal_form_ar=form_ar,
        activities=activities,
        owners=_owners(rng, code, taken["civil_id"]),
        cr_status=status,
        cr_issued=today - timedelta(days=rng.randint(400, 20 * 365)),
        cr_expiry=today
        + timedelta(days=-rng.randint(10, 300) if "cr-expired" in weak else rng.randint(30, 1500)),
        occi_member_no=None if grade is None else f"OCCI-{rng.randint(100_000, 999_999)}",
        occi_grade=grade,
        occi_valid_until=None if grade is None else today + timedelta(days=occi_days),
        workers=workers,
        omani_workers=omani,
        clearance=refusal is None,
        clearance_reason_en=refusal[0] if refusal else None,
        clearance_reason_ar=refusal[1] if refusal else None,
        premises_id=unique("premises"),
        wilayat=wilayat,
        wilayat_ar=wilayat_ar,
        area_en=area_en,
        area_ar=area_ar,
        plot_no=f"{rng.randint(1, 9)}/{rng.randint(100, 4999)}",
        civil_defence_valid_until=None
        if "civil-defence-none" in weak
        else today + timedelta(days=cd_days),
        account_no=unique("account"),
        arrears_omr=f"{arrears:.3f}",
        licence_no=unique("licence"),
        licence_expiry=today + timedelta(days=rng.randint(-60, 45)),
        licence_activity=licence_activity,
    )


# How each identifier is drawn; `unique` draws again until it is new.
_FRESH: dict[str, Callable[[random.Random], str]] = {
    "cr": lambda rng: str(rng.randint(1_000_000, 1_399_999)),
    "premises": lambda rng: f"MCT-PR-{rng.randint(200, 99_999):05d}",
    "account": lambda rng: f"30{rng.randint(0, 99_999_999):08d}",
    "licence": lambda rng: f"MCT-TL-{rng.randint(5000, 999_999):06d}",
}


@lru_cache(maxsize=8)
def generate(seed: int, today: date) -> tuple[Establishment, ...]:
    rng = random.Random(seed)
    example = _example(today)
    taken: dict[str, set[str]] = {
        "cr": {example.cr_no},
        "premises": {example.premises_id},
        "account": {example.account_no},
        "licence": {example.licence_no},
        "civil_id": {o.civil_id for o in example.owners},
        "name": {"Al Noor Trading"},
    }
    weak_at = dict(
        zip(rng.sample(range(1, ESTABLISHMENT_COUNT), len(WEAK_PLAN)), WEAK_PLAN, strict=True)
    )
    world = [example]
    for index in range(1, ESTABLISHMENT_COUNT):
        weak = weak_at.get(index, frozenset())
        world.append(_establishment(rng, today, weak, taken))
    return tuple(world)
