"""Name what happened where the chain first breaks: edited, deleted, inserted or reordered.

An entry's hash covers its own sequence number, so an entry that was moved still hashes
correctly under the number it was written with. Finding that number for the entries around
the break tells a swap from a renumbered deletion or insertion, and those from an edit.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from hub.audit.entry import StoredEntry
from hub.audit.findings import Problem, ProblemKind

RADIUS = 8  # how far from its place an entry is looked for, and how far around a break is read


def written_at(entry: StoredEntry, radius: int = RADIUS) -> int | None:
    """The sequence number `entry` was written with (near its place), None if edited."""
    for distance in range(radius + 1):
        for seq in {entry.seq - distance, entry.seq + distance}:
            if entry.hash_as(seq) == entry.entry_hash:
                return seq
    return None


class Break(StrEnum):
    """How the walk first failed at a sequence number."""

    GAP = "gap"  # the expected number is absent
    EARLY = "early"  # a number before the expected one (before the first entry)
    HASH = "hash"  # the content does not give the stored hash
    LINK = "link"  # the hash is right but prev_hash is not the previous entry's hash


def diagnose(window: Sequence[StoredEntry], at: int, found: Break) -> Problem:
    """The problem at sequence `at`, from the entries read around it (sorted by seq)."""
    by_seq = {entry.seq: entry for entry in window}
    if found is Break.GAP:
        following = min((e.seq for e in window if e.seq > at), default=None)
        if following is None:
            return Problem(at, ProblemKind.DELETED, f"entry {at} and after are missing")
        missing = f"entry {at} is" if following == at + 1 else f"entries {at}..{following - 1} are"
        return Problem(
            at,
            ProblemKind.DELETED,
            f"{missing} missing: the chain jumps from seq {at - 1} to seq {following}",
        )
    if found is Break.EARLY:
        return Problem(at, ProblemKind.INSERTED, "an entry numbered before the first entry")
    entry = by_seq[at]
    after = by_seq.get(at + 1)
    if found is Break.LINK:
        if after is not None and written_at(after) == at:
            return _inserted(at, "it does not link to the entry before")
        if at == 1:
            return Problem(at, ProblemKind.BROKEN_LINK, "the first entry does not start at genesis")
        return Problem(
            at - 1,
            ProblemKind.EDITED,
            f"changed and its hash recomputed: seq {at} still links to its old hash",
        )
    origin = written_at(entry)
    if origin is None:
        if after is not None and written_at(after) == at:
            return _inserted(at, "its hash does not match its content")
        return Problem(
            at,
            ProblemKind.EDITED,
            f"content does not match its hash (stored {entry.entry_hash[:12]}, "
            f"content hashes to {entry.hash_as(at)[:12]})",
        )
    if origin < at:
        count = at - origin
        return Problem(
            origin,
            ProblemKind.INSERTED,
            f"{count} entr{'y' if count == 1 else 'ies'} not written by the hub at seq {origin}: "
            f"the entry now at seq {at} was written as seq {origin}",
        )
    partner = by_seq.get(origin)
    if partner is not None and written_at(partner) == at:
        return Problem(at, ProblemKind.REORDERED, f"entries {at} and {origin} were swapped")
    skipped = range(at, origin)
    if any(e.seq != at and written_at(e) in skipped for e in window):
        return Problem(
            at, ProblemKind.REORDERED, f"the entry at seq {at} was written as seq {origin}"
        )
    count = origin - at
    return Problem(
        at,
        ProblemKind.DELETED,
        f"{count} entr{'y' if count == 1 else 'ies'} removed and the rest renumbered: "
        f"the entry now at seq {at} was written as seq {origin}",
    )


def _inserted(at: int, why: str) -> Problem:
    return Problem(
        at,
        ProblemKind.INSERTED,
        f"an entry not written by the hub ({why}); the next entry was written as seq {at}",
    )
