"""Where jsonschema-rs cannot or may not answer, the reference (jsonschema) does, as before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from referencing.exceptions import Unresolvable
from structlog.testing import capture_logs

from hub.contracts.fast_check import CheckedValidator
from hub.contracts.registry import ContractRegistry, Validators, schema_file_validator

REQUESTED = "urn:muscat-hub:events:permit.parking.requested:1.0"


@pytest.fixture(scope="module")
def registry() -> ContractRegistry:
    return ContractRegistry.load()


def compiled(schema: dict[str, Any], *resources: tuple[str, dict[str, Any]]) -> CheckedValidator:
    return Validators(resources).get("schema", lambda: schema)


def messages(validator: CheckedValidator, instance: Any) -> list[str]:
    return sorted(error.message for error in validator.iter_errors(instance))


def test_a_tuple_goes_to_the_reference_which_refuses_it_as_an_array() -> None:
    validator = compiled({"type": "object", "properties": {"codes": {"type": "array"}}})
    instance = {"codes": ("AB", "عم")}
    assert validator.fast is not None and validator.fast.is_valid(instance)
    assert not validator.fast_accepts(instance)
    assert not validator.is_valid(instance)
    assert messages(validator, instance) == ["('AB', 'عم') is not of type 'array'"]


@pytest.mark.parametrize(
    ("instance", "expected"),
    [
        ({1: "عمان"}, []),
        ({"tags": {"ab"}}, ["{'ab'} is not of type 'array', 'string'"]),
        ({"on": b"2026"}, ["b'2026' is not of type 'array', 'string'"]),
    ],
    ids=["int-key", "set", "bytes"],
)
def test_a_value_that_is_not_json_goes_to_the_reference(
    instance: dict[Any, Any], expected: list[str]
) -> None:
    validator = compiled({"type": "object", "additionalProperties": {"type": ["array", "string"]}})
    assert not validator.fast_accepts(instance)
    assert validator.is_valid(instance) == (expected == [])
    assert messages(validator, instance) == expected


def test_where_the_fast_one_is_stricter_the_reference_decides(registry: ContractRegistry) -> None:
    """Python's `$` matches before a trailing newline, jsonschema-rs's does not: the contract
    accepted such a civil id before, and still does."""
    example = dict(registry.get(REQUESTED).examples[0]) | {"civil_id": "12345678\n"}
    validator = registry.validator(REQUESTED)
    assert validator.fast is not None and not validator.fast.is_valid(example)
    assert registry.errors(REQUESTED, example) == []


def test_a_schema_only_pythons_re_reads_is_checked_by_the_reference_alone(tmp_path: Path) -> None:
    path = tmp_path / "reply.schema.json"
    schema = {"type": "object", "properties": {"no": {"type": "string", "pattern": r"^[0-9]+\Z"}}}
    path.write_text(json.dumps(schema), encoding="utf-8")
    with capture_logs() as logs:
        validator = schema_file_validator(path)
    assert validator.fast is None
    assert [entry["event"] for entry in logs] == ["contract.fast_check_unavailable"]
    assert validator.is_valid({"no": "968"})
    assert messages(validator, {"no": "968\n"}) == ["'968\\n' does not match '^[0-9]+\\\\Z'"]


def test_a_contract_refers_to_another_by_its_urn() -> None:
    name = "urn:muscat-hub:canonical:bilingual:1.0"
    bilingual = {
        "$id": name,
        "type": "object",
        "required": ["en", "ar"],
        "properties": {"en": {"type": "string"}, "ar": {"type": "string", "maxLength": 5}},
    }
    validator = compiled(
        {"type": "object", "properties": {"name": {"$ref": name}}}, (name, bilingual)
    )
    assert validator.fast is not None
    assert validator.fast_accepts({"name": {"en": "Muscat", "ar": "مسقط"}})
    assert not validator.fast_accepts({"name": {"en": "Muscat", "ar": "مسقط مسقط"}})
    assert messages(validator, {"name": {"en": "Muscat"}}) == ["'ar' is a required property"]


def test_a_reference_to_no_contract_fails_as_it_did() -> None:
    validator = compiled({"$ref": "urn:muscat-hub:canonical:missing:1.0"})
    assert validator.fast is None
    with pytest.raises(Unresolvable):
        validator.is_valid({})


def test_arabic_length_counts_characters_on_both(registry: ContractRegistry) -> None:
    example = dict(registry.get(REQUESTED).examples[0])
    validator = registry.validator(REQUESTED)
    fits = example | {"applicant_name": {"ar": "ع" * 200}}
    too_long = example | {"applicant_name": {"ar": "ع" * 201}}
    assert validator.fast_accepts(fits) and registry.errors(REQUESTED, fits) == []
    assert not validator.fast_accepts(too_long)
    assert [e.field for e in registry.errors(REQUESTED, too_long)] == ["applicant_name.ar"]
