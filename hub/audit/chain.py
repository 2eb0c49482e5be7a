"""Append audit entries to one hash chain: each entry hashes its canonical form (RFC 8785)
together with the hash of the entry before it, so an edit, insertion or deletion shows.

What an entry holds and how it is hashed is `hub.audit.entry`, shared with the exporter and the
verifier; the canonical form is `hub.audit.canonical.dumps` (`rfc8785.dumps`'s bytes, faster)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from hub.audit.canonical import dumps, stored_text
from hub.audit.entry import StoredEntry, payload, payload_hash
from hub.store.bulk import Rows, write_together
from hub.store.tables import AuditEntry, AuditHead, EncodedJson

_ENTRIES = cast(Table, AuditEntry.__table__)
_HEAD = cast(Table, AuditHead.__table__)
HUB_ACTOR = "hub"
_ADVANCE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=bindparam("head_seq"), entry_hash=bindparam("head_hash"))
)


@dataclass(frozen=True)
class AuditDraft:
    """An audit entry not yet placed on the chain (it gets its seq and hashes at commit)."""

    kind: str
    detail: dict[str, Any]
    correlationid: str | None = None
    message_id: str | None = None
    actor: str = HUB_ACTOR
    recorded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


def compute_hash(entry: AuditEntry) -> str:
    """The hash a stored entry's content gives (its `entry_hash`, unless it was changed)."""
    return StoredEntry.of(entry).content_hash()


def digest(data: bytes | str | dict[str, Any] | list[Any]) -> str:
    """sha256 of a request or reply, for the trail (the trail keeps digests, not bodies)."""
    raw = (
        data
        if isinstance(data, bytes)
        else (data.encode() if isinstance(data, str) else dumps(data))
    )
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def stored_row(row: dict[str, Any]) -> dict[str, Any]:
    """An entry's row as written: the detail as the RFC 8785 text its hash covers, where it has
    one (`canonical.stored_text`), so the verifier hashes the stored text without re-encoding
    it (`rehash`); the values read back are the same."""
    text = stored_text(row["detail"])
    return row if text is None else row | {"detail": EncodedJson(text)}


def append_entries(
    session: Session,
    drafts: list[AuditDraft],
    on_head: Callable[[int, str], None] | None = None,
    alongside: Sequence[tuple[Table, Rows]] = (),
) -> list[dict[str, Any]]:
    """Place drafts on the chain inside the caller's transaction; the rows written.
    `on_head(seq, hash)` runs with the new head still locked (the unit of work's sealer).
    `alongside`: other tables' rows of the same transaction, written with the entries (on
    PostgreSQL in the same statement: `write_together`).

    The head row is locked (FOR UPDATE on PostgreSQL; SQLite's write lock is already held),
    so concurrent writers extend one chain instead of forking it. Core statements, not ORM
    objects: entries are only ever inserted, and a commit may carry hundreds of them.
    """
    if not drafts:
        write_together(session, alongside)
        return []
    seq, prev_hash = session.execute(
        select(_HEAD.c.seq, _HEAD.c.entry_hash).where(_HEAD.c.id == 1).with_for_update()
    ).one()
    rows = []
    for draft in drafts:
        seq += 1
        content = payload(
            seq,
            draft.recorded_at,
            draft.correlationid,
            draft.message_id,
            draft.kind,
            draft.actor,
            draft.detail,
            prev_hash,
        )
        prev_hash = payload_hash(content)
        rows.append(content | {"entry_hash": prev_hash})
    write_together(
        session,
        [*alongside, (_ENTRIES, [stored_row(row) for row in rows])],
        _ADVANCE_HEAD,
        {"head_seq": seq, "head_hash": prev_hash},
    )
    if on_head is not None:
        on_head(seq, prev_hash)
    return rows
