"""`hub payments reconcile --date D`: the provider's settlement report for a day against the
hub's payments; prints a summary and the differences, writes every line as CSV, and exits 3
when anything differs (1 is a failure to reconcile at all)."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session, sessionmaker

from hub.cli.output import CommandFailed, console, shown
from hub.config import Settings, load_settings

payments_app = typer.Typer(
    help="Payments: reconcile the providers' settlements.", no_args_is_help=True
)
DIFFERENCES_EXIT = 3
LONG_REPORT = 200  # rows from which the match shows a progress bar


@contextmanager
def _store(settings: Settings) -> Iterator[sessionmaker[Session]]:
    from hub.store.engine import make_engine, make_session_factory
    from hub.store.migrate import upgrade

    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade(engine)
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def _settlement(settings: Settings, provider: str, day: date) -> list[dict[str, str]]:
    """The provider's report through its connector: the configured endpoint, or the simulator
    a running hub serves (its simulators.json)."""
    from hub.agencies.connector import Endpoint, load_connectors
    from hub.agencies.simulators import read_registry
    from hub.flows.payment_reconcile import SettlementSource

    connectors = load_connectors()
    if provider not in connectors:
        raise CommandFailed(
            f"no provider {provider!r} (installed: {', '.join(sorted(connectors))})"
        )
    connector = connectors[provider]
    configured = settings.agencies.get(provider)
    if configured is not None:
        endpoint = Endpoint(configured.url, configured.credentials)
    else:
        url = read_registry(settings.data_dir).get(provider)
        if url is None:
            raise CommandFailed(f"no URL for {provider}: set HUB_AGENCIES__{provider.upper()}__URL")
        endpoint = Endpoint(url, connector.simulator(0).credentials)
    client = connector.client(endpoint)
    if not isinstance(client, SettlementSource):
        raise CommandFailed(f"{provider} ships no settlement report")

    async def fetch() -> list[dict[str, str]]:
        try:
            return await client.settlement(day)
        finally:
            await client.aclose()

    return asyncio.run(fetch())


@payments_app.command("reconcile")
def reconcile(
    day: Annotated[str, typer.Option("--date", help="The settlement day, YYYY-MM-DD.")],
    provider: Annotated[str, typer.Option(help="The payment provider.")] = "epay",
    out: Annotated[
        Path | None,
        typer.Option(help="CSV of every line; default reconciliation-<provider>-<date>.csv."),
    ] = None,
) -> None:
    """Match the day's settlement report against the hub's payments; exit 3 on differences."""
    from hub.flows.payment_reconcile import KINDS, MATCHED, match, recorded_for
    from hub.metrics import RECONCILIATION_DIFFERENCES

    try:
        settled_day = date.fromisoformat(day)
    except ValueError:
        raise CommandFailed(f"--date {day!r} is not a date (YYYY-MM-DD)") from None
    settings = load_settings()
    settled = _settlement(settings, provider, settled_day)
    with _store(settings) as sessions:
        recorded = recorded_for(sessions, provider, settled_day, [r["payment_id"] for r in settled])
    bar = Progress(
        TextColumn("matching"), BarColumn(), MofNCompleteColumn(),
        console=Console(stderr=True), transient=True, disable=len(settled) < LONG_REPORT,
    )  # fmt: skip
    with bar:
        task = bar.add_task("match", total=len(settled))
        lines = match(settled, recorded, on_row=lambda: bar.advance(task))
    path = out or Path(f"reconciliation-{provider}-{settled_day.isoformat()}.csv")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(lines[0].as_row()) if lines else ["kind"])
        writer.writeheader()
        writer.writerows(line.as_row() for line in lines)
    summary = Table(title=f"{provider} settlement {settled_day.isoformat()}")
    summary.add_column("kind")
    summary.add_column("count", justify="right")
    for kind in KINDS:
        summary.add_row(kind, str(sum(1 for line in lines if line.kind == kind)))
    console.print(summary)
    differing = [line for line in lines if line.kind != MATCHED]
    if differing:
        table = Table(title="differences")
        for column in ("kind", "payment_id", "reference", "case", "settled", "recorded", "status"):
            table.add_column(column)
        for line in differing:
            row = line.as_row()
            cells = (row["kind"], row["payment_id"], row["reference"], row["case"],
                     row["settled_amount"], row["recorded_amount"], row["hub_status"])  # fmt: skip
            table.add_row(*(shown(cell) for cell in cells))  # control characters made visible
            RECONCILIATION_DIFFERENCES.labels(provider=provider, kind=line.kind).inc()
        console.print(table)
    console.print(Text(f"written: {path}"))
    if differing:
        raise typer.Exit(DIFFERENCES_EXIT)
