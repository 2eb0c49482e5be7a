"""The simulated parking-violation book: fines ROP issued on plates of its vehicle register.

The same for a given seed and independent of the day it runs, so that contract examples and
tests can name a violation that exists. The example violation (PV-2026-004512, 15 OMR on the
example plate 12345 AB) is always first.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from connectors.rop.data import EXAMPLE_PLATE, vehicles

VIOLATION_COUNT = 20
EXAMPLE_VIOLATION = "PV-2026-004512"
# Fines in rials for the common parking offences (meter expired, no permit, double parking...).
_FINES = ["5.000", "10.000", "15.000", "20.000", "35.000", "50.000"]
_FINE_WEIGHTS = [3, 8, 5, 4, 2, 1]


@dataclass(frozen=True)
class Violation:
    violation_no: str
    plate_number: str
    plate_code: str
    amount_omr: str  # baisa precision, e.g. "15.000"


def violations(seed: int = 0) -> tuple[Violation, ...]:
    """Every violation of the book for `seed`, the example first."""
    return _book(seed)


def find_violation(violation_no: str, seed: int = 0) -> Violation | None:
    """The violation with this number, or None when ROP never issued it."""
    return _by_number(seed).get(violation_no)


def unknown_violation_numbers(count: int, seed: int = 0) -> list[str]:
    """`count` well-formed violation numbers the book for `seed` does not hold."""
    known = set(_by_number(seed))
    rng = random.Random(f"unknown-violations-{seed}")
    found: list[str] = []
    while len(found) < count:
        number = f"PV-2026-{rng.randint(0, 999_999):06d}"
        if number not in known and number not in found:
            found.append(number)
    return found


@lru_cache(maxsize=8)
def _by_number(seed: int) -> dict[str, Violation]:
    return {v.violation_no: v for v in _book(seed)}


@lru_cache(maxsize=8)
def _book(seed: int) -> tuple[Violation, ...]:
    rng = random.Random(f"violations-{seed}")
    plates = [(v.plate_number, v.plate_code) for v in vehicles(seed)[1:]]
    book = [Violation(EXAMPLE_VIOLATION, *EXAMPLE_PLATE, "15.000")]
    numbers = {EXAMPLE_VIOLATION}
    while len(book) < VIOLATION_COUNT:
        number = f"PV-{rng.choice([2025, 2026])}-{rng.randint(0, 999_999):06d}"
        if number in numbers:
            continue
        numbers.add(number)
        amount = rng.choices(_FINES, weights=_FINE_WEIGHTS)[0]
        book.append(Violation(number, *rng.choice(plates), amount))
    return tuple(book)
