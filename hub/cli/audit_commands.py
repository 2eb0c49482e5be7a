"""`hub audit ...`: verify the tamper-evident trail, sign a checkpoint, export a case."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from hub.cli.output import CommandFailed, console
from hub.cli.timeparse import parse_when
from hub.config import load_settings

if TYPE_CHECKING:
    from hub.audit.findings import VerifyResult

audit_app = typer.Typer(help="Verify and export the audit trail.", no_args_is_help=True)
LARGE_TRAIL = 50_000  # entries from which verify shows a progress bar


class _VerifyProgress:
    """A Rich bar on stderr, started only once the trail turns out to be large."""

    def __init__(self) -> None:
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            if total < LARGE_TRAIL:
                return
            self._bar = Progress(
                TextColumn("verifying"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("verify", total=total)
        if self._task is not None:
            self._bar.update(self._task, completed=done, total=total)

    def __enter__(self) -> _VerifyProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()


@audit_app.command("verify")
def audit_verify(
    max_unsealed_age: Annotated[
        float | None,
        typer.Option(
            "--max-unsealed-age",
            min=0,
            help="Exit 1 when the oldest entry no checkpoint covers is older than this many "
            "seconds (the hub seals every HUB_AUDIT_SEAL_INTERVAL_S while it runs).",
        ),
    ] = None,
) -> None:
    """Check every entry's hash and link and every signed checkpoint with the public key only;
    exit 1 naming the first problem (seq, what is wrong) when the trail was edited, cut short
    or rewritten. The unsealed window (entries after the last checkpoint) is reported with its
    age: a checkpoint cannot vouch for those yet."""
    from hub.audit.verify import verify_store

    with _VerifyProgress() as progress:
        result = verify_store(load_settings(), progress)
    if result.first is not None:
        extra = f" (and {len(result.problems) - 1} more)" if len(result.problems) > 1 else ""
        raise CommandFailed(f"audit trail broken at {result.first}{extra}")
    console.print(
        f"audit trail intact: {result.entries} entries; checkpoints: {result.checkpoints} signed, "
        f"{result.external_checkpoints} in the external file; {_unsealed(result)}; "
        f"{result.entries_per_s:,.0f} entries/s",
        highlight=False,
        soft_wrap=True,
    )
    age = result.unsealed_age_s
    if max_unsealed_age is not None and age is not None and age > max_unsealed_age:
        raise CommandFailed(
            f"unsealed window too old: {result.unsealed} entries since {result.unsealed_since} "
            f"({age:.0f} s > {max_unsealed_age:g} s); no checkpoint vouches for them"
        )


def _unsealed(result: VerifyResult) -> str:
    """The unsealed window: how many entries no checkpoint vouches for yet, which, how old."""
    line = f"newest entries not yet checkpointed: {result.unsealed}"
    if result.unsealed == 0:
        return line
    age = f", {result.unsealed_age_s:.0f} s old" if result.unsealed_age_s is not None else ""
    first = result.entries - result.unsealed + 1
    return (
        f"{line} (unsealed window seq {first}-{result.entries} since {result.unsealed_since}{age})"
    )


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign a checkpoint of the current head now (e.g. before a backup, or from cron)."""
    from hub.audit.sealing import Checkpointer
    from hub.store.engine import make_engine, make_session_factory
    from hub.store.migrate import upgrade

    settings = load_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade(engine)
        checkpoint = Checkpointer.from_settings(settings).seal_now(make_session_factory(engine))
    finally:
        engine.dispose()
    if checkpoint is None:
        console.print("nothing to sign: the head is already checkpointed", highlight=False)
    else:
        console.print(f"signed checkpoint at seq {checkpoint.seq}", highlight=False)


@audit_app.command("export")
def audit_export(
    correlation_id: Annotated[
        str | None, typer.Option(help="Every entry of one business case.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Entries recorded after: 2h, 1d or ISO time.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write JSON lines here instead of stdout.")
    ] = None,
    bundle: Annotated[
        Path | None,
        typer.Option(
            help="Write the case's evidence bundle (entries, checkpoint, documents, sealed "
            "exchanges, certificates; signed) to this file; needs --correlation-id."
        ),
    ] = None,
) -> None:
    """Export audit entries as JSON lines, in chain order, with their hashes."""
    from hub.audit.export import export_entries
    from hub.store.engine import make_engine, make_session_factory
    from hub.store.migrate import upgrade

    if bundle is not None:
        if correlation_id is None or since is not None:
            raise CommandFailed("--bundle takes one case: --correlation-id ID, without --since")
        from hub.cli.bundle_commands import export_bundle

        export_bundle(correlation_id, bundle)
        return
    if correlation_id is None and since is None:
        raise CommandFailed("say what to export: --correlation-id ID and/or --since TIME")
    try:
        when = parse_when(since) if since else None
    except ValueError as exc:
        raise CommandFailed(str(exc)) from None
    engine = make_engine(load_settings().resolved_database_url)
    try:
        upgrade(engine)
        entries = export_entries(
            make_session_factory(engine), correlation_id=correlation_id, since=when
        )
        if output is None:
            count = _write_lines(entries, sys.stdout)
        else:
            with output.open("w", encoding="utf-8") as sink:
                count = _write_lines(entries, sink)
            console.print(f"{count} entries written to {output}", highlight=False)
    finally:
        engine.dispose()
    if count == 0 and correlation_id is not None:
        raise CommandFailed(f"no audit entries for correlation id {correlation_id!r}")


def _write_lines(entries: Iterable[dict[str, Any]], sink: TextIO) -> int:
    count = 0
    for entry in entries:
        sink.write(json.dumps(entry, ensure_ascii=False) + "\n")
        count += 1
    return count


@audit_app.command("verify-bundle")
def audit_verify_bundle(
    file: Annotated[Path, typer.Argument(help="The bundle to check.", exists=True)],
    ca: Annotated[
        Path | None,
        typer.Option(help="The national CA certificate to trust (default: the bundle's own)."),
    ] = None,
) -> None:
    """Check an evidence bundle offline; exit 1 naming each thing that was changed."""
    from hub.cli.bundle_commands import verify_bundle_file

    verify_bundle_file(file, ca)
