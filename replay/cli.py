"""`hub`: one console script; each command parses, calls one function of the core, renders."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from kombu.exceptions import OperationalError as KombuOperationalError
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from hub.config import load_settings
from hub.errors import HubError
from hub.observability import configure_logging
from replay.timeparse import parse_when

app = typer.Typer(
    help="Muscat integration hub: serve, feed, inspect and replay municipal messages.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
replay_app = typer.Typer(help="Find, inspect and re-drive messages.", no_args_is_help=True)
app.add_typer(replay_app, name="replay")
console = Console()


class CommandFailed(Exception):
    """A command cannot do what was asked; the message is the one line the operator sees."""


@app.command()
def serve(
    log_level: Annotated[str, typer.Option(help="Lowest log level written.")] = "info",
) -> None:
    """Run the hub: a worker consuming municipal.in and, in the embedded default, the agency
    simulators on loopback. Stops cleanly on Ctrl-C or SIGTERM."""
    from hub.bus.service import WorkerThread
    from hub.runtime import build_runtime

    settings = load_settings()
    configure_logging(log_level)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with build_runtime(settings) as runtime:
        worker = WorkerThread(runtime).start()
        for name, running in runtime.simulators.items():
            console.print(f"simulator {name}: {running.server.url}", highlight=False)
        console.print(f"hub serving; broker {_safe_url(runtime.broker_url)}", highlight=False)
        try:
            while not stop.wait(0.5):
                if not worker.alive:
                    raise CommandFailed("the worker stopped unexpectedly; see the log")
        except KeyboardInterrupt:
            pass
        finally:
            worker.stop()


@app.command()
def send(
    file: Annotated[Path, typer.Argument(help="A JSON file holding one CloudEvent.")],
) -> None:
    """Publish a CloudEvent from a JSON file to municipal.in (routing key = its type)."""
    import hub.bus  # noqa: F401
    from hub.bus.publisher import Publisher
    from hub.bus.topology import IN_EXCHANGE

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandFailed(f"cannot read {file}: {exc.strerror}") from None
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandFailed(f"{file} is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise CommandFailed(f"{file} must hold one JSON object (a CloudEvent)")
    given_type = event.get("type")
    routing_key = given_type if isinstance(given_type, str) else "unknown"
    settings = load_settings()
    with Publisher(settings.resolved_broker_url) as publisher:
        publisher.publish(text.encode("utf-8"), exchange=IN_EXCHANGE, routing_key=routing_key)
    console.print(f"sent {event.get('id', '(no id)')} ({routing_key})", highlight=False)


@app.command()
def demo(
    count: Annotated[int, typer.Option(min=5, max=5000, help="Parking requests to feed.")] = 50,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for all results.")] = 120.0,
) -> None:
    """Feed a realistic batch of parking permit requests (some refused, some for unknown plates,
    one malformed, one sent twice) through the embedded hub and show what happened."""
    from replay.demo import run_demo

    run_demo(load_settings(), console, count=count, timeout_s=timeout)


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


def _safe_url(url: str) -> str:
    """A broker URL without its password, for printing."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        creds, _, host = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{host}"
    return url


def main() -> None:
    """Entry point: every failure ends with one line on stderr and a non-zero exit."""
    try:
        app()
    except (CommandFailed, HubError, OSError, SQLAlchemyError, KombuOperationalError) as exc:
        typer.echo(f"hub: {exc}", err=True)
        sys.exit(1)
