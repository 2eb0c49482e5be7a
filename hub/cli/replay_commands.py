"""`hub replay ...`: find, inspect and re-drive messages from the hub's message store.

Thin: each command parses, calls the core (`hub.store.queries`, `hub.replay`), and renders.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from hub.cli.output import CommandFailed, console, json_line, shown, visible
from hub.cli.timeparse import parse_when
from hub.config import load_settings
from hub.observability import configure_logging, mask_value

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from hub.replay.plan import PlannedReplay
    from hub.replay.redrive import ReplayRequest
    from hub.store.queries import MessageFilter

replay_app = typer.Typer(help="Find, inspect and re-drive messages.", no_args_is_help=True)
status_console = Console(stderr=True)  # progress and notes; stdout stays data

Status = Annotated[
    str | None, typer.Option(help="pending, retrying, failed, dead, rejected or done.")
]
MessageType = Annotated[str | None, typer.Option("--type", help="Message type.")]
Agency = Annotated[str | None, typer.Option(help="Agency involved, e.g. rop.")]
CorrelationId = Annotated[str | None, typer.Option(help="One business case.")]
Since = Annotated[str | None, typer.Option(help="Received after: 2h, 1d or ISO time.")]
Until = Annotated[str | None, typer.Option(help="Received before: 2h, 1d or ISO time.")]
AsJson = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]


def _filter(
    status: str | None,
    type_: str | None,
    agency: str | None,
    correlation_id: str | None,
    since: str | None,
    until: str | None,
    limit: int | None = None,
    offset: int = 0,
) -> MessageFilter:
    from hub.store.queries import MessageFilter

    try:
        return MessageFilter(
            status=status,
            type=type_,
            agency=agency,
            correlationid=correlation_id,
            since=parse_when(since) if since else None,
            until=parse_when(until) if until else None,
            limit=limit,
            offset=offset,
        )
    except ValueError as exc:
        raise CommandFailed(str(exc)) from None


@contextmanager
def _store() -> Iterator[sessionmaker[Session]]:
    """The configured message store, brought to the newest schema."""
    from hub.store.engine import make_engine, make_session_factory
    from hub.store.migrate import upgrade

    engine = make_engine(load_settings().resolved_database_url)
    try:
        upgrade(engine)
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def _json_lines(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        sys.stdout.write(json_line(row) + "\n")


@replay_app.command("list")
def replay_list(
    status: Status = None,
    type_: MessageType = None,
    agency: Agency = None,
    correlation_id: CorrelationId = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, typer.Option(min=1, max=100000, help="Page size.")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many (the next page).")] = 0,
    as_json: AsJson = False,
) -> None:
    """List messages from the hub's message store, oldest first, one page at a time."""
    from hub.store.queries import count_messages, list_messages

    flt = _filter(status, type_, agency, correlation_id, since, until, limit, offset)
    with _store() as sessions, sessions() as session:
        rows = list_messages(session, flt)
        total = count_messages(session, flt)
    if as_json:
        _json_lines(rows)
        return
    # Ids are what an operator copies: never cut; the other columns fold to make room.
    id_width = max((len(row["id"]) for row in rows), default=2)
    table = Table(
        Column("id", no_wrap=True, min_width=id_width),
        *[Column(name, overflow="fold") for name in ("type", "status", "agency")],
        Column("attempts"),
        Column("received", overflow="fold"),
        Column("last error", overflow="fold"),
    )
    for row in rows:
        table.add_row(
            shown(row["id"]),
            shown(row["type"]),
            shown(row["status"]),
            shown(row["agency"]),
            shown(row["attempts"]),
            shown(row["received_at"], limit=19),
            shown(row["last_error"] or "", limit=60),
        )
    console.print(table)
    span = f"{offset + 1}-{offset + len(rows)} of {total}" if rows else f"none of {total}"
    more = f"; next page: --offset {offset + len(rows)}" if offset + len(rows) < total else ""
    console.print(f"{len(rows)} message(s), {span}{more}", highlight=False)


@replay_app.command("show")
def replay_show(
    ident: Annotated[
        str,
        typer.Argument(
            metavar="ID", help="An event id or a correlation id, or a unique prefix of one."
        ),
    ],
    as_json: AsJson = False,
) -> None:
    """The whole history of one message, or of every message of one case: each delivery,
    each agency call and its error, record changes, results and earlier replays."""
    from hub.replay.history import case_story

    with _store() as sessions, sessions() as session:
        stories = [_masked(story) for story in case_story(session, ident)]
    if as_json:
        _json_lines(stories)
        return
    for story in stories:
        _render_story(story)


