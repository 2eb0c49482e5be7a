"""What every command shares: the Rich console and the one-line failure."""

from __future__ import annotations

from rich.console import Console

console = Console()


class CommandFailed(Exception):
    """A command cannot do what was asked; the message is the one line the operator sees."""


def safe_url(url: str) -> str:
    """A broker or database URL without its password, for printing."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        creds, _, host = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{host}"
    return url
