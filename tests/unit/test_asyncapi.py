"""contracts/asyncapi.yaml describes exactly the queue interface the hub implements."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from contracts import CONTRACTS_DIR
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
        payload = Path(CONTRACTS_DIR, message["payload"]["$ref"]).resolve()
        assert payload == contract.path
        assert message["x-dataschema"] == contract.id


def test_every_event_contract_appears_in_the_document() -> None:
    named = {m["name"] for m in load()["components"]["messages"].values()}
    events = {c.name for c in ContractRegistry.load() if c.kind == "events"}
    assert events == named
