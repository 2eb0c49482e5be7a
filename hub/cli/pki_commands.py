"""`hub pki ...`: the development national CA (docs/PKI.md). Production certificates and
keys are configured (HUB_PKI_*, HUB_TLS_*, HUB_SIGNING_*), never made here unasked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.cli.output import CommandFailed, console, shown
from hub.config import load_settings

pki_app = typer.Typer(
    help="The development CA: make it, issue partner certificates, revoke them.",
    no_args_is_help=True,
)


def _folder(folder: Path | None) -> Path:
    from hub.pki.material import pki_dir

    return folder or pki_dir(load_settings())


@pki_app.command("init")
def init(
    folder: Annotated[
        Path | None, typer.Option(help="Where to keep it (default: HUB_PKI_DIR or data/pki).")
    ] = None,
) -> None:
    """Make a development CA with the hub's TLS and signing certificates and an empty CRL;
    an existing CA is never replaced."""
    from hub.pki.authority import AuthorityError, CertificateAuthority

    target = _folder(folder)
    try:
        ca = CertificateAuthority.create(target)
    except AuthorityError as exc:
        raise CommandFailed(str(exc)) from None
    console.print(shown(f"development CA made in {ca.folder}"))
    console.print("the hub now serves HTTPS with client certificates and signs documents;")
    console.print("for production set HUB_PKI_CA_FILE, HUB_PKI_CRL_FILE, HUB_TLS_CERT_FILE,")
    console.print("HUB_TLS_KEY_FILE, HUB_SIGNING_CERT_FILE and HUB_SIGNING_KEY_FILE instead.")


@pki_app.command("issue-partner")
def issue_partner(
    name: Annotated[str, typer.Argument(help="The partner's registered name (`hub partners`).")],
    days: Annotated[int, typer.Option(min=1, max=825, help="Validity in days.")] = 365,
    folder: Annotated[Path | None, typer.Option(help="The CA's folder.")] = None,
) -> None:
    """Issue a client certificate naming the partner; its key is written beside it."""
    from hub.pki.authority import AuthorityError, CertificateAuthority

    try:
        path = CertificateAuthority(_folder(folder)).issue(name, "partner", days=days)
    except AuthorityError as exc:
        raise CommandFailed(str(exc)) from None
    console.print(shown(f"certificate {path} (key {path.with_name(path.stem + '-key.pem')})"))


@pki_app.command("revoke")
def revoke(
    subject: Annotated[str, typer.Argument(help="A partner name, or a certificate's serial.")],
    folder: Annotated[Path | None, typer.Option(help="The CA's folder.")] = None,
) -> None:
    """Revoke and publish a new CRL; the partner endpoints refuse it from the next call."""
    from hub.pki.authority import AuthorityError, CertificateAuthority

    try:
        revoked = CertificateAuthority(_folder(folder)).revoke(subject)
    except AuthorityError as exc:
        raise CommandFailed(str(exc)) from None
    for item in revoked:
        console.print(shown(f"revoked {item.subject} serial {item.serial:x}"))
