import pytest

from hub.contracts.registry import ContractRegistry, UnknownContract
from hub.errors import ContractViolation

REQUESTED = "urn:muscat-hub:events:permit.parking.requested:1.0"


@pytest.fixture(scope="module")
def registry() -> ContractRegistry:
    return ContractRegistry.load()


def test_every_example_satisfies_its_contract(registry: ContractRegistry) -> None:
    contracts = list(registry)
    assert len(contracts) >= 5
    for contract in contracts:
        assert contract.examples, f"{contract.id} has no example"
        for example in contract.examples:
            registry.validate(contract.id, example)


def test_field_level_errors_name_each_field(registry: ContractRegistry) -> None:
    example = dict(registry.get(REQUESTED).examples[0])
    del example["civil_id"]
    example["months"] = 5
    example["plate"] = {"number": "12A45", "code": "AB"}
    example["unexpected"] = True
    fields = {e.field for e in registry.errors(REQUESTED, example)}
    assert fields == {"civil_id", "months", "plate.number", "unexpected"}


def test_validate_raises_contract_violation(registry: ContractRegistry) -> None:
    with pytest.raises(ContractViolation) as caught:
        registry.validate(REQUESTED, {})
    assert "application_no" in {e.field for e in caught.value.errors}


def test_inbound_without_dataschema_gets_newest_contract(registry: ContractRegistry) -> None:
    assert registry.for_event("permit.parking.requested", None).id == REQUESTED


def test_dataschema_of_another_type_is_refused(registry: ContractRegistry) -> None:
    with pytest.raises(UnknownContract):
        registry.for_event(
            "permit.parking.requested", "urn:muscat-hub:events:hub.message.rejected:1.0"
        )


def test_unknown_type_has_no_contract(registry: ContractRegistry) -> None:
    with pytest.raises(UnknownContract):
        registry.for_event("permit.unknown", None)


def test_validators_are_compiled_once(registry: ContractRegistry) -> None:
    assert registry.validator(REQUESTED) is registry.validator(REQUESTED)


def test_format_date_is_enforced(registry: ContractRegistry) -> None:
    completed = "urn:muscat-hub:events:permit.parking.completed:1.0"
    example = dict(registry.get(completed).examples[0])
    example["valid_until"] = "2027-02-30"
    assert [e.field for e in registry.errors(completed, example)] == ["valid_until"]
