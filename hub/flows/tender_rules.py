"""Two reviewable rules of the Isnad tenders.

**Award eligibility.** The winner of a tender may be given the contract when:

| check                   | agency | passes when                                            |
| ----------------------- | ------ | ------------------------------------------------------ |
| commercial-registration | moci   | the CR exists, is active and unexpired                 |
| chamber-membership      | occi   | a member, membership valid                             |
| chamber-grade           | occi   | its grade is the tender's minimum grade or better (1 best) |
| labour-standing         | labour | the labour register gives its clearance                |

**Relay order.** Isnad numbers each tender's changes from 1. A change is relayed when every
change before it has been; one that comes early is held until then; one already relayed or
held (a repeated push) is relayed no second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from hub.flows.licence_rules import (
    CheckLine,
    check_labour,
    check_membership,
    check_registration,
)

RELAY, HOLD, REPEAT = "relay", "hold", "repeat"


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    lines: list[CheckLine]

    def as_dict(self) -> dict[str, Any]:
        return {"eligible": self.eligible, "checks": [line.as_dict() for line in self.lines]}


def check_grade(reply: Mapping[str, Any], minimum: int | None) -> CheckLine:
    """The Chamber grade against the tender's minimum (no minimum: any member passes)."""
    if not reply.get("found"):
        return CheckLine(
            "chamber-grade",
            "occi",
            False,
            "grade-none",
            "Not a Chamber member, so no grade.",
            "ليست عضواً في الغرفة، فلا درجة لها.",
        )
    grade = int(reply["membership"]["grade"])
    if minimum is not None and grade > minimum:
        return CheckLine(
            "chamber-grade",
            "occi",
            False,
            "grade-too-low",
            f"Chamber grade {grade} is below the grade {minimum} this tender requires.",
            f"درجة الغرفة {grade} أدنى من الدرجة {minimum} المطلوبة لهذه المناقصة.",
        )
    return CheckLine(
        "chamber-grade",
        "occi",
        True,
        "ok-grade",
        f"Chamber grade {grade} meets the tender's requirement.",
        f"درجة الغرفة {grade} تستوفي متطلبات المناقصة.",
    )


def award_eligibility(
    cr_no: str,
    registration: Mapping[str, Any],
    membership: Mapping[str, Any],
    labour: Mapping[str, Any],
    *,
    min_grade: int | None,
    today: date,
) -> Eligibility:
    """Every check on the winning company, then whether it may be given the contract."""
    lines = [
        check_registration(registration, cr_no, [], today),
        check_membership(membership, today),
        check_grade(membership, min_grade),
        check_labour(labour, cr_no),
    ]
    return Eligibility(all(line.passed for line in lines), lines)


def arrival(sequence: int, last_relayed: int, already_held: bool) -> str:
    """What to do with a change as it arrives: relay it now, hold it, or call it a repeat."""
    if sequence <= last_relayed or already_held:
        return REPEAT
    return RELAY if sequence == last_relayed + 1 else HOLD


def relayable(last_relayed: int, held: list[int]) -> list[int]:
    """The held sequences that can go now, in order: the unbroken run after `last_relayed`."""
    run: list[int] = []
    for sequence in sorted(held):
        if sequence != last_relayed + len(run) + 1:
            break
        run.append(sequence)
    return run
