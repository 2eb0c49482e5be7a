"""What every command shares: the Rich console, the one-line failure, and the one way stored
data reaches the terminal: shown, never obeyed (no markup, control characters made visible)."""

from __future__ import annotations

import json
import re
from typing import Any

from rich.console import Console
from rich.text import Text

console = Console()

# C0 and C1 controls, DEL, and the Unicode bidi/line controls that can reorder or forge a line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


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


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: object) -> str:
    """`value` as one line of plain text: mappings and lists as compact JSON, every control
    character written as its escape (`\\x1b`, `\\n`), so a stored value cannot move the cursor,
    set the window title or forge a line."""
    if value is None:
        text = "-"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, dict | list | tuple):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    return _CONTROL.sub(_escape, text)


def shown(value: object, *, limit: int | None = None) -> Text:
    """Stored data for a Rich table cell or print: visible, and a `Text`, so `[bold]` in it is
    text, not markup."""
    text = visible(value)
    return Text(text[:limit] if limit is not None else text)


def json_line(row: Any) -> str:
    """One JSON line for stdout; C1 controls and bidi overrides escaped too (json.dumps leaves
    them raw when it keeps non-ASCII as characters)."""
    raw = json.dumps(row, ensure_ascii=False, default=str)
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group(0)):04x}", raw)
