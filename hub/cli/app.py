"""`hub`: one console script; each command parses, calls one function of the core, renders.

Command groups live in their own modules (`replay/*_commands.py`) and are mounted here.
"""

from __future__ import annotations

import sys

import typer
from kombu.exceptions import OperationalError as KombuOperationalError
from sqlalchemy.exc import SQLAlchemyError

from hub.cli import replay_commands, run_commands
from hub.cli.audit_commands import audit_app
from hub.cli.connector_commands import connectors_app, simulators_app
from hub.cli.console_commands import operators_app, serve_console
from hub.cli.contract_commands import contracts_app
from hub.cli.document_commands import documents_app
from hub.cli.output import CommandFailed, visible
from hub.cli.partner_commands import partners_app
from hub.cli.payment_commands import payments_app
from hub.cli.pki_commands import pki_app
from hub.errors import HubError

app = typer.Typer(
    help="Muscat integration hub: serve, feed, inspect and replay municipal messages.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.registered_commands += run_commands.app.registered_commands
app.add_typer(replay_commands.replay_app, name="replay")
app.add_typer(partners_app, name="partners")
app.add_typer(audit_app, name="audit")
app.add_typer(connectors_app, name="connectors")
app.add_typer(simulators_app, name="simulators")
app.add_typer(contracts_app, name="contracts")
app.command("console")(serve_console)
app.add_typer(operators_app, name="operators")
app.add_typer(pki_app, name="pki")
app.add_typer(documents_app, name="documents")
app.add_typer(payments_app, name="payments")


def main() -> None:
    """Entry point: every failure ends with one line on stderr and a non-zero exit."""
    try:
        app()
    except (CommandFailed, HubError, OSError, SQLAlchemyError, KombuOperationalError) as exc:
        typer.echo(f"hub: {visible(str(exc))}", err=True)
        sys.exit(1)
