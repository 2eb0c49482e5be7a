"""When and where checkpoints are signed.

Inside the commit that makes one due, under the audit head lock that `append_entries` already
holds: workers take that lock one at a time, so each checkpoint names a head no other writer
can move, without a scheduler or a leader among workers. The database row commits with the
entries it vouches for; the line in the external file is written only after that commit, so
a rolled-back transaction never leaves behind a checkpoint of a chain that does not exist.
The unit of work carries the `Checkpointer` explicitly (its `sealer`): it asks `seal_if_due`
under the head lock and calls `publish` after its commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.checkpoint import Checkpoint, CheckpointPolicy, CheckpointSigner
from hub.audit.journal import CheckpointJournal
from hub.audit.keys import keep_public_key, signing_key
from hub.config import Settings
from hub.store.engine import WRITE_INTENT
from hub.store.tables import AuditCheckpoint, AuditHead

log = structlog.get_logger("hub.audit.sealing")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Checkpointer:
    """Signs a checkpoint when the policy says so, in the database and in the external file."""

    def __init__(
        self,
        signer: CheckpointSigner,
        policy: CheckpointPolicy,
        journal: CheckpointJournal,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.signer = signer
        self.policy = policy
        self.journal = journal
        self._clock = clock
        # The newest checkpoint this process knows of. Other workers only move the real one
        # forward, so "not due" by this is "not due"; "due" is confirmed in the store.
        self._known: tuple[int, datetime] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Checkpointer:
        """The configured key (made on first use by default), policy and external file; the
        key's public half is kept beside the file for `hub audit verify`."""
        key = signing_key(settings)
        keep_public_key(settings, key)
        return cls(
            CheckpointSigner(key),
            CheckpointPolicy(settings.audit_checkpoint_every, settings.audit_checkpoint_seconds),
            CheckpointJournal.from_settings(settings),
        )

    def seal_if_due(self, session: Session, head_seq: int, head_hash: str) -> Checkpoint | None:
        """Called with the head locked: add a checkpoint row if one is due, and return it for
        the caller to `publish` once its transaction has committed."""
        now = self._clock()
        if self._known is not None and not self.policy.due(head_seq, self._known, now):
            return None
        last = last_checkpoint(session)
        if last is not None:
            self._known = last
        if not self.policy.due(head_seq, last, now):
            return None
        checkpoint = self.signer.sign(head_seq, head_hash, now)
        session.add(checkpoint.to_row())
        return checkpoint

    def seal_now(self, sessions: sessionmaker[Session]) -> Checkpoint | None:
        """Sign the current head unless a checkpoint already covers it (`hub audit checkpoint`)."""
        with sessions() as session:
            session.connection(execution_options=WRITE_INTENT)
            head = session.execute(
                select(AuditHead).where(AuditHead.id == 1).with_for_update()
            ).scalar_one()
            last = last_checkpoint(session)
            if head.seq == 0 or (last is not None and last[0] >= head.seq):
                return None
            checkpoint = self.signer.sign(head.seq, head.entry_hash, self._clock())
            session.add(checkpoint.to_row())
            session.commit()
        self.publish(checkpoint)
        return checkpoint

    def publish(self, checkpoint: Checkpoint) -> None:
        """A committed checkpoint's line in the external journal."""
        at = datetime.fromisoformat(checkpoint.signed_at)
        if self._known is None or self._known[0] < checkpoint.seq:
            self._known = (checkpoint.seq, at)
        try:
            self.journal.append(checkpoint)
        except OSError as exc:
            # Committed already; verify shows the checkpoint as not mirrored until the next one.
            log.error(
                "audit.checkpoint.journal_failed",
                seq=checkpoint.seq,
                path=str(self.journal.path),
                error=str(exc),
            )
            return
        log.info("audit.checkpoint", seq=checkpoint.seq, key_id=checkpoint.key_id)


def last_checkpoint(session: Session) -> tuple[int, datetime] | None:
    row = session.execute(
        select(AuditCheckpoint.seq, AuditCheckpoint.signed_at)
        .order_by(AuditCheckpoint.seq.desc())
        .limit(1)
    ).first()
    return None if row is None else (row[0], datetime.fromisoformat(row[1]))


class SealTimer:
    """Seals the unsealed tail every `interval_s` and once more at `stop()` (shutdown), so the
    entries after the last signed checkpoint stay seconds, not minutes, open to a rewrite."""

    def __init__(
        self, sealer: Checkpointer, sessions: sessionmaker[Session], interval_s: float
    ) -> None:
        self._sealer = sealer
        self._sessions = sessions
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-seal", daemon=True)

    def start(self) -> SealTimer:
        if self._interval_s > 0:
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stopping.wait(self._interval_s):
            self.seal()

    def seal(self) -> Checkpoint | None:
        """Sign the head now unless a checkpoint covers it; a failure is logged, not raised
        (the store may be away; the next tick or commit seals)."""
        try:
            return self._sealer.seal_now(self._sessions)
        except Exception as exc:  # noqa: BLE001 - a seal attempt must not kill its thread
            log.warning("audit.seal_failed", error=str(exc))
            return None

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=max(self._interval_s, 5.0))
        self.seal()
