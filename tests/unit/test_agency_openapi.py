"""The REST agencies' contracts: each OpenAPI 3.1 document is valid with its `$ref`s resolved,
its reply schemas are valid JSON Schema 2020-12, and it describes the paths the clients call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from contracts import CONTRACTS_DIR

AGENCIES = {
    "moci": "/api/v1/commercial-registrations/{crNumber}",
    "occi": "/v1/memberships",
    "labour": "/api/labour/v1/establishments/{cr_number}/standing",
}


def document(agency: str) -> tuple[Path, dict[str, Any]]:
    path = CONTRACTS_DIR / "agencies" / agency / "openapi.yaml"
    return path, yaml.safe_load(path.read_text(encoding="utf-8"))


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in refs(item)]
    return []


@pytest.mark.parametrize("agency", sorted(AGENCIES))
def test_the_openapi_document_is_valid_3_1(agency: str) -> None:
    path, spec = document(agency)
    assert spec["openapi"].startswith("3.1")
    validate(spec, base_uri=path.as_uri())


@pytest.mark.parametrize("agency", sorted(AGENCIES))
def test_it_describes_the_call_the_client_makes_and_its_replies(agency: str) -> None:
    path, spec = document(agency)
    operation = spec["paths"][AGENCIES[agency]]["get"]
    assert {"200", "404", "429", "500"} <= set(operation["responses"])
    files = {r for r in refs(spec) if not r.startswith("#")}
    assert files, "the reply schemas are referred to, not copied"
    for ref in files:
        assert (path.parent / ref).is_file(), ref


@pytest.mark.parametrize("agency", sorted(AGENCIES))
def test_every_reply_schema_is_valid_json_schema(agency: str) -> None:
    schemas = sorted((CONTRACTS_DIR / "agencies" / agency).glob("*.schema.json"))
    assert {p.name for p in schemas} >= {"error.schema.json", "not-found.schema.json"}
    for path in schemas:
        Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))
