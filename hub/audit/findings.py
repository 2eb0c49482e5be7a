"""What `verify_chain` reports: each problem names a sequence number and what is wrong there."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ProblemKind(StrEnum):
    EDITED = "edited"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    BROKEN_LINK = "broken-link"
    RECOMPUTED = "recomputed"
    TRUNCATED = "truncated"
    BAD_SIGNATURE = "bad-signature"
    CHECKPOINT_DIFFERS = "checkpoint-differs"
    CHECKPOINT_MISSING = "checkpoint-missing"
    JOURNAL_UNREADABLE = "journal-unreadable"
    HEAD_MISMATCH = "head-mismatch"
    NO_KEY = "no-key"


# At one sequence number, the most telling problem comes first: what happened to the entries
# before what happened to the checkpoints that vouch for them.
_RANK = {kind: rank for rank, kind in enumerate(ProblemKind)}


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: ProblemKind
    detail: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.kind}: {self.detail}"

    @property
    def order(self) -> tuple[int, int]:
        return (self.seq, _RANK[self.kind])


@dataclass
class VerifyResult:
    """The outcome of one verification: intact or the problems found, and how much was read."""

    entries: int = 0
    checkpoints: int = 0
    external_checkpoints: int = 0
    unmirrored: int = 0  # signed database checkpoints not (yet) in the external file
    unsealed: int = 0  # newest entries no checkpoint covers yet
    unsealed_since: str | None = None  # when the oldest of them was recorded
    unsealed_age_s: float | None = None  # and how long ago that was, when verified
    elapsed_s: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return min(self.problems, key=lambda p: p.order) if self.problems else None

    @property
    def entries_per_s(self) -> float:
        return self.entries / self.elapsed_s if self.elapsed_s > 0 else 0.0
