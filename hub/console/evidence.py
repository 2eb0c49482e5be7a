"""The audit and partner pages' reads: recent checkpoints, partners with their grants, and
recent denials, all from the store's own tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.store.tables import AuditCheckpoint, AuditEntry, Partner

SHOWN = 20


def checkpoints(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(SHOWN)
    )
    return [
        {"seq": r.seq, "signed_at": r.signed_at[:19], "key_id": r.key_id[:16], "head": r.head_hash}
        for r in rows
    ]


def partners(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(Partner).order_by(Partner.name))
    return [
        {
            "name": r.name,
            "grants": ", ".join(str(g) for g in r.grants),
            "rate_limit": r.rate_limit,
            "revoked_at": r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else None,
        }
        for r in rows
    ]


def denials(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.kind.in_(("partner.denied", "partner.denied.summary")))
        .order_by(AuditEntry.seq.desc())
        .limit(SHOWN)
    )
    return [{"at": r.recorded_at[:19], "kind": r.kind, "detail": r.detail} for r in rows]
