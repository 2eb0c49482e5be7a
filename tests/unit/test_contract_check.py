"""The compatibility rules of `hub contracts check` on small in-memory schemas, and the whole
check on small contract directories written to a temporary folder."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from contracts import CONTRACTS_DIR
from hub.contracts.check import DRAFT_2020_12, check_contracts, list_contracts
from hub.contracts.compatibility import breaking_changes

BASE: dict[str, Any] = {
    "type": "object",
    "required": ["account_no"],
    "properties": {
        "account_no": {"type": "string"},
        "status": {"type": "string", "enum": ["active", "disconnected"]},
        "arrears": {"type": "number", "minimum": 0},
        "holder": {
            "type": "object",
            "properties": {"name_en": {"type": "string"}, "name_ar": {"type": "string"}},
        },
        "meters": {"type": "array", "items": {"type": "string", "maxLength": 20}},
    },
}


def changed(**edits: Any) -> dict[str, Any]:
    """A deep copy of BASE with `edits` applied at `__`-separated key paths (None deletes)."""
    schema = copy.deepcopy(BASE)
    for path, value in edits.items():
        *parents, leaf = path.split("__")
        node = schema
        for key in parents:
            node = node[key]
        if value is None:
            del node[leaf]
        else:
            node[leaf] = value
    return schema


def test_identical_schemas_have_no_breaking_change() -> None:
    assert breaking_changes(BASE, copy.deepcopy(BASE)) == []


@pytest.mark.parametrize(
    "new",
    [
        changed(properties__phone={"type": "string"}),
        changed(properties__status__enum=["active", "disconnected", "closed"]),
        changed(properties__arrears__minimum=None),
        changed(properties__arrears__type=["number", "string"]),
        changed(properties__meters__items__maxLength=40),
        changed(required=[]),
        changed(properties__status__description="what the company says", title="Standing"),
    ],
    ids=[
        "optional-property-added",
        "enum-value-added",
        "bound-removed",
        "type-widened",
        "upper-bound-raised",
        "requirement-dropped",
        "annotations-only",
    ],
)
def test_widening_is_not_breaking(new: dict[str, Any]) -> None:
    assert breaking_changes(BASE, new) == []


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (changed(properties__status=None), "status: property removed"),
        (changed(properties__holder__properties__name_ar=None), "holder.name_ar: property removed"),
        (changed(required=["account_no", "status"]), "status: newly required"),
        (changed(properties__arrears__type="integer"), "arrears: type narrowed"),
        (changed(properties__account_no__type=["integer"]), "account_no: type narrowed"),
        (changed(properties__status__enum=["active"]), "enum value(s) ['disconnected'] removed"),
        (changed(properties__account_no__enum=["1"]), "account_no: enum ['1'] added"),
        (changed(additionalProperties=False), "(root): additionalProperties closed"),
        (
            changed(properties__holder__additionalProperties=False),
            "holder: additionalProperties closed",
        ),
        (changed(properties__account_no__pattern="^[0-9]{10}$"), "pattern '^[0-9]{10}$' added"),
        (changed(properties__account_no__format="date"), "account_no: format 'date' added"),
        (changed(properties__arrears__minimum=1), "arrears: minimum raised to 1"),
        (changed(properties__meters__items__maxLength=10), "meters.[]: maxLength lowered to 10"),
        (changed(properties__account_no__const="x"), "account_no: 'const' added"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_narrowing_is_breaking(new: dict[str, Any], expected: str) -> None:
    found = breaking_changes(BASE, new)
    assert len(found) == 1 and expected in found[0], found


def test_a_changed_pattern_is_breaking_even_when_it_was_there_before() -> None:
    old = changed(properties__account_no__pattern="^[0-9]+$")
    new = changed(properties__account_no__pattern="^[0-9]{10}$")
    assert breaking_changes(old, new) == [
        "account_no: pattern changed from '^[0-9]+$' to '^[0-9]{10}$'"
    ]
    assert breaking_changes(new, old) != []  # the checker cannot prove the reverse either


def test_every_break_is_reported_not_only_the_first() -> None:
    new = changed(properties__status=None, required=["account_no", "arrears"])
    assert breaking_changes(BASE, new) == ["status: property removed", "arrears: newly required"]


def write_contract(root: Path, name: str, version: str, schema: dict[str, Any]) -> Path:
    path = root / "canonical" / name / f"{version}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "$schema": DRAFT_2020_12,
        "$id": f"urn:muscat-hub:canonical:{name}:{version}",
        **schema,
    }
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_the_shipped_contracts_have_no_problems() -> None:
    assert [str(p) for p in check_contracts(CONTRACTS_DIR)] == []


def test_a_good_minor_version_passes_and_a_breaking_one_is_named(tmp_path: Path) -> None:
    write_contract(tmp_path, "standing", "1.0", {**BASE, "examples": [{"account_no": "1"}]})
    write_contract(
        tmp_path,
        "standing",
        "1.1",
        {**changed(properties__phone={"type": "string"}), "examples": [{"account_no": "1"}]},
    )
    assert check_contracts(tmp_path) == []
    without_status = changed(properties__phone={"type": "string"}, properties__status=None)
    write_contract(
        tmp_path, "standing", "1.2", {**without_status, "examples": [{"account_no": "1"}]}
    )
    [problem] = check_contracts(tmp_path)
    assert problem.subject == "urn:muscat-hub:canonical:standing:1.2"
    assert problem.message == "breaking change from 1.1: status: property removed"


def test_a_new_major_version_may_break(tmp_path: Path) -> None:
    write_contract(tmp_path, "standing", "1.0", {**BASE, "examples": [{"account_no": "1"}]})
    write_contract(
        tmp_path,
        "standing",
        "2.0",
        {**changed(properties__status=None), "examples": [{"account_no": "1"}]},
    )
    assert check_contracts(tmp_path) == []


def test_invalid_schemas_examples_and_ids_are_each_one_problem(tmp_path: Path) -> None:
    write_contract(tmp_path, "no-examples", "1.0", BASE)
    write_contract(tmp_path, "bad-type", "1.0", {"type": "strung", "examples": [1]})
    write_contract(tmp_path, "bad-example", "1.0", {**BASE, "examples": [{"status": "gone"}]})
    wrong_id = write_contract(tmp_path, "wrong-id", "1.0", {"examples": [1]})
    wrong_id.rename(wrong_id.with_name("1.1.json"))
    problems = sorted(str(p) for p in check_contracts(tmp_path))
    assert len(problems) == 5, problems
    assert problems[0] == (
        "canonical/wrong-id/1.1.json: $id must be 'urn:muscat-hub:canonical:wrong-id:1.1', "
        "found 'urn:muscat-hub:canonical:wrong-id:1.0'"
    )
    assert "bad-example:1.0: example 0: account_no: is required" in problems[1]
    assert "bad-example:1.0: example 0: status: 'gone' is not one of" in problems[2]
    assert "bad-type:1.0: not a valid JSON Schema at type:" in problems[3]
    assert problems[4].endswith("no-examples:1.0: has no examples (a non-empty 'examples' list)")


def test_broken_agency_documents_are_named(tmp_path: Path) -> None:
    shutil.copytree(CONTRACTS_DIR / "agencies" / "rop", tmp_path / "agencies" / "rop")
    xsd = tmp_path / "agencies" / "rop" / "rop.xsd"
    xsd.write_text(xsd.read_text().replace('type="rop:PlateCode"/>', 'type="rop:Plate"/>', 1))
    (tmp_path / "agencies" / "rop" / "extra.wsdl").write_text("<definitions>", encoding="utf-8")
    problems = [str(p) for p in check_contracts(tmp_path)]
    assert any(p.startswith("agencies/rop/rop.xsd: XSD does not compile:") for p in problems)
    assert any(p.startswith("agencies/rop/rop.wsdl: zeep cannot load it:") for p in problems)
    assert any(p.startswith("agencies/rop/extra.wsdl: not well-formed XML") for p in problems)


def test_list_counts_examples_and_names_agency_documents() -> None:
    rows, unreadable = list_contracts(CONTRACTS_DIR)
    by_id = {row.id: row for row in rows}
    assert unreadable == 0
    standing = by_id["urn:muscat-hub:canonical:electricity-account-standing-response:1.0"]
    assert (standing.kind, standing.name, standing.version) == (
        "canonical",
        "electricity-account-standing-response",
        "1.0",
    )
    assert standing.examples == 3
    wsdl = by_id["agencies/electricity/electricity.wsdl"]
    assert (wsdl.kind, wsdl.name, wsdl.examples) == ("agencies", "electricity", None)
