"""contracts/asyncapi.yaml describes exactly the queue interface the hub implements, and the
wire as it is: each payload is the whole structured-mode CloudEvent, and every complete example
message validates against what the document says (resolved from the document alone)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from contracts import CONTRACTS_DIR
from hub.contracts.envelope import parse_event
from hub.contracts.registry import ContractRegistry
from hub.flows import default_flows
from hub.pipeline import REJECTED_TYPE


def load() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((CONTRACTS_DIR / "asyncapi.yaml").read_text())
    return document


def channel_types(document: dict[str, Any], channel: str) -> set[str]:
    messages = document["channels"][channel]["messages"]
    components = document["components"]["messages"]
    return {components[ref["$ref"].rsplit("/", 1)[1]]["name"] for ref in messages.values()}


def test_inbound_channel_lists_exactly_the_types_the_hub_handles() -> None:
    assert channel_types(load(), "municipalIn") == set(default_flows().types)


def test_outbound_channel_lists_exactly_the_results_the_hub_emits() -> None:
    flows = default_flows()
    emitted = {result for t in flows.types for result in flows.for_type(t).results}
    assert channel_types(load(), "municipalOut") == emitted | {REJECTED_TYPE}


def test_every_payload_is_the_newest_contract_of_its_type() -> None:
    document = load()
    registry = ContractRegistry.load()
    for message in document["components"]["messages"].values():
        contract = registry.latest(message["name"])
        data_schema = message["payload"]["schema"]["allOf"][1]["properties"]["data"]
        payload = Path(CONTRACTS_DIR, data_schema["$ref"]).resolve()
        assert payload == contract.path
        assert message["x-dataschema"] == contract.id


def test_every_event_contract_appears_in_the_document() -> None:
    named = {m["name"] for m in load()["components"]["messages"].values()}
    events = {c.name for c in ContractRegistry.load() if c.kind == "events"}
    assert events == named


JSON_SCHEMA_2020_12 = "application/schema+json;version=draft-2020-12"
DOCUMENT_URI = (CONTRACTS_DIR / "asyncapi.yaml").as_uri()
EXAMPLES = sorted((CONTRACTS_DIR / "examples").glob("*.json"))


def _retrieve(uri: str) -> Resource[Any]:
    """A schema the document refers to, read from beside it (as an AsyncAPI parser does)."""
    assert uri.startswith("file://"), uri
    return DRAFT202012.create_resource(json.loads(Path(uri[len("file://") :]).read_text()))


def payload_validator(message: dict[str, Any]) -> Draft202012Validator:
    """The validator of one message's payload as the document declares it."""
    payload = message["payload"]
    assert payload["schemaFormat"] == JSON_SCHEMA_2020_12
    root = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": DOCUMENT_URI}
    schema = root | payload["schema"]
    registry: Registry[Any] = Registry(retrieve=_retrieve)  # type: ignore[call-arg]
    return Draft202012Validator(
        schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def messages_by_type() -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in load()["components"]["messages"].values()}


def test_every_payload_declares_json_schema_2020_12() -> None:
    for message in load()["components"]["messages"].values():
        assert message["payload"]["schemaFormat"] == JSON_SCHEMA_2020_12, message["name"]


def test_there_is_one_complete_example_file_per_message_type() -> None:
    assert {path.stem for path in EXAMPLES} == set(messages_by_type())


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_each_example_validates_against_the_document_and_decodes(path: Path) -> None:
    example = json.loads(path.read_text(encoding="utf-8"))
    message = messages_by_type()[path.stem]
    errors = [e.message for e in payload_validator(message).iter_errors(example)]
    assert errors == []
    event = parse_event(path.read_bytes())  # the hub's own envelope parser
    assert event.type == path.stem
    registry = ContractRegistry.load()
    assert event.dataschema is not None
    assert (
        list(registry.errors(registry.for_event(event.type, event.dataschema).id, event.data)) == []
    )
    assert [e["payload"] for e in message["examples"]] == [example]  # the docs show the file


def test_a_bare_data_body_does_not_conform() -> None:
    """The payload is the whole envelope: the `data` alone (binary mode's body) is not it."""
    example = json.loads((CONTRACTS_DIR / "examples" / "permit.parking.requested.json").read_text())
    validator = payload_validator(messages_by_type()["permit.parking.requested"])
    assert not validator.is_valid(example["data"])
    assert not validator.is_valid(example | {"type": "permit.parking.completed"})
    assert not validator.is_valid(example | {"data": {"application_no": "x"}})
