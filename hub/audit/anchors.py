"""Which checkpoints verify may trust: those the hub's key signed, from the database and from
the external file, each compared with the other copy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.audit.checkpoint import Checkpoint, signature_problem
from hub.audit.findings import Problem, ProblemKind, VerifyResult
from hub.audit.journal import JournalContents

EXTERNAL = "external file"
DATABASE = "database"
# What is wrong with each checkpoint's signature (None: the key signed it), in order; verify
# may hand the work to its worker processes.
Verdicts = Callable[[Ed25519PublicKey, list[Checkpoint]], list[str | None]]


@dataclass(frozen=True)
class Anchor:
    """A head hash vouched for by a valid signature, and where that checkpoint was kept."""

    head_hash: str
    where: str


def collect_anchors(
    stored: list[Checkpoint],
    external: JournalContents | None,
    public_key: Ed25519PublicKey | None,
    result: VerifyResult,
    verdicts: Verdicts | None = None,
) -> dict[int, Anchor]:
    """Anchors by sequence number; every checkpoint that cannot be trusted becomes a problem.

    The external file wins where both are signed yet differ: it is the copy a database
    writer cannot reach. A signed database checkpoint missing from the file is tolerated
    (counted as unmirrored): it is written after the commit, so a crash can lose the line.
    """
    result.checkpoints = len(stored)
    external_cps = external.checkpoints if external is not None else []
    result.external_checkpoints = len(external_cps)
    if public_key is None:
        if stored or external_cps:
            first = min(cp.seq for cp in [*stored, *external_cps])
            result.problems.append(
                Problem(first, ProblemKind.NO_KEY, "no signing key to check checkpoints with")
            )
        return {}
    anchors: dict[int, Anchor] = {}
    by_seq: dict[int, Checkpoint] = {}
    # Each distinct checkpoint's signature checked once: the file's copy of a database
    # checkpoint is usually the same, field for field (so is its verdict).
    distinct = list(dict.fromkeys([*stored, *external_cps]))
    found = (verdicts or _verdicts_here)(public_key, distinct)
    checked = dict(zip(distinct, found, strict=True))
    for cp in stored:
        why = checked[cp]
        if why is None:
            by_seq[cp.seq] = cp
        else:
            result.problems.append(
                Problem(cp.seq, ProblemKind.BAD_SIGNATURE, f"database checkpoint {why}")
            )
    if external is not None:
        _compare_external(external, stored, checked, anchors, result)
    mirrored = {cp.seq for cp in external_cps}
    result.unmirrored = sum(1 for seq in by_seq if seq not in mirrored)
    for seq, cp in by_seq.items():
        anchors.setdefault(seq, Anchor(cp.head_hash, DATABASE))
    return anchors


def _verdicts_here(public_key: Ed25519PublicKey, checkpoints: list[Checkpoint]) -> list[str | None]:
    return [signature_problem(cp, public_key) for cp in checkpoints]


def _compare_external(
    external: JournalContents,
    stored: list[Checkpoint],
    checked: dict[Checkpoint, str | None],
    anchors: dict[int, Anchor],
    result: VerifyResult,
) -> None:
    if not external.exists and stored:
        result.problems.append(
            Problem(
                stored[0].seq,
                ProblemKind.JOURNAL_UNREADABLE,
                f"the external checkpoint file is missing; the database holds {len(stored)}",
            )
        )
    for line in external.bad_lines:
        result.problems.append(
            Problem(0, ProblemKind.JOURNAL_UNREADABLE, f"line {line} of the external file")
        )
    stored_by_seq = {cp.seq: cp for cp in stored}
    for cp in external.checkpoints:
        why = checked[cp]
        if why is not None:
            result.problems.append(
                Problem(cp.seq, ProblemKind.BAD_SIGNATURE, f"external checkpoint {why}")
            )
            continue
        twin = stored_by_seq.get(cp.seq)
        if twin is None:
            result.problems.append(
                Problem(
                    cp.seq,
                    ProblemKind.CHECKPOINT_MISSING,
                    "a signed checkpoint of the external file is missing from the database",
                )
            )
        elif twin != cp:
            result.problems.append(
                Problem(
                    cp.seq,
                    ProblemKind.CHECKPOINT_DIFFERS,
                    "the database checkpoint differs from the external file's",
                )
            )
        anchors[cp.seq] = Anchor(cp.head_hash, EXTERNAL)
