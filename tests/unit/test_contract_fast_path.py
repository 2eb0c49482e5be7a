"""The compiled fast path (jsonschema-rs) agrees with the reference (jsonschema) on every
contract in contracts/: each example and many mutations of it, formats included.

jsonschema-rs may be stricter than the reference in one known way (a pattern's `$` does not
match before a trailing newline, where Python's `re` does); it may never be more lenient, and
the registry's answer is always the reference's."""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
import pytest
from jsonschema import FormatChecker

from contracts import CONTRACTS_DIR
from hub.contracts.fast_check import DRAFT_2020_12_FORMATS, CheckedValidator
from hub.contracts.registry import ContractRegistry, Validators, schema_file_validator

ARABIC = "مسقط، سلطنة عُمان"

# Values that break one format or another, and values that pass them: every format is tried
# on all of them, so a format that one side checks and the other does not shows up.
FORMAT_PROBES: tuple[Any, ...] = (
    "2026-11-29",
    "2026-02-30",
    "2026-11-29\n",
    "٢٠٢٦-١١-٢٩",
    "2026-11-29T10:15:00Z",
    "2026-11-29t10:15:00z",
    "2026-11-29T10:15:00+04:00",
    "2026-11-29T25:00:00Z",
    "2026-12-31T23:59:60Z",
    "2026-11-29 10:15:00Z",
    "10:15:00",
    "10:15:00Z",
    "10:15:00+04:00",
    "P1D",
    "PT",
    "someone@example.om",
    "بريد@مثال.عمان",
    "no-at-sign",
    "a@b@c",
    "example.om",
    "-not-a-host-",
    "192.168.1.1",
    "256.1.1.1",
    "::1",
    "::g",
    "https://example.om/a?b=c",
    "not a uri",
    "/relative/path",
    "\\\\bad",
    "123e4567-e89b-12d3-a456-426614174000",
    "123E4567-E89B-12D3-A456-426614174000",
    "123e4567e89b12d3a456426614174000",
    "{123e4567-e89b-12d3-a456-426614174000}",
    "/a/b~1c",
    "/a~2",
    "0/a",
    "x/y",
    "{+path}/x",
    "{",
    "^[0-9]+$",
    "[",
    "",
    ARABIC,
    12,
    None,
)


@dataclass(frozen=True)
class Checked:
    name: str
    validator: CheckedValidator
    seeds: tuple[Any, ...]

    @property
    def fast(self) -> jsonschema_rs.Validator:
        assert self.validator.fast is not None, f"{self.name}: jsonschema-rs did not compile it"
        return self.validator.fast


PATTERN_PART = re.compile(
    r"\[(?P<chars>[^\]]+)\](?:\{(?P<least>\d+)[^}]*\}|(?P<plus>\+))?|\\?(?P<one>.)"
)


def _least_match(pattern: str) -> str:
    """The shortest string an anchored pattern of literals and `[class]{n,m}` / `[class]+`
    matches (the agency schemas' patterns are all of that shape)."""
    text = []
    for part in PATTERN_PART.finditer(pattern.removeprefix("^").removesuffix("$")):
        if part["chars"]:
            text.append(part["chars"][0] * int(part["least"] or 1))
        else:
            text.append(part["one"])
    return "".join(text)


def _string_for(schema: dict[str, Any]) -> str:
    """A string `schema` accepts: by its format, its pattern, or filler of its least length."""
    if "format" in schema:
        return {"date": "2026-11-29", "date-time": "2026-11-29T10:15:00Z"}.get(
            schema["format"], "https://example.om/x"
        )
    if "pattern" in schema:
        return _least_match(schema["pattern"])
    return "x" * schema.get("minLength", 1)


