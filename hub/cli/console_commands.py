"""`hub console` and `hub operators ...`: serve the operations console in the browser, and
manage the people who may sign in to it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from hub.cli.output import CommandFailed, console, shown
from hub.config import load_settings
from hub.observability import configure_logging

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

operators_app = typer.Typer(
    help="Add, remove and list the operators who may sign in to `hub console`.",
    no_args_is_help=True,
)


@contextmanager
def _store() -> Iterator[sessionmaker[Session]]:
    from hub.store.engine import make_engine, make_session_factory
    from hub.store.migrate import upgrade

    engine = make_engine(load_settings().resolved_database_url)
    try:
        upgrade(engine)
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def serve_console(
    log_level: Annotated[str, typer.Option(help="Lowest log level written.")] = "info",
    port: Annotated[int | None, typer.Option(help="Port (default HUB_CONSOLE_PORT, 8090).")] = None,
) -> None:
    """Serve the operations console: overview, cases, dead letters and replay, agencies,
    audit and partners, over this hub's store. Stops on Ctrl-C."""
    import uvicorn

    from hub.agencies.connector import load_connectors
    from hub.console.app import create_console
    from hub.console.operators import OperatorBook

    settings = load_settings()
    configure_logging(log_level)
    chosen = settings.console_port if port is None else port
    with _store() as sessions:
        app = create_console(settings, sessions, sorted(load_connectors()))
        if not OperatorBook(sessions).list():
            console.print(
                "no operators yet: add one with `hub operators add NAME --role operator`",
                highlight=False,
            )
        console.print(
            f"operations console: http://{settings.console_host}:{chosen}/", highlight=False
        )
        uvicorn.run(
            app,
            host=settings.console_host,
            port=chosen,
            log_config=None,
            access_log=False,
            proxy_headers=False,
        )


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Again", hide_input=True) != first:
        raise CommandFailed("the two passwords differ; nothing was changed")
    return str(first)


@operators_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The operator's sign-in name.")],
    role: Annotated[str, typer.Option(help="viewer, operator (may replay) or admin.")] = "viewer",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Add an operator; the password is asked for (never an argument) and kept hashed."""
    from hub.console.operators import OperatorBook, OperatorError

    password = _password(password_stdin)
    with _store() as sessions:
        try:
            info = OperatorBook(sessions).add(name, password, role, actor="cli")
        except OperatorError as exc:
            raise CommandFailed(str(exc)) from None
    console.print(f"operator {info.name} added with role {info.role}", highlight=False)


@operators_app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="The operator's sign-in name.")]) -> None:
    """Remove an operator; their open sessions end at once."""
    from hub.console.operators import OperatorBook, OperatorError

    with _store() as sessions:
        try:
            OperatorBook(sessions).remove(name, actor="cli")
        except OperatorError as exc:
            raise CommandFailed(str(exc)) from None
    console.print(f"operator {name} removed", highlight=False)


@operators_app.command("list")
def list_operators() -> None:
    """The operators and their roles."""
    from hub.console.operators import OperatorBook

    with _store() as sessions:
        rows = OperatorBook(sessions).list()
    table = Table("name", "role", "added")
    for row in rows:
        table.add_row(shown(row.name), shown(row.role), shown(row.created_at.isoformat()[:19]))
    console.print(table)
