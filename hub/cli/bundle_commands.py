"""The evidence bundle behind `hub audit export --bundle` and `hub audit verify-bundle`."""

from __future__ import annotations

import logging
from pathlib import Path

from hub.cli.output import CommandFailed, console, shown
from hub.config import load_settings


def export_bundle(correlation_id: str, target: Path) -> None:
    from hub.audit.bundle import BundleError, write_bundle
    from hub.audit.sealing import Checkpointer
    from hub.pki.material import PkiFiles
    from hub.store.engine import make_engine, make_session_factory
    from hub.store.migrate import upgrade

    settings = load_settings()
    identity = PkiFiles.from_settings(settings).signing_identity()
    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade(engine)
        sessions = make_session_factory(engine)
        manifest = write_bundle(
            sessions, Checkpointer.from_settings(settings), identity, correlation_id, target
        )
    except BundleError as exc:
        raise CommandFailed(str(exc)) from None
    finally:
        engine.dispose()
    console.print(shown(f"evidence bundle of {correlation_id} written to {target}"))
    console.print(shown(f"{len(manifest['files'])} files; case entries {manifest['case_entries']}"))


def verify_bundle_file(file: Path, ca: Path | None) -> None:
    from hub.audit.bundle_verify import verify_bundle
    from hub.pki.material import read_certificate

    for name in ("pyhanko", "pyhanko_certvalidator"):  # the verdict names each problem once
        logging.getLogger(name).setLevel(logging.CRITICAL)
    verdict = verify_bundle(file, read_certificate(ca) if ca is not None else None)
    for problem in verdict.problems:
        console.print(shown(f"CHANGED: {problem}"), soft_wrap=True)
    if verdict.anchor_from_bundle:
        console.print(
            shown(
                "trusted the bundle's own CA certificate: compare its sha256 "
                f"{verdict.anchor_fingerprint} with the national CA's (or pass --ca)"
            ),
            soft_wrap=True,
        )
    if not verdict.ok:
        raise CommandFailed(
            f"evidence bundle {file.name} is NOT intact: {len(verdict.problems)} problem(s) above"
        )
    console.print(
        shown(
            f"evidence bundle intact: case {verdict.correlationid}, {verdict.case_entries} case "
            f"entries in {verdict.entries} chained entries, {verdict.documents} documents, "
            f"{verdict.exchanges} sealed exchanges"
        ),
        soft_wrap=True,
    )