def _seed(schema: Any, root: dict[str, Any]) -> Any:
    """An instance of `schema` made from its own words (for the agency schemas, which carry no
    examples): every property filled, arrays at their least length."""
    if not isinstance(schema, dict):
        return {}
    if "$ref" in schema:
        return _seed(root["$defs"][schema["$ref"].rpartition("/")[2]], root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return _seed(schema["anyOf"][0], root)
    type_ = schema.get("type", "object")
    type_ = type_[0] if isinstance(type_, list) else type_
    if type_ == "object":
        return {name: _seed(sub, root) for name, sub in schema.get("properties", {}).items()}
    if type_ == "array":
        return [_seed(schema.get("items", {}), root)] * max(1, schema.get("minItems", 1))
    if type_ == "string":
        return _string_for(schema)
    if type_ in ("integer", "number"):
        return schema.get("minimum", 1)
    return {"boolean": True, "null": None}[type_]


REGISTRY = ContractRegistry.load()
AGENCY_SCHEMAS = {
    str(path.relative_to(CONTRACTS_DIR)): path
    for path in sorted((CONTRACTS_DIR / "agencies").glob("*/*.schema.json"))
}
NAMES = [contract.id for contract in REGISTRY] + list(AGENCY_SCHEMAS)


@functools.cache
def checked(name: str) -> Checked:
    """The hub's validator of a contract, or of an agency's schema file, with its seeds."""
    if name in AGENCY_SCHEMAS:
        schema = json.loads(AGENCY_SCHEMAS[name].read_text(encoding="utf-8"))
        return Checked(name, schema_file_validator(AGENCY_SCHEMAS[name]), (_seed(schema, schema),))
    return Checked(name, REGISTRY.validator(name), tuple(REGISTRY.get(name).examples))


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every value in `node` with its path, `node` itself first."""
    yield path, node
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _leaves(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _leaves(child, (*path, index))


def _replaced(instance: Any, path: tuple[Any, ...], value: Any) -> Any:
    changed = copy.deepcopy(instance)
    if not path:
        return value
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return changed


def _without(instance: Any, path: tuple[Any, ...], key: str) -> Any:
    changed = copy.deepcopy(instance)
    parent = changed
    for step in path:
        parent = parent[step]
    del parent[key]
    return changed


BAD_STRINGS = (
    "",
    "x" * 5000,
    ARABIC,
    ARABIC * 40,
    "!",
    "2026-02-30",
    "2026-13-01",
    "٢٠٢٦-١١-٢٩",
    "2026-11-29T25:00:00Z",
    "2026-12-31T23:59:60Z",
    "2026-11-29 10:15",
    "no-at-sign",
    "not-a-uuid",
    "not a uri",
)
WRONG_TYPES: tuple[Any, ...] = (None, True, 0, -1, 1.5, 10**12, "7", [], {}, [ARABIC])


def mutations(instance: Any) -> Iterator[Any]:
    """The instance broken one place at a time: a property removed, a value of the wrong type
    or out of its bounds, a string empty, long, Arabic, off its pattern or its format, an
    extra property."""
    for path, value in _leaves(instance):
        if isinstance(value, dict):
            for key in value:
                yield _without(instance, path, key)
            yield _replaced(instance, path, {**value, "unexpected": ARABIC})
        for wrong in WRONG_TYPES:
            yield _replaced(instance, path, wrong)
        if isinstance(value, str):
            for bad in (*BAD_STRINGS, value + "!", value + "\n", value + ARABIC, value[:-1]):
                yield _replaced(instance, path, bad)
        if isinstance(value, list) and value:
            yield _replaced(instance, path, value[:-1])
            yield _replaced(instance, path, value + value)


def _ends_a_string_in_newline(instance: Any) -> bool:
    return any(isinstance(v, str) and v.endswith("\n") for _, v in _leaves(instance))


def test_every_json_schema_in_contracts_is_tried() -> None:
    assert len(NAMES) == len(list(CONTRACTS_DIR.glob("*/*/*.json")))


@pytest.mark.parametrize("name", NAMES)
def test_both_compile_it_and_accept_its_seeds(name: str) -> None:
    tried = checked(name)
    assert tried.seeds
    for seed in tried.seeds:
        assert tried.validator.reference.is_valid(seed)
        assert tried.fast.is_valid(seed)


@pytest.mark.parametrize("name", NAMES)
def test_the_fast_verdict_agrees_with_the_reference_on_mutations(name: str) -> None:
    checked_ = checked(name)
    stricter: list[Any] = []
    tried = 0
    for seed in checked_.seeds:
        for instance in mutations(seed):
            tried += 1
            reference = checked_.validator.reference.is_valid(instance)
            fast = checked_.fast.is_valid(instance)
            assert not (fast and not reference), (
                f"fast accepts what the reference refuses: {instance!r}"
            )
            if reference and not fast:
                stricter.append(instance)
            assert checked_.validator.is_valid(instance) == reference
    assert tried > 20
    # The only way the fast one may be stricter: `$` before a trailing newline.
    assert all(_ends_a_string_in_newline(i) for i in stricter), stricter[:3]


def test_the_errors_are_the_references_word_for_word() -> None:
    for contract in REGISTRY:
        validator = REGISTRY.validator(contract.id)
        for instance in mutations(contract.examples[0]):
            ours = sorted(e.message for e in validator.iter_errors(instance))
            theirs = sorted(e.message for e in validator.reference.iter_errors(instance))
            assert ours == theirs, (contract.id, instance)


def _format_disagreements(fast_for: Any) -> list[tuple[str, Any]]:
    checker = FormatChecker()
    found = []
    for name in sorted({*DRAFT_2020_12_FORMATS, *checker.checkers}):
        fast = fast_for({"format": name})
        for probe in FORMAT_PROBES:
            if fast.is_valid(probe) != checker.conforms(probe, name):
                found.append((name, probe))
    return found


def test_each_format_is_checked_alike_by_both() -> None:
    def ours(schema: dict[str, Any]) -> jsonschema_rs.Validator:
        fast = Validators().get("probe", lambda: schema).fast
        assert fast is not None
        return fast

    assert _format_disagreements(ours) == []


def test_the_format_probes_catch_a_format_checked_by_one_side_only() -> None:
    """jsonschema-rs left to its own format checks checks uri, hostname and duration, which
    the reference does not, and accepts a leap second the reference refuses."""

    def plain(schema: dict[str, Any]) -> jsonschema_rs.Validator:
        return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)

    found = {name for name, _ in _format_disagreements(plain)}
    assert {"uri", "hostname", "duration", "date-time"} <= found
