"""XSD checks of SOAP payloads, reported as `path: reason` so a log line names the field."""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from hub.soap.envelope import hardened_parser

_PREFIX = re.compile(r"\b[A-Za-z_][\w.-]*:")
_CLARK = re.compile(r"\{[^}]*\}")


def load_schema(path: Path) -> etree.XMLSchema:
    """Compile an XSD once; its imports and includes resolve relative to its own file."""
    return etree.XMLSchema(etree.parse(str(path), hardened_parser()))


def _readable(text: str) -> str:
    return _CLARK.sub("", text)


def schema_errors(schema: etree.XMLSchema, element: etree._Element) -> list[str]:
    """Every way `element` (a Body payload, not a whole envelope) breaks `schema`."""
    if schema.validate(element):
        return []
    errors = []
    for error in schema.error_log:
        path = _PREFIX.sub("", error.path or "").lstrip("/") or "(root)"
        errors.append(f"{path}: {_readable(error.message).rstrip('.')}")
    return errors
