"""The whole story of one message or one case, for `hub replay show`: each delivery, each
agency call and its error, record changes, results and earlier replays, from the message's
history rows, its audit trail entries, its outbox rows and the replay log."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hub.contracts.envelope import body_from_text
from hub.replay.plan import UnknownMessage
from hub.store.queries import (
    audit_of,
    find_messages,
    history_of,
    message_summary,
    replays_of,
    results_of,
    sealed_exchanges_of,
)
from hub.store.tables import AuditEntry, Message, MessageHistory, MessageStatus, OutboxEvent

SETTLED = {f"message.{s}" for s in MessageStatus.ALL}


def _calls_by_delivery(
    entries: list[AuditEntry], history: list[MessageHistory]
) -> list[dict[str, Any]]:
    """Agency calls are audited with the step that settled their delivery, right after them:
    that step's attempt number is the delivery they belong to."""
    done_attempt = next((h.attempt for h in history if h.status == MessageStatus.DONE), None)
    calls: list[dict[str, Any]] = []
    waiting: list[dict[str, Any]] = []
    for entry in entries:
        if entry.kind == "agency.call":
            waiting.append({"at": entry.recorded_at, "delivery": None, **entry.detail})
        elif entry.kind in SETTLED:
            delivery = entry.detail.get("attempt", done_attempt)
            for call in waiting:
                call["delivery"] = delivery
            calls += waiting
            waiting = []
    return calls + waiting


def _note(detail: dict[str, Any]) -> str:
    """One history step in a few words."""
    if detail.get("step") == "replayed":
        return f"replayed by {detail.get('operator')}: {detail.get('reason')}"
    if isinstance(detail.get("replay"), dict):
        replay = detail["replay"]
        return f"re-driven delivery (replay by {replay.get('operator')})"
    return str(detail.get("error") or detail.get("reason") or "")


def _result(row: OutboxEvent) -> dict[str, Any]:
    try:
        data = json.loads(row.body).get("data")
    except (ValueError, AttributeError):
        data = None
    outcome = (data.get("decision") or data.get("reason")) if isinstance(data, dict) else None
    if isinstance(outcome, dict):  # a bilingual reason ({code, en, ar}): its code says it
        outcome = outcome.get("code") or json.dumps(outcome, ensure_ascii=False)
    checks = data.get("checks") if isinstance(data, dict) else None
    failed = [
        c for c in checks or [] if isinstance(c, dict) and c.get("outcome") not in (None, "pass")
    ]
    return {
        "id": row.id,
        "type": row.routing_key,
        "exchange": row.exchange,
        "created_at": row.created_at.isoformat(),
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "outcome": outcome,
        "failed_checks": failed,
        "data": data,
    }


def _payload(row: Message) -> Any:
    """The inbound message's `data` (its whole body when that is not a JSON event)."""
    body = body_from_text(row.envelope)
    try:
        event = json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")
    return event.get("data", event) if isinstance(event, dict) else event


def message_story(session: Session, row: Message) -> dict[str, Any]:
    """One message's history as `hub replay show --json` prints it."""
    history = history_of(session, row.id)
    entries = audit_of(session, row.id)
    return {
        "message": message_summary(row)
        | {"source": row.source, "causationid": row.causationid, "ladder_base": row.ladder_base},
        "payload": _payload(row),
        "history": [
            {
                "at": h.at.isoformat(),
                "status": h.status,
                "attempt": h.attempt,
                "note": _note(h.detail),
                "detail": h.detail,
            }
            for h in history
        ],
        "agency_calls": _calls_by_delivery(entries, history),
        "record_changes": [
            {"at": e.recorded_at, **e.detail} for e in entries if e.kind == "record.changed"
        ],
        "results": [_result(r) for r in results_of(session, row.id)],
        "sealed_exchanges": [
            {
                "agency": x.agency,
                "operation": x.operation,
                "direction": x.direction,
                "bytes": len(x.body),
                "sha256": x.sha256,
                "sealed_at": x.sealed_at,
                "signer_serial": x.signer_serial,
            }
            for x in sealed_exchanges_of(session, row.id)
        ],
        "replays": [
            {
                "id": r.id,
                "requested_at": r.requested_at.isoformat(),
                "operator": r.operator,
                "reason": r.reason,
                "mode": r.mode,
                "previous_status": r.previous_status,
                "published_at": r.published_at.isoformat() if r.published_at else None,
            }
            for r in replays_of(session, row.id)
        ],
        "audit": [
            {
                "seq": e.seq,
                "at": e.recorded_at,
                "kind": e.kind,
                "actor": e.actor,
                "detail": e.detail,
            }
            for e in entries
        ],
    }


PREFIX_MIN = 4
"""The shortest id prefix `replay show` looks up (as git's abbreviated ids)."""
CANDIDATES_SHOWN = 5


def case_story(session: Session, ident: str) -> list[dict[str, Any]]:
    """The story of the message with this event id, or of every message of this case; a
    unique prefix of either will do, as git takes an abbreviated commit id."""
    rows = find_messages(session, ident) or _by_prefix(session, ident)
    if not rows:
        raise UnknownMessage(f"no message has the id or correlation id {ident!r}")
    return [message_story(session, row) for row in rows]


def _by_prefix(session: Session, prefix: str) -> list[Message]:
    """The message or case one unique prefix names; an ambiguous one is an error listing a
    few of the candidates."""
    if len(prefix) < PREFIX_MIN:
        if not prefix:
            return []
        hint = f"(give at least {PREFIX_MIN} characters of an id)"
        raise UnknownMessage(f"no message has the id or correlation id {prefix!r} {hint}")
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    matched = session.execute(
        select(Message.id, Message.correlationid)
        .where(
            or_(
                Message.id.like(pattern, escape="\\"),
                Message.correlationid.like(pattern, escape="\\"),
            )
        )
        .order_by(Message.received_at, Message.id)
        .limit(200)
    ).all()
    names = {ident for row in matched for ident in row if ident.startswith(prefix)}
    if len(names) > 1:
        listed = ", ".join(sorted(names)[:CANDIDATES_SHOWN])
        more = f" and {len(names) - CANDIDATES_SHOWN} more" if len(names) > CANDIDATES_SHOWN else ""
        raise UnknownMessage(f"ambiguous prefix {prefix!r}: {listed}{more}")
    return find_messages(session, names.pop()) if names else []
