"""The simulated Muscat business world every agency simulator answers from, so their data agree.

One seeded set of establishments: each has its commercial registration (MOCI), chamber
membership (OCCI), labour standing, premises with their civil defence certificate (ROP),
electricity account and municipal trade licence. Most are in good standing on every check;
some carry one weakness and a few several, in the same places for every seed. Dates are
offsets from `today`, so the data stays valid whenever it runs. The example establishment
(Al Noor Trading LLC, CR 1043217) is always first and always healthy.
"""

from __future__ import annotations

import random
from datetime import date
from functools import lru_cache

from connectors.world._generate import ESTABLISHMENT_COUNT, EXAMPLE_CR, WEAK_PLAN, generate
from connectors.world._model import WEAKNESSES, Activity, Establishment, Owner
from connectors.world._vocabulary import CLEARANCE_REFUSALS, WILAYATS

__all__ = [
    "CLEARANCE_REFUSALS",
    "ESTABLISHMENT_COUNT",
    "EXAMPLE_CR",
    "WEAKNESSES",
    "WEAK_PLAN",
    "WILAYATS",
    "Activity",
    "Establishment",
    "Owner",
    "by_account",
    "by_cr",
    "by_licence",
    "by_premises",
    "establishments",
    "healthy",
    "unknown_cr_numbers",
    "with_weakness",
]


def _today(today: date | None) -> date:
    return today or date.today()


def establishments(seed: int = 0, today: date | None = None) -> tuple[Establishment, ...]:
    """The whole world for `seed`, the example establishment first."""
    return generate(seed, _today(today))


def by_cr(cr_no: str, seed: int = 0, today: date | None = None) -> Establishment | None:
    """The establishment with this commercial registration number, or None."""
    return _index(seed, _today(today))[0].get(cr_no)


def by_premises(premises_id: str, seed: int = 0, today: date | None = None) -> Establishment | None:
    """The establishment at these premises (e.g. MCT-PR-00123), or None."""
    return _index(seed, _today(today))[1].get(premises_id)


def by_account(account_no: str, seed: int = 0, today: date | None = None) -> Establishment | None:
    """The establishment holding this electricity account, or None."""
    return _index(seed, _today(today))[2].get(account_no)


def by_licence(licence_no: str, seed: int = 0, today: date | None = None) -> Establishment | None:
    """The establishment holding this trade licence (e.g. MCT-TL-004217), or None."""
    return _index(seed, _today(today))[3].get(licence_no)


def healthy(seed: int = 0, today: date | None = None) -> list[Establishment]:
    """Establishments that pass every check on `today`."""
    day = _today(today)
    return [e for e in generate(seed, day) if not e.weaknesses_on(day)]


def with_weakness(kind: str, seed: int = 0, today: date | None = None) -> list[Establishment]:
    """Establishments failing the `kind` check (one of WEAKNESSES), alone or with others."""
    if kind not in WEAKNESSES:
        raise ValueError(f"unknown weakness {kind!r}; one of {', '.join(WEAKNESSES)}")
    day = _today(today)
    return [e for e in generate(seed, day) if kind in e.weaknesses_on(day)]


def unknown_cr_numbers(count: int, seed: int = 0) -> list[str]:
    """`count` well-formed CR numbers nobody in the world for `seed` holds (not-found cases)."""
    known = {e.cr_no for e in establishments(seed)}
    rng = random.Random(f"unknown-cr-{seed}")
    found: list[str] = []
    while len(found) < count:
        cr_no = str(rng.randint(1_000_000, 1_399_999))
        if cr_no not in known and cr_no not in found:
            found.append(cr_no)
    return found


Index = tuple[
    dict[str, Establishment],
    dict[str, Establishment],
    dict[str, Establishment],
    dict[str, Establishment],
]


@lru_cache(maxsize=8)
def _index(seed: int, today: date) -> Index:
    world = generate(seed, today)
    return (
        {e.cr_no: e for e in world},
        {e.premises_id: e for e in world},
        {e.account_no: e for e in world},
        {e.licence_no: e for e in world},
    )
