"""`schema_file_validator`: agency schema files compiled once, by the registry's mechanism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema.exceptions import SchemaError

from hub.plugin import schema_file_validator


def write(path: Path, schema: object) -> Path:
    path.write_text(json.dumps(schema), encoding="utf-8")
    return path


def test_a_schema_file_is_compiled_once_and_checks_formats(tmp_path: Path) -> None:
    path = write(
        tmp_path / "reply.schema.json",
        {"type": "object", "properties": {"on": {"type": "string", "format": "date"}}},
    )
    validator = schema_file_validator(path)
    assert schema_file_validator(tmp_path / "." / "reply.schema.json") is validator
    assert validator.is_valid({"on": "2026-11-29"})
    assert not validator.is_valid({"on": "2026-13-45"})


def test_a_file_that_is_not_a_schema_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.schema.json", {"type": "no-such-type"})
    with pytest.raises(SchemaError):
        schema_file_validator(path)
