"""`verify_chain`: walk the trail in sequence order, a batch per query, recompute each hash,
check each link and each signed checkpoint, and name the first thing that is wrong."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.anchors import Anchor, collect_anchors
from hub.audit.chain import GENESIS_HASH, payload_hash
from hub.audit.checkpoint import Checkpoint
from hub.audit.diagnosis import RADIUS, Break, StoredEntry, diagnose
from hub.audit.findings import Problem, ProblemKind, VerifyResult
from hub.audit.journal import CheckpointJournal
from hub.audit.keys import existing_signing_key
from hub.config import Settings
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.tables import AuditCheckpoint, AuditEntry, AuditHead

BATCH_SIZE = 5000
Progress = Callable[[int, int], None]  # (entries checked, entries on the chain)

_T = AuditEntry.__table__.c
_COLUMNS = (
    _T.seq,
    _T.recorded_at,
    _T.correlationid,
    _T.message_id,
    _T.kind,
    _T.actor,
    _T.detail,
    _T.prev_hash,
    _T.entry_hash,
)


@dataclass
class _WalkEnd:
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    broken: tuple[int, Break] | None = None


def verify_chain(
    sessions: sessionmaker[Session],
    *,
    public_key: Ed25519PublicKey | None,
    journal: CheckpointJournal | None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> VerifyResult:
    """Check the whole trail; `result.first` names the first problem (seq, kind, detail)."""
    started = time.perf_counter()
    result = VerifyResult()
    # The file is read before the database snapshot: its lines are written after their
    # commit, so every line read here names a checkpoint the snapshot holds.
    external = journal.read() if journal is not None else None
    with sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        head = session.get(AuditHead, 1)
        head_seq, head_hash = (head.seq, head.entry_hash) if head else (0, GENESIS_HASH)
        stored = [
            Checkpoint.from_row(row)
            for row in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq))
        ]
        anchors = collect_anchors(stored, external, public_key, result)
        end = _walk(session, anchors, batch_size, head_seq, progress, result)
        if end.broken is not None:
            at, found = end.broken
            window = session.execute(
                select(*_COLUMNS)
                .where(_T.seq >= at - RADIUS)
                .order_by(_T.seq)
                .limit(3 * RADIUS + 1)
            ).all()
            result.problems.append(diagnose([StoredEntry(*row) for row in window], at, found))
        else:
            _check_tail(end, anchors, head_seq, head_hash, result)
    result.elapsed_s = time.perf_counter() - started
    return result


def _walk(
    session: Session,
    anchors: dict[int, Anchor],
    batch_size: int,
    total: int,
    progress: Progress | None,
    result: VerifyResult,
) -> _WalkEnd:
    """The hot loop: one query per batch (keyset on seq), one hash per entry, nothing else."""
    end = _WalkEnd()
    expected, prev = 1, GENESIS_HASH
    last_vouched = 0
    recomputed_seen = False
    while True:
        query = select(*_COLUMNS).order_by(_T.seq).limit(batch_size)
        if expected > 1:
            query = query.where(_T.seq >= expected)
        rows = session.execute(query).all()
        if not rows:
            return end
        for seq, recorded_at, corr, message_id, kind, actor, detail, prev_hash, stored in rows:
            if seq != expected:
                end.broken = (seq, Break.EARLY) if seq < expected else (expected, Break.GAP)
                break
            content = {
                "seq": seq,
                "recorded_at": recorded_at,
                "correlationid": corr,
                "message_id": message_id,
                "kind": kind,
                "actor": actor,
                "detail": detail,
                "prev_hash": prev_hash,
            }
            if payload_hash(content) != stored:
                end.broken = (seq, Break.HASH)
                break
            if prev_hash != prev:
                end.broken = (seq, Break.LINK)
                break
            anchor = anchors.get(seq)
            if anchor is not None:
                if anchor.head_hash == stored:
                    last_vouched = seq
                elif not recomputed_seen:
                    recomputed_seen = True
                    result.problems.append(
                        Problem(
                            seq,
                            ProblemKind.RECOMPUTED,
                            f"the entry's hash is not the one the signed checkpoint in the "
                            f"{anchor.where} vouches for: the chain after seq {last_vouched} "
                            "was rewritten",
                        )
                    )
            prev = stored
            expected += 1
        end.last_seq, end.last_hash = expected - 1, prev
        result.entries = end.last_seq
        if end.broken is not None:
            return end
        if progress is not None:
            progress(result.entries, max(total, result.entries))


def _check_tail(
    end: _WalkEnd, anchors: dict[int, Anchor], head_seq: int, head_hash: str, result: VerifyResult
) -> None:
    """An intact chain may still be short: compare its end with the checkpoints and the head."""
    beyond = [seq for seq in anchors if seq > end.last_seq]
    if beyond:
        reached = max(beyond)
        result.problems.append(
            Problem(
                end.last_seq + 1,
                ProblemKind.TRUNCATED,
                f"the trail ends at seq {end.last_seq}, but a signed checkpoint in the "
                f"{anchors[reached].where} says it reached seq {reached} "
                f"(hash {anchors[reached].head_hash[:12]})",
            )
        )
    if (head_seq, head_hash) != (end.last_seq, end.last_hash):
        at = end.last_seq if head_seq == end.last_seq else min(head_seq, end.last_seq) + 1
        result.problems.append(
            Problem(
                at,
                ProblemKind.HEAD_MISMATCH,
                f"the head row says seq {head_seq} (hash {head_hash[:12]}), the last entry is "
                f"seq {end.last_seq} (hash {end.last_hash[:12]})",
            )
        )
    covered = [seq for seq in anchors if seq <= end.last_seq]
    result.unsealed = end.last_seq - max(covered, default=0)


def verify_store(settings: Settings, progress: Progress | None = None) -> VerifyResult:
    """Verify the store, key and external file the settings name (what `hub audit verify` runs)."""
    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade(engine)
        key = existing_signing_key(settings)
        return verify_chain(
            make_session_factory(engine),
            public_key=key.public_key() if key is not None else None,
            journal=CheckpointJournal.from_settings(settings),
            progress=progress,
        )
    finally:
        engine.dispose()
