"""`hub documents ...`: check a signed document offline, or fetch the one issued for a record."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from hub.cli.output import CommandFailed, console, shown
from hub.config import load_settings

documents_app = typer.Typer(
    help="Verify the municipality's signed documents, or fetch one.", no_args_is_help=True
)


@documents_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="The PDF to check.", exists=True, dir_okay=False)],
    ca: Annotated[
        Path | None, typer.Option(help="The CA certificate to trust (default: configured).")
    ] = None,
) -> None:
    """Exit 0 when the municipality's signature holds over the whole file and chains to the
    CA; exit 1 naming each problem (altered, appended to, foreign signer, unsigned)."""
    from hub.documents.signing import verify_document
    from hub.pki.material import PkiFiles, read_certificate

    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)  # the verdict says it in one line
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
    anchor = read_certificate(ca) if ca else PkiFiles.from_settings(load_settings()).trust_anchor()
    verdict = verify_document(file.read_bytes(), anchor)
    if not verdict.ok:
        raise CommandFailed(f"{file.name}: NOT VALID: " + "; ".join(verdict.problems))
    console.print(
        shown(f"{file.name}: valid signature by {verdict.signer} at {verdict.signed_at}"),
        soft_wrap=True,
    )


@documents_app.command("export")
def export(
    reference: Annotated[str, typer.Argument(help="The record's number, e.g. a licence's.")],
    output: Annotated[Path, typer.Option(help="Where to write the PDF.")],
) -> None:
    """Write the newest signed document issued for a record."""
    from sqlalchemy import select

    from hub.store.engine import make_engine, make_session_factory
    from hub.store.migrate import upgrade
    from hub.store.tables import IssuedDocument

    engine = make_engine(load_settings().resolved_database_url)
    try:
        upgrade(engine)
        with make_session_factory(engine)() as session:
            row = session.scalars(
                select(IssuedDocument)
                .where(IssuedDocument.reference == reference)
                .order_by(IssuedDocument.id.desc())
            ).first()
            pdf = row.pdf if row is not None else None
    finally:
        engine.dispose()
    if pdf is None:
        raise CommandFailed(f"no signed document issued for {reference!r}")
    output.write_bytes(pdf)
    console.print(shown(f"{len(pdf)} bytes written to {output}"))