def _masked(story: dict[str, Any]) -> dict[str, Any]:
    """The story as the logs show it: a civil id or phone number in the request, a record's
    before and after, or an audit entry's detail never reaches the terminal whole."""
    masked: dict[str, Any] = mask_value("story", story)
    return masked


def _section(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """A table of stored values, each cell shown (escaped), never interpreted."""
    if not rows:
        console.print(f"{title}: none", highlight=False)
        return
    table = Table(*columns, title=title, title_justify="left")
    for row in rows:
        table.add_row(*[shown(cell) for cell in row])
    console.print(table)


def _render_story(story: dict[str, Any]) -> None:
    msg = story["message"]
    heading = Text.assemble(shown(msg["id"]), "  ", shown(msg["type"]), "  ")
    heading.append(visible(msg["status"]), style="bold")
    console.rule(heading)
    console.print(
        Text.assemble(
            "case ",
            shown(msg["correlationid"]),
            "  agency ",
            shown(msg["agency"]),
            f"  attempts {msg['attempts']}  received ",
            shown(msg["received_at"], limit=19),
            "\nlast error: ",
            shown(msg["last_error"]),
        ),
        highlight=False,
    )
    payload = story.get("payload")
    if payload is not None:
        payload_text = json.dumps(payload, ensure_ascii=False, indent=2)
        console.print(Text(f"Inbound payload:\n{payload_text}"), highlight=False)
    history = [[h["at"][:19], h["status"], h["attempt"], h["note"]] for h in story["history"]]
    _section("History", ["at", "status", "delivery", "detail"], history)
    calls = [
        [c.get("delivery"), c.get("agency"), c.get("operation")]
        + [c.get("attempt"), c.get("outcome"), c.get("latency_ms")]
        + [c.get("error") or ""]
        for c in story["agency_calls"]
    ]
    columns = ["delivery", "agency", "operation", "try", "outcome", "ms", "error"]
    _section("Agency calls", columns, calls)
    changes = [
        [c["at"][:19], c.get("record"), c.get("key"), _state(c.get("before"))]
        + [_state(c.get("after"))]
        for c in story["record_changes"]
    ]
    _section("Record changes", ["at", "record", "key", "before", "after"], changes)
    results = [
        [r["id"], r["type"], (r["sent_at"] or "not yet")[:19], r["outcome"]]
        for r in story["results"]
    ]
    _section("Results", ["id", "type", "sent", "outcome"], results)
    sealed = [
        [x["sealed_at"][:19], x["agency"], x["operation"], x["direction"], x["bytes"]]
        + [x["sha256"][:16]]
        for x in story.get("sealed_exchanges") or []
    ]
    if sealed:
        columns = ["at", "agency", "operation", "way", "bytes", "sha256"]
        _section("Sealed exchanges", columns, sealed)
    failed = [
        [r["type"], str(c.get("check", "-")), str(c.get("agency", "-")), str(c.get("outcome"))]
        + [_reason(c.get("reason"))]
        for r in story["results"]
        for c in r.get("failed_checks") or []
    ]
    if failed:
        _section("Failed checks", ["result", "check", "agency", "outcome", "why"], failed)
    replays = [
        [r["requested_at"][:19], r["operator"], r["mode"], r["previous_status"], r["reason"]]
        + ["yes" if r["published_at"] else "no"]
        for r in story["replays"]
    ]
    _section("Replays", ["at", "operator", "mode", "was", "reason", "published"], replays)


def _reason(reason: Any) -> str:
    if isinstance(reason, dict):
        return " / ".join(str(reason[k]) for k in ("en", "ar") if reason.get(k))
    return str(reason or "-")


def _state(snapshot: Any) -> str:
    return str(snapshot.get("status", "-")) if isinstance(snapshot, dict) else "(none)"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid-{os.getuid()}"


@replay_app.command("run")
def replay_run(
    ids: Annotated[
        list[str] | None, typer.Argument(help="Event ids or correlation ids (or use filters).")
    ] = None,
    status: Status = None,
    type_: MessageType = None,
    agency: Agency = None,
    correlation_id: CorrelationId = None,
    since: Since = None,
    until: Until = None,
    reason: Annotated[
        str | None, typer.Option(help="Why (required unless --dry-run; kept in the audit).")
    ] = None,
    operator: Annotated[str | None, typer.Option(help="Who replays; default: the OS user.")] = None,
    rate: Annotated[
        str | None, typer.Option(help="At most this many per second or minute: 5/s, 300/m.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would happen.")] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Done or rejected: re-publish the stored results; in flight: re-drive now.",
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Re-drive dead or failed messages through their flow, with a fresh retry ladder, by ids
    or by filters. Done messages are skipped: their effect happened once and stays once;
    --force re-publishes their stored result instead of running the flow again."""
    from hub.replay.plan import Action, plan_replay
    from hub.replay.redrive import ReplayRequest, parse_rate

    configure_logging("warning")  # stdout is the plan; what the core logs goes to stderr
    request = None
    if not dry_run:
        try:
            who = _os_user()
            request = ReplayRequest(reason or "", operator or who, force, os_user=who)
        except ValueError as exc:
            raise CommandFailed(str(exc)) from None
    try:
        per_s = parse_rate(rate) if rate else None
    except ValueError as exc:
        raise CommandFailed(str(exc)) from None
    flt = _filter(status, type_, agency, correlation_id, since, until)
    if ids and flt.selects_anything_specific:
        raise CommandFailed("name message ids or filters, not both")
    with _store() as sessions:
        try:
            with sessions() as session:
                plan = plan_replay(session, ids or [], flt, force=force)
        except ValueError as exc:
            raise CommandFailed(str(exc)) from None
        if request is None or all(p.decision.action is Action.SKIP for p in plan):
            # Nothing to publish: no broker connection needed.
            rows = [p.as_dict() | {"replay_id": None} for p in plan]
            _render_plan(rows, as_json, dry_run=request is None)
            return
        rows = _execute(sessions, plan, request, per_s)
    _render_plan(rows, as_json, dry_run=False)


def _execute(
    sessions: sessionmaker[Session],
    plan: list[PlannedReplay],
    request: ReplayRequest,
    per_s: float | None,
) -> list[dict[str, Any]]:
    """Run the plan with a progress bar on stderr; the outcome of each message."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from hub.bus.publisher import Publisher
    from hub.replay.redrive import Replayer, run_replay

    broker_url = load_settings().resolved_broker_url
    with Publisher(broker_url) as publisher:
        replayer = Replayer(sessions, publisher, broker_url)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=status_console, transient=True) as progress:
            task = progress.add_task("replaying", total=len(plan))
            summary = run_replay(
                plan,
                request,
                replayer,
                rate_per_s=per_s,
                on_each=lambda _: progress.advance(task),
            )
    return [o.as_dict() for o in summary.outcomes]


def _render_plan(rows: list[dict[str, Any]], as_json: bool, *, dry_run: bool) -> None:
    """Dry run: one line per message. Run: what was done, grouped, then the totals line."""
    counts = {a: sum(1 for r in rows if r["action"] == a) for a in ("re-drive", "re-publish")}
    skipped = len(rows) - sum(counts.values())
    verb = "would " if dry_run else ""
    line = (
        f"{'dry run: ' if dry_run else ''}{verb}re-drive {counts['re-drive']}, "
        f"{verb}re-publish {counts['re-publish']}, {verb}skip {skipped}"
        + ("; nothing was changed" if dry_run else "")
    )
    if as_json:
        _json_lines(rows)
        status_console.print(line, highlight=False)
        return
    if dry_run:
        table = Table("id", "type", "status", "agency", "action", "why")
        for row in rows:
            action = shown(row["action"])
            if row["action"] == "skip":
                action.stylize("dim")
            table.add_row(
                shown(row["id"]),
                shown(row["type"]),
                shown(row["status"]),
                shown(row["agency"]),
                action,
                shown(row["why"]),
            )
    else:
        table = Table("action", "why", "messages", title="Replay summary", title_justify="left")
        for (action, why), number in sorted(Counter((r["action"], r["why"]) for r in rows).items()):
            table.add_row(shown(action), shown(why), str(number))
    if rows:
        console.print(table)
    console.print(line, highlight=False)
