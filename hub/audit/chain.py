"""Append audit entries to one hash chain: each entry hashes its canonical form (RFC 8785)
together with the hash of the entry before it, so an edit, insertion or deletion shows.

The canonical form comes from `hub.audit.canonical.dumps`, which gives `rfc8785.dumps`'s bytes
exactly (faster): trails written before it verify unchanged."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.canonical import dumps
from hub.store.tables import AuditEntry, AuditHead

GENESIS_HASH = "0" * 64
HUB_ACTOR = "hub"
# `session.info` key of a callable(session, head_seq, head_hash), run under the head lock after
# each append: `Checkpointer.install` puts it there, so any unit of work signs when one is due.
CHECKPOINT_HOOK = "hub.audit.checkpoint_hook"


@dataclass(frozen=True)
class AuditDraft:
    """An audit entry not yet placed on the chain (it gets its seq and hashes at commit)."""

    kind: str
    detail: dict[str, Any]
    correlationid: str | None = None
    message_id: str | None = None
    actor: str = HUB_ACTOR
    recorded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


def canonical_payload(entry: AuditEntry) -> dict[str, Any]:
    """Everything an entry's hash covers, in a form RFC 8785 serialises the same way anywhere."""
    return {
        "seq": entry.seq,
        "recorded_at": entry.recorded_at,
        "correlationid": entry.correlationid,
        "message_id": entry.message_id,
        "kind": entry.kind,
        "actor": entry.actor,
        "detail": entry.detail,
        "prev_hash": entry.prev_hash,
    }


def payload_hash(payload: dict[str, Any]) -> str:
    """The entry hash of a canonical payload; writer and verifier share this one function."""
    return hashlib.sha256(dumps(payload)).hexdigest()


def compute_hash(entry: AuditEntry) -> str:
    return payload_hash(canonical_payload(entry))


def digest(data: bytes | str | dict[str, Any] | list[Any]) -> str:
    """sha256 of a request or reply, for the trail (the trail keeps digests, not bodies)."""
    raw = (
        data
        if isinstance(data, bytes)
        else (data.encode() if isinstance(data, str) else dumps(data))
    )
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def append_entries(session: Session, drafts: list[AuditDraft]) -> list[AuditEntry]:
    """Place drafts on the chain inside the caller's transaction.

    The head row is locked (FOR UPDATE on PostgreSQL; SQLite's write lock is already held),
    so concurrent writers extend one chain instead of forking it.
    """
    if not drafts:
        return []
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one()
    entries = []
    for draft in drafts:
        entry = AuditEntry(
            seq=head.seq + 1,
            recorded_at=draft.recorded_at,
            correlationid=draft.correlationid,
            message_id=draft.message_id,
            kind=draft.kind,
            actor=draft.actor,
            detail=draft.detail,
            prev_hash=head.entry_hash,
        )
        entry.entry_hash = compute_hash(entry)
        head.seq, head.entry_hash = entry.seq, entry.entry_hash
        session.add(entry)
        entries.append(entry)
    hook = session.info.get(CHECKPOINT_HOOK)
    if hook is not None:
        hook(session, head.seq, head.entry_hash)
    return entries
