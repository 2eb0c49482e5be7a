"""`hub partners ...`: register the agencies that may call the REST and SOAP endpoints."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from hub.cli.output import CommandFailed, console, shown
from hub.config import load_settings

if TYPE_CHECKING:
    from hub.api.partners import PartnerInfo, PartnerRegistry

partners_app = typer.Typer(
    help="Register, list and revoke the partner agencies of the REST and SOAP endpoints.",
    no_args_is_help=True,
)


@contextmanager
def _registry() -> Iterator[PartnerRegistry]:
    from hub.api.partners import PartnerRegistry, SecretHasher, load_pepper
    from hub.store.engine import make_engine, make_session_factory
    from hub.store.migrate import upgrade

    settings = load_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade(engine)
        yield PartnerRegistry(make_session_factory(engine), SecretHasher(load_pepper(settings)))
    finally:
        engine.dispose()


def _as_dict(info: PartnerInfo) -> dict[str, object]:
    return {
        "name": info.name,
        "key_id": info.key_id,
        "grants": info.grants,
        "rate_limit": info.rate_limit,
        "created_at": info.created_at.isoformat(),
        "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None,
    }


@partners_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The partner's name; also its SOAP user name.")],
    grant: Annotated[
        list[str], typer.Option("--grant", help="An operation it may call (repeat); see `grants`.")
    ],
    rate_limit: Annotated[
        int | None,
        typer.Option(min=1, help="Calls per rate window for this partner (default: setting)."),
    ] = None,
) -> None:
    """Register a partner and print its new secret once, alone on the last line: it is both
    the REST X-Api-Key and the SOAP UsernameToken password, and the hub keeps only its hash."""
    from hub.api.partners import PartnerError

    with _registry() as registry:
        try:
            info, secret = registry.add(name, grant, rate_limit=rate_limit, actor="cli")
        except PartnerError as exc:
            raise CommandFailed(str(exc)) from None
    console.print(f"partner {info.name} added; grants: {', '.join(info.grants)}", highlight=False)
    console.print("its secret (shown once, keep it safe):", highlight=False)
    sys.stdout.write(secret + "\n")


@partners_app.command("list")
def list_partners(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Every partner with its grants and state (never a secret)."""
    with _registry() as registry:
        partners = registry.list()
    if as_json:
        for info in partners:
            sys.stdout.write(json.dumps(_as_dict(info), ensure_ascii=False) + "\n")
        return
    table = Table("name", "key id", "grants", "rate limit", "created", "state")
    for column in table.columns[:3]:
        column.overflow = "fold"  # names and grants are copied from here: never cut them short
    for info in partners:
        table.add_row(
            shown(info.name),
            shown(info.key_id),
            Text("\n").join(shown(grant) for grant in info.grants),
            str(info.rate_limit or "default"),
            info.created_at.isoformat()[:19],
            "active" if info.active else f"revoked {info.revoked_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)
    console.print(f"{len(partners)} partner(s)", highlight=False)


@partners_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="The partner to cut off.")]) -> None:
    """Stop a partner's secret working, at once, for REST and SOAP alike."""
    from hub.api.partners import PartnerError

    with _registry() as registry:
        try:
            info = registry.revoke(name, actor="cli")
        except PartnerError as exc:
            raise CommandFailed(str(exc)) from None
    console.print(f"partner {info.name} revoked", highlight=False)


@partners_app.command("grants")
def grants() -> None:
    """The grant names a partner may be given, and what each allows."""
    from hub.api.grants import ALL_GRANTS

    width = max(len(name) for name in ALL_GRANTS)
    for name, allows in ALL_GRANTS.items():
        console.print(f"{name:<{width}}  {allows}", soft_wrap=True, highlight=False)
