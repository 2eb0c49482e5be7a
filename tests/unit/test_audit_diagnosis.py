"""Naming the first break of a chain, on chains built in memory and tampered with as an
attacker with write access would: edit, delete, insert, reorder, with and without renumbering."""

from __future__ import annotations

from hub.audit.diagnosis import Break, diagnose
from hub.audit.entry import GENESIS_HASH, StoredEntry
from hub.audit.findings import ProblemKind


def chain(length: int) -> list[StoredEntry]:
    entries, prev = [], GENESIS_HASH
    for seq in range(1, length + 1):
        entry = stored(seq, {"n": seq}, prev)
        entry = entry._replace(entry_hash=entry.hash_as(seq))
        entries.append(entry)
        prev = entry.entry_hash
    return entries


def renumbered(entries: list[StoredEntry]) -> list[StoredEntry]:
    return [entry._replace(seq=seq) for seq, entry in enumerate(entries, start=1)]


def stored(seq: int, detail: dict[str, int], prev_hash: str) -> StoredEntry:
    at = "2026-11-29T08:00:00+00:00"
    return StoredEntry(seq, at, "case", "msg", "step", "hub", detail, prev_hash, "0" * 64)


def forged(seq: int, prev_hash: str, *, hashed: bool) -> StoredEntry:
    entry = stored(seq, {"forged": 1}, prev_hash)
    return entry._replace(entry_hash=entry.hash_as(seq)) if hashed else entry


def test_edited_content_is_named_at_its_seq() -> None:
    entries = chain(20)
    entries[9] = entries[9]._replace(detail={"n": 999})
    problem = diagnose(entries, 10, Break.HASH)
    assert (problem.seq, problem.kind) == (10, ProblemKind.EDITED)
    assert "does not match its hash" in problem.detail


def test_edited_and_rehashed_entry_is_named_by_the_link_after_it() -> None:
    entries = chain(20)
    edited = entries[9]._replace(detail={"n": 999})
    entries[9] = edited._replace(entry_hash=edited.hash_as(10))
    problem = diagnose(entries, 11, Break.LINK)
    assert (problem.seq, problem.kind) == (10, ProblemKind.EDITED)


def test_gap_is_a_deletion() -> None:
    entries = chain(20)
    del entries[9:11]
    problem = diagnose(entries, 10, Break.GAP)
    assert (problem.seq, problem.kind) == (10, ProblemKind.DELETED)
    assert "entries 10..11 are missing" in problem.detail


def test_deletion_with_renumbering_is_a_deletion() -> None:
    entries = chain(20)
    del entries[9]
    problem = diagnose(renumbered(entries), 10, Break.HASH)
    assert (problem.seq, problem.kind) == (10, ProblemKind.DELETED)
    assert "written as seq 11" in problem.detail


def test_well_formed_insertion_is_named_where_it_sits() -> None:
    entries = chain(20)
    entries.insert(9, forged(10, entries[8].entry_hash, hashed=True))
    problem = diagnose(renumbered(entries), 11, Break.HASH)
    assert (problem.seq, problem.kind) == (10, ProblemKind.INSERTED)


def test_clumsy_insertion_is_not_mistaken_for_an_edit() -> None:
    entries = chain(20)
    entries.insert(9, forged(10, entries[8].entry_hash, hashed=False))
    problem = diagnose(renumbered(entries), 10, Break.HASH)
    assert (problem.seq, problem.kind) == (10, ProblemKind.INSERTED)


def test_swapped_neighbours_and_distant_swaps_are_reorderings() -> None:
    entries = chain(20)
    entries[9], entries[10] = entries[10], entries[9]
    problem = diagnose(renumbered(entries), 10, Break.HASH)
    assert (problem.seq, problem.kind) == (10, ProblemKind.REORDERED)
    assert problem.detail == "entries 10 and 11 were swapped"
    far = chain(20)
    far[4], far[9] = far[9], far[4]
    assert diagnose(renumbered(far), 5, Break.HASH).detail == "entries 5 and 10 were swapped"


def test_rotation_is_a_reordering_not_a_deletion() -> None:
    entries = chain(20)
    entries[9:12] = [entries[10], entries[11], entries[9]]
    problem = diagnose(renumbered(entries), 10, Break.HASH)
    assert (problem.seq, problem.kind) == (10, ProblemKind.REORDERED)


def test_entry_numbered_before_the_first_is_an_insertion() -> None:
    entries = [forged(0, GENESIS_HASH, hashed=True), *chain(5)]
    assert diagnose(entries, 0, Break.EARLY).kind is ProblemKind.INSERTED
