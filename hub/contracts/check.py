"""Check every contract under a contracts directory: what `hub contracts check` and `list` run.

Four promises are checked, each problem reported as one line naming the contract: every JSON
Schema is valid against its meta-schema (Draft 2020-12 for the hub's own contracts); every
example satisfies its contract; every WSDL and XSD parses, every XSD compiles and every WSDL
loads in zeep with nothing dangling; and no version breaks the one before it within a major
(the rules are in `breaking_changes`). The root is a parameter so a copy can be checked.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for
from lxml import etree
from referencing.exceptions import Unresolvable
from zeep import Settings
from zeep.transports import Transport
from zeep.wsdl import Document

from contracts import CONTRACTS_DIR
from hub.contracts.compatibility import breaking_changes
from hub.contracts.registry import SCHEMA_KINDS, Contract, ContractRegistry, contract_id
from hub.soap import hardened_parser

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
AGENCY_KINDS = ("agencies", "partners")
_VERSION_FILE = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")

__all__ = ["ContractEntry", "Problem", "breaking_changes", "check_contracts", "list_contracts"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one contract; `subject` is its id, or its path under the root."""

    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}"


@dataclass(frozen=True)
class ContractEntry:
    """One row of `hub contracts list`; agency documents have no version id or examples."""

    kind: str
    name: str
    version: str
    id: str
    examples: int | None


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _load(root: Path) -> tuple[list[Contract], list[Problem]]:
    """Every versioned JSON Schema contract that can be read, and why the others cannot."""
    contracts: list[Contract] = []
    problems: list[Problem] = []
    for kind in SCHEMA_KINDS:
        for path in sorted((root / kind).glob("*/*.json")):
            where = _relative(path, root)
            match = _VERSION_FILE.match(path.stem)
            if match is None:
                problems.append(Problem(where, "file name must be <major>.<minor>.json"))
                continue
            try:
                schema = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                problems.append(Problem(where, f"not readable JSON: {exc}"))
                continue
            expected = contract_id(kind, path.parent.name, path.stem)
            if not isinstance(schema, dict):
                problems.append(Problem(where, "a contract must be a JSON object"))
            elif schema.get("$id") != expected:
                found = schema.get("$id")
                problems.append(Problem(where, f"$id must be {expected!r}, found {found!r}"))
            else:
                major, minor = int(match[1]), int(match[2])
                name = path.parent.name
                contracts.append(Contract(expected, kind, name, major, minor, schema, path))
    return contracts, problems


def _schema_errors(schema: Any, default: type[Any] = Draft202012Validator) -> list[str]:
    """Every way `schema` breaks the meta-schema it declares (or Draft 2020-12)."""
    validator_class = validator_for(schema, default=default)
    meta = validator_class(
        validator_class.META_SCHEMA, format_checker=validator_class.FORMAT_CHECKER
    )
    errors = []
    for error in meta.iter_errors(schema):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        errors.append(f"not a valid JSON Schema at {where}: {error.message}")
    return errors


def _check_schemas(contracts: list[Contract]) -> Iterator[Problem]:
    for contract in contracts:
        declared = contract.schema.get("$schema")
        if declared != DRAFT_2020_12:
            yield Problem(contract.id, f"$schema must be {DRAFT_2020_12!r}, found {declared!r}")
            continue
        for message in _schema_errors(contract.schema):
            yield Problem(contract.id, message)


def _check_examples(contracts: list[Contract]) -> Iterator[Problem]:
    registry = ContractRegistry(contracts)
    for contract in contracts:
        examples = contract.schema.get("examples")
        if not isinstance(examples, list) or not examples:
            yield Problem(contract.id, "has no examples (a non-empty 'examples' list)")
            continue
        for index, example in enumerate(examples):
            try:
                errors = registry.errors(contract.id, example)
            except (Unresolvable, SchemaError) as exc:
                yield Problem(contract.id, f"example {index} cannot be checked: {exc}")
                continue
            for error in errors:
                yield Problem(contract.id, f"example {index}: {error.field}: {error.message}")


