"""`hub replay ...`: find, inspect and re-drive messages from the hub's message store."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from hub.config import load_settings
from replay.output import CommandFailed, console
from replay.timeparse import parse_when

replay_app = typer.Typer(help="Find, inspect and re-drive messages.", no_args_is_help=True)


@replay_app.command("list")
def replay_list(
    status: Annotated[
        str | None, typer.Option(help="pending, retrying, failed, dead, rejected or done.")
    ] = None,
    type_: Annotated[str | None, typer.Option("--type", help="Message type.")] = None,
    agency: Annotated[str | None, typer.Option(help="Agency involved, e.g. rop.")] = None,
    correlation_id: Annotated[str | None, typer.Option(help="One business case.")] = None,
    since: Annotated[str | None, typer.Option(help="Received after: 2h, 1d or ISO time.")] = None,
    until: Annotated[str | None, typer.Option(help="Received before: 2h, 1d or ISO time.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100000, help="Page size.")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List messages from the hub's message store, oldest first."""
    from hub.store.engine import make_engine, make_session_factory
    from hub.store.migrate import upgrade
    from hub.store.queries import MessageFilter, list_messages

    try:
        flt = MessageFilter(
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
    engine = make_engine(load_settings().resolved_database_url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        rows = list_messages(session, flt)
    engine.dispose()
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    table = Table("id", "type", "status", "agency", "attempts", "received", "last error")
    for row in rows:
        table.add_row(
            row["id"],
            row["type"] or "-",
            row["status"],
            row["agency"] or "-",
            str(row["attempts"]),
            row["received_at"][:19],
            (row["last_error"] or "")[:60],
        )
    console.print(table)
    console.print(f"{len(rows)} message(s)", highlight=False)
