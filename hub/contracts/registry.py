"""Load every JSON Schema contract once, index it, and validate with compiled, cached validators.

A contract file lives at `contracts/<kind>/<name>/<major>.<minor>.json` and carries the `$id`
`urn:muscat-hub:<kind>:<name>:<major>.<minor>` and its own `examples`.

`Validators` is the hub's one way to compile a JSON Schema (draft 2020-12, formats checked,
each compiled once and kept, jsonschema-rs answering "valid?" ahead of jsonschema): the
registry's contracts use it, and so do schema files outside the registry (an agency's native
replies), through `schema_file_validator` in `hub.plugin`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from contracts import CONTRACTS_DIR
from hub.contracts.fast_check import (
    CheckedValidator,
    compile_fast,
    fast_registry,
    formats_checked_like,
)
from hub.errors import ContractViolation, FieldError, HubError

ID_PREFIX = "urn:muscat-hub:"
SCHEMA_KINDS = ("events", "canonical")


class UnknownContract(HubError):
    """No contract has this id, or none exists for this message type."""


@dataclass(frozen=True)
class Contract:
    """One versioned schema file."""

    id: str
    kind: str
    name: str
    major: int
    minor: int
    schema: dict[str, Any] = field(repr=False)
    path: Path

    @property
    def version(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def examples(self) -> list[Any]:
        return list(self.schema.get("examples", []))


def contract_id(kind: str, name: str, version: str) -> str:
    return f"{ID_PREFIX}{kind}:{name}:{version}"


def _read_contract(path: Path, kind: str) -> Contract:
    schema = json.loads(path.read_text(encoding="utf-8"))
    name = path.parent.name
    major, _, minor = path.stem.partition(".")
    expected = contract_id(kind, name, path.stem)
    if schema.get("$id") != expected:
        raise HubError(f"{path}: $id must be {expected!r}, found {schema.get('$id')!r}")
    return Contract(expected, kind, name, int(major), int(minor or 0), schema, path)


def _field_errors(error: ValidationError) -> Iterator[FieldError]:
    """Turn one jsonschema error into one line per failing field, with a dotted path."""
    base = ".".join(str(p) for p in error.absolute_path)
    prefix = f"{base}." if base else ""
    required = error.validator_value
    if error.validator == "required" and isinstance(error.instance, dict):
        for name in required if isinstance(required, list) else []:
            if name not in error.instance:
                yield FieldError(f"{prefix}{name}", "is required")
        return
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        allowed = set(schema.get("properties", {}))
        for name in error.instance:
            if name not in allowed:
                yield FieldError(f"{prefix}{name}", "is not allowed here")
        return
    yield FieldError(base or "(root)", error.message)


class Validators:
    """Compiled validators by key, each compiled on first use and then reused (they keep no
    state between calls); a `$ref` resolves to one of `resources` (uri, schema). Each schema
    is compiled twice: jsonschema-rs answers "valid?" fast, and jsonschema, the reference,
    decides the rest and writes the errors (`hub.contracts.fast_check`)."""

    def __init__(self, resources: Iterable[tuple[str, dict[str, Any]]] = ()) -> None:
        kept = list(resources)
        self._registry: Registry[Any] = Registry().with_resources(
            (uri, Resource.from_contents(schema, default_specification=DRAFT202012))
            for uri, schema in kept
        )
        self._fast_registry = fast_registry(kept)
        self._compiled: dict[str, CheckedValidator] = {}
        self._format_checker = FormatChecker()
        self._fast_formats = formats_checked_like(self._format_checker)

    def get(self, key: str, schema: Callable[[], Mapping[str, Any]]) -> CheckedValidator:
        """The validator kept under `key`, compiled from `schema()` the first time."""
        validator = self._compiled.get(key)
        if validator is None:
            contents = schema()
            reference = Draft202012Validator(
                contents, registry=self._registry, format_checker=self._format_checker
            )
            fast = compile_fast(contents, self._fast_registry, self._fast_formats)
            validator = CheckedValidator(reference, fast)
            self._compiled[key] = validator
        return validator


_SCHEMA_FILES = Validators()


def schema_file_validator(path: Path) -> CheckedValidator:
    """The validator of a JSON Schema file outside the registry, compiled once per process;
    a file that is not a valid draft 2020-12 schema raises `SchemaError` on first use."""

    def read() -> Mapping[str, Any]:
        schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        return schema

    return _SCHEMA_FILES.get(str(path.resolve()), read)


class ContractRegistry:
    """Every contract, indexed by id and by (kind, name); validators compiled once and reused."""

    def __init__(self, contracts: Iterable[Contract]) -> None:
        self._by_id: dict[str, Contract] = {}
        for contract in contracts:
            if contract.id in self._by_id:
                raise HubError(f"duplicate contract id {contract.id}")
            self._by_id[contract.id] = contract
        self._validators = Validators((c.id, c.schema) for c in self._by_id.values())

    @classmethod
    def load(cls, root: Path = CONTRACTS_DIR) -> ContractRegistry:
        contracts = [
            _read_contract(path, kind)
            for kind in SCHEMA_KINDS
            for path in sorted((root / kind).glob("*/*.json"))
        ]
        return cls(contracts)

    def __iter__(self) -> Iterator[Contract]:
        return iter(sorted(self._by_id.values(), key=lambda c: (c.kind, c.name, c.major, c.minor)))

    def get(self, contract_id_: str) -> Contract:
        try:
            return self._by_id[contract_id_]
        except KeyError:
            raise UnknownContract(f"no contract with id {contract_id_!r}") from None

    def versions(self, name: str, kind: str = "events") -> list[Contract]:
        found = [c for c in self._by_id.values() if c.kind == kind and c.name == name]
        return sorted(found, key=lambda c: (c.major, c.minor))

    def latest(self, name: str, kind: str = "events", major: int | None = None) -> Contract:
        """Newest contract of `name`; within `major` when given, else of the newest major."""
        found = self.versions(name, kind)
        if major is not None:
            found = [c for c in found if c.major == major]
        if not found:
            raise UnknownContract(f"no {kind} contract named {name!r}")
        return found[-1]

    def for_event(self, type_: str, dataschema: str | None) -> Contract:
        """The contract an inbound event is checked against: the named one, or the newest."""
        if dataschema is None:
            return self.latest(type_)
        contract = self.get(dataschema)
        if contract.kind != "events" or contract.name != type_:
            raise UnknownContract(f"dataschema {dataschema!r} is not a contract of {type_!r}")
        return contract

    def validator(self, contract_id_: str) -> CheckedValidator:
        return self._validators.get(contract_id_, lambda: self.get(contract_id_).schema)

    def errors(self, contract_id_: str, instance: Any) -> list[FieldError]:
        found = sorted(
            self.validator(contract_id_).iter_errors(instance),
            key=lambda e: [str(p) for p in e.absolute_path],
        )
        # jsonschema reports each missing property separately; keep one line per field.
        return list(dict.fromkeys(fe for error in found for fe in _field_errors(error)))

    def validate(self, contract_id_: str, instance: Any) -> None:
        """Raise `ContractViolation` naming each failing field, or return quietly."""
        errors = self.errors(contract_id_, instance)
        if errors:
            raise ContractViolation(contract_id_, errors)