def _check_compatibility(contracts: list[Contract]) -> Iterator[Problem]:
    """Each version against the one before it, when both share a major version."""
    ordered = sorted(contracts, key=lambda c: (c.kind, c.name, c.major, c.minor))
    for before, after in zip(ordered, ordered[1:], strict=False):
        if (before.kind, before.name, before.major) != (after.kind, after.name, after.major):
            continue
        for change in breaking_changes(before.schema, after.schema):
            yield Problem(after.id, f"breaking change from {before.version}: {change}")


class _LocalOnly(Transport):
    """zeep transport that reads files only: a contract must not depend on a remote document."""

    def _load_remote_data(self, url: str) -> bytes:
        if url.startswith("file://"):
            return Path(url.removeprefix("file://")).read_bytes()
        raise ValueError(f"refers to a remote document {url}; contracts must be self-contained")


_ZEEP_SETTINGS = Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)


def _wsdl_errors(path: Path) -> list[str]:
    """zeep loads the WSDL as a client would; what it only warns about is a problem here too."""
    errors = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # zeep annotates `transport` as a class though it wants an instance.
            Document(str(path), _LocalOnly(), settings=_ZEEP_SETTINGS)  # type: ignore[arg-type,no-untyped-call]
        except Exception as exc:  # zeep raises many unrelated types; each is a finding here
            errors.append(f"zeep cannot load it: {exc}")
    return errors + [f"zeep: {warning.message}" for warning in caught]


def _check_agency_documents(root: Path) -> Iterator[Problem]:
    """WSDL and XSD parse and compile; agency JSON Schemas are valid against their meta-schema."""
    for kind in AGENCY_KINDS:
        for path in sorted((root / kind).rglob("*")):
            where = _relative(path, root)
            if path.suffix == ".json":
                try:
                    schema = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                    yield Problem(where, f"not readable JSON: {exc}")
                    continue
                for message in _schema_errors(schema):
                    yield Problem(where, message)
            if path.suffix not in (".wsdl", ".xsd"):
                continue
            try:
                document = etree.parse(str(path), hardened_parser())
            except (OSError, etree.XMLSyntaxError) as exc:
                yield Problem(where, f"not well-formed XML: {exc}")
                continue
            if path.suffix == ".xsd":
                try:
                    etree.XMLSchema(document)
                except etree.XMLSchemaParseError as exc:
                    yield Problem(where, f"XSD does not compile: {exc}")
            else:
                for message in _wsdl_errors(path):
                    yield Problem(where, message)


def check_contracts(root: Path = CONTRACTS_DIR) -> list[Problem]:
    """Every problem with the contracts under `root`; an empty list means all is well."""
    contracts, problems = _load(root)
    schema_problems = list(_check_schemas(contracts))
    broken = {p.subject for p in schema_problems}
    sound = [c for c in contracts if c.id not in broken]
    problems += schema_problems
    problems += _check_examples(sound)
    problems += _check_compatibility(sound)
    problems += _check_agency_documents(root)
    return problems


def list_contracts(root: Path = CONTRACTS_DIR) -> tuple[list[ContractEntry], int]:
    """Every contract under `root` as a listing row, and how many files could not be read."""
    contracts, problems = _load(root)
    rows = [
        ContractEntry(c.kind, c.name, c.version, c.id, len(c.examples))
        for c in sorted(contracts, key=lambda c: (c.kind, c.name, c.major, c.minor))
    ]
    for kind in AGENCY_KINDS:
        for path in sorted((root / kind).rglob("*")):
            if path.suffix in (".wsdl", ".xsd", ".json", ".yaml"):
                name = path.parent.name if kind == "agencies" else path.stem
                rows.append(ContractEntry(kind, name, "-", _relative(path, root), None))
    return rows, len(problems)
