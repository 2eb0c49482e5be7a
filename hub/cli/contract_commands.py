"""`hub contracts ...`: list the contracts and check them (validity, examples, compatibility)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from contracts import CONTRACTS_DIR
from hub.cli.output import CommandFailed, console
from hub.contracts.check import check_contracts, list_contracts

contracts_app = typer.Typer(
    help="List the hub's contracts and check them before a release.", no_args_is_help=True
)

RootOption = Annotated[
    Path,
    typer.Option(
        "--root",
        help="Contracts directory to read (default: the installed contracts).",
        resolve_path=True,
    ),
]


def _contracts_dir(root: Path) -> Path:
    if not root.is_dir():
        raise CommandFailed(f"no contracts directory at {root}")
    return root


@contracts_app.command("list")
def contracts_list(
    root: RootOption = CONTRACTS_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Show every contract: kind, name, version, id and number of examples."""
    rows, unreadable = list_contracts(_contracts_dir(root))
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row.__dict__, ensure_ascii=False) + "\n")
    else:
        table = Table("kind", "name", "version", "id", "examples")
        for column in table.columns:
            column.overflow = "fold"  # an id cut short is no use to an operator
        for row in rows:
            examples = "-" if row.examples is None else str(row.examples)
            table.add_row(row.kind, row.name, row.version, row.id, examples)
        console.print(table)
        console.print(f"{len(rows)} contract file(s) under {root}", highlight=False)
    if unreadable:
        typer.echo(
            f"{unreadable} contract file(s) could not be read: run hub contracts check", err=True
        )


@contracts_app.command("check")
def contracts_check(root: RootOption = CONTRACTS_DIR) -> None:
    """Every contract valid, every example valid against its contract, every WSDL/XSD sound,
    and no breaking change within a major version. Prints one line per problem."""
    problems = check_contracts(_contracts_dir(root))
    for problem in problems:
        sys.stdout.write(f"{problem}\n")
    if problems:
        raise CommandFailed(f"{len(problems)} contract problem(s) under {root}")
    typer.echo(f"contracts under {root}: no problems")
