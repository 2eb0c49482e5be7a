"""Finding cases and telling a case's whole story in order: the same queries `hub replay list`
and `hub replay show` run, laid out as one timeline per message."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.replay.history import case_story
from hub.store.queries import MessageFilter, count_messages, list_messages, message_summary
from hub.store.tables import Message

CIVIL_ID = re.compile(r"^[0-9]{8,9}$")
SEARCH_LIMIT = 100


class BadSearch(ValueError):
    """A search the console cannot run, said in words a person can act on."""


@dataclass(frozen=True)
class CaseQuery:
    """The case search form; every field optional, none of them personal data."""

    correlationid: str = ""
    type: str = ""
    status: str = ""
    agency: str = ""
    since: str = ""
    until: str = ""

    def as_filter(self) -> MessageFilter:
        if any(CIVIL_ID.match(value.strip()) for value in vars(self).values()):
            raise BadSearch(
                "that looks like a civil id: use the civil id search, which keeps it out of "
                "the page's address"
            )
        try:
            return MessageFilter(
                status=self.status or None,
                type=self.type or None,
                agency=self.agency or None,
                correlationid=self.correlationid or None,
                since=_when(self.since),
                until=_when(self.until),
                limit=SEARCH_LIMIT,
            )
        except ValueError as exc:
            raise BadSearch(str(exc)) from None


def _when(text: str) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise BadSearch(f"not a date and time: {text!r}") from None
    return when if when.tzinfo else when.astimezone()


def search(session: Session, query: CaseQuery) -> tuple[list[dict[str, Any]], int]:
    flt = query.as_filter()
    return list_messages(session, flt), count_messages(session, flt)


def search_civil_id(session: Session, civil_id: str) -> list[dict[str, Any]]:
    """Messages whose envelope names this civil id (sent in a POST body, never a URL)."""
    civil_id = civil_id.strip()
    if not CIVIL_ID.match(civil_id):
        raise BadSearch("a civil id is 8 or 9 digits")
    rows = session.scalars(
        select(Message)
        .where(Message.envelope.contains(f'"{civil_id}"'))
        .order_by(Message.received_at, Message.id)
        .limit(SEARCH_LIMIT)
    )
    return [message_summary(row) for row in rows]


@dataclass(frozen=True)
class Step:
    """One line of a timeline: when, what kind of step, and what it says."""

    at: str
    kind: str
    actor: str
    summary: str
    outcome: str = ""


def timeline(session: Session, ident: str) -> list[dict[str, Any]]:
    """Each message of the case with its steps in time order and its decision reasons."""
    stories = []
    for story in case_story(session, ident):
        steps = sorted(_steps(story), key=lambda s: s.at)
        stories.append(
            {
                "message": story["message"],
                "payload": story["payload"],
                "steps": steps,
                "reasons": list(_reasons([r.get("data") for r in story["results"]])),
                "results": story["results"],
                "replays": story["replays"],
            }
        )
    return stories


def _steps(story: dict[str, Any]) -> Iterator[Step]:
    for h in story["history"]:
        note = f"delivery {h['attempt']}" + (f": {h['note']}" if h["note"] else "")
        yield Step(h["at"], "history", "hub", note, h["status"])
    for entry in story["audit"]:
        yield Step(str(entry["at"]), entry["kind"], entry["actor"], *_entry_text(entry))


def _entry_text(entry: dict[str, Any]) -> tuple[str, str]:
    detail = entry["detail"]
    kind = entry["kind"]
    if kind == "agency.call":
        error = f" - {detail['error']}" if detail.get("error") else ""
        text = (
            f"{detail.get('agency')}.{detail.get('operation')} try {detail.get('attempt')}, "
            f"{detail.get('latency_ms')} ms{error}"
        )
        return text, str(detail.get("outcome", ""))
    if kind == "record.changed":
        before, after = detail.get("before"), detail.get("after")
        was = before.get("status") if isinstance(before, dict) else "(none)"
        now = after.get("status") if isinstance(after, dict) else "(none)"
        return f"{detail.get('record')} {detail.get('key')}: {was} -> {now}", ""
    if kind == "message.replayed":
        return f"replayed by {detail.get('operator')}: {detail.get('reason')}", ""
    shown = {k: v for k, v in detail.items() if k not in ("digest",)}
    return ", ".join(f"{k}={v}" for k, v in shown.items())[:300], ""


def _reasons(values: Any) -> Iterator[dict[str, str]]:
    """Every bilingual reason ({en, ar}) inside the results' data."""
    if isinstance(values, dict):
        if isinstance(values.get("en"), str) and isinstance(values.get("ar"), str):
            yield {"code": str(values.get("code", "")), "en": values["en"], "ar": values["ar"]}
            return
        for value in values.values():
            yield from _reasons(value)
    elif isinstance(values, list):
        for value in values:
            yield from _reasons(value)
