"""ROP <-> canonical mapping and the simulator's data set, with no server and no zeep."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from connectors import world
from connectors.rop import data, violations
from connectors.rop.mapping import (
    civil_defence_certificate_request,
    civil_defence_certificate_response,
    parking_violation_settled_request,
    parking_violation_settled_response,
    vehicle_inquiry_request,
    vehicle_inquiry_response,
)
from hub.contracts.registry import ContractRegistry
from hub.errors import ContractViolation

RESPONSE = "urn:muscat-hub:canonical:vehicle-inquiry-response:1.0"
TODAY = date(2026, 3, 1)


@pytest.fixture(scope="module")
def registry() -> ContractRegistry:
    return ContractRegistry.load()


def zeep_reply(vehicle: data.Vehicle) -> dict[str, Any]:
    """What `serialize_object` makes of a VehicleInquiryResponse: dates as date objects."""
    owner = vehicle.owner
    return {
        "Found": True,
        "Vehicle": {
            "PlateNumber": vehicle.plate_number,
            "PlateCode": vehicle.plate_code,
            "Make": vehicle.make,
            "Model": vehicle.model,
            "Year": vehicle.year,
            "ColourEn": vehicle.colour_en,
            "ColourAr": vehicle.colour_ar,
            "RegistrationExpiry": vehicle.registration_expiry,
            "Owner": {
                "CivilId": owner.civil_id,
                "NameEn": owner.name_en,
                "NameAr": owner.name_ar,
                "Phone": owner.phone,
            },
        },
    }


def test_request_maps_to_operation_keywords() -> None:
    assert vehicle_inquiry_request({"plate_number": "12345", "plate_code": "AB"}) == {
        "PlateNumber": "12345",
        "PlateCode": "AB",
    }


def test_found_reply_maps_to_the_canonical_example(registry: ContractRegistry) -> None:
    example = registry.get(RESPONSE).examples[1]
    vehicle = data.find_vehicle(*data.EXAMPLE_PLATE, today=TODAY)
    assert vehicle is not None
    reply = zeep_reply(vehicle)
    reply["Vehicle"]["RegistrationExpiry"] = date(2027, 3, 14)
    assert vehicle_inquiry_response(reply) == example


def test_dates_given_as_text_stay_iso() -> None:
    reply = zeep_reply(data.vehicles(today=TODAY)[0])
    reply["Vehicle"]["RegistrationExpiry"] = "2027-03-14"
    assert vehicle_inquiry_response(reply)["vehicle"]["registration_expiry"] == "2027-03-14"


def test_absent_optional_fields_are_left_out(registry: ContractRegistry) -> None:
    reply = zeep_reply(data.vehicles(today=TODAY)[0])
    reply["Vehicle"]["Owner"]["Phone"] = None
    reply["Vehicle"]["Make"] = None
    canonical = vehicle_inquiry_response(reply)
    assert "phone" not in canonical["vehicle"]["owner"] and "make" not in canonical["vehicle"]
    registry.validate(RESPONSE, canonical)


@pytest.mark.parametrize("reply", [{"Found": False}, {"Found": False, "Vehicle": None}])
def test_not_found_is_found_false_only(reply: dict[str, Any]) -> None:
    assert vehicle_inquiry_response(reply) == {"found": False}


def test_found_without_vehicle_is_left_for_the_contract_check(registry: ContractRegistry) -> None:
    canonical = vehicle_inquiry_response({"Found": True, "Vehicle": None})
    assert canonical == {"found": True}
    with pytest.raises(ContractViolation):
        registry.validate(RESPONSE, canonical)


def test_every_simulated_vehicle_maps_to_a_valid_canonical_reply(
    registry: ContractRegistry,
) -> None:
    for vehicle in data.vehicles(seed=0, today=TODAY):
        registry.validate(RESPONSE, vehicle_inquiry_response(zeep_reply(vehicle)))


def test_data_set_is_deterministic_for_a_seed() -> None:
    assert data.vehicles(seed=3, today=TODAY) == data.vehicles(seed=3, today=TODAY)
    assert data.vehicles(seed=3, today=TODAY) != data.vehicles(seed=4, today=TODAY)


def test_data_set_has_valid_and_lapsed_vehicles_relative_to_today() -> None:
    vehicles = data.vehicles(today=TODAY)
    lapsed = data.lapsed_vehicles(today=TODAY)
    assert len(vehicles) == data.VEHICLE_COUNT
    assert len({(v.plate_number, v.plate_code) for v in vehicles}) == len(vehicles)
    assert len(lapsed) == data.LAPSED_COUNT
    assert all(v.registration_expiry < TODAY for v in lapsed)
    assert all(v.registration_expiry > TODAY for v in data.valid_vehicles(today=TODAY))
    later = date(2030, 1, 1)
    assert len(data.valid_vehicles(today=later)) == len(data.valid_vehicles(today=TODAY))


def test_names_are_bilingual_and_ids_omani() -> None:
    for vehicle in data.vehicles(today=TODAY):
        owner = vehicle.owner
        assert len(owner.civil_id) == 8 and owner.civil_id.isdigit()
        assert " bin " in owner.name_en or " bint " in owner.name_en
        assert " بن " in owner.name_ar or " بنت " in owner.name_ar
        assert owner.phone is None or (owner.phone.startswith("+9689") and len(owner.phone) == 12)


def test_unknown_plates_are_unknown_and_well_formed() -> None:
    plates = data.unknown_plates(20)
    assert plates == data.unknown_plates(20) and len(set(plates)) == 20
    for number, code in plates:
        assert data.find_vehicle(number, code) is None
        assert number.isdigit() and len(number) <= 5 and code.isalpha() and code.isupper()


CERTIFICATE = "urn:muscat-hub:canonical:civil-defence-certificate-response:1.0"
SETTLED_REQUEST = "urn:muscat-hub:canonical:parking-violation-settled-request:1.0"
SETTLED = "urn:muscat-hub:canonical:parking-violation-settled-response:1.0"


def test_certificate_reply_maps_to_the_canonical_example(registry: ContractRegistry) -> None:
    reply = {
        "Found": True,
        "Certificate": {
            "CertificateNumber": "CD-MCT-00123",
            "PremisesId": "MCT-PR-00123",
            "IssuedOn": date(2026, 9, 25),
            "ValidUntil": date(2027, 9, 25),
        },
    }
    assert civil_defence_certificate_response(reply) == registry.get(CERTIFICATE).examples[1]
    reply["Certificate"]["IssuedOn"] = None
    canonical = civil_defence_certificate_response(reply)
    assert "issued_on" not in canonical["certificate"]
    registry.validate(CERTIFICATE, canonical)


def test_certificate_not_found_and_found_without_one() -> None:
    assert civil_defence_certificate_response({"Found": False}) == {"found": False}
    assert civil_defence_certificate_response({"Found": True}) == {"found": True}
    assert civil_defence_certificate_request({"premises_id": "MCT-PR-00123"}) == {
        "PremisesId": "MCT-PR-00123"
    }


def test_settlement_request_keeps_the_amount_exact(registry: ContractRegistry) -> None:
    example = registry.get(SETTLED_REQUEST).examples[0]
    keywords = parking_violation_settled_request(example)
    assert keywords["AmountOmr"] == Decimal("15.000") and str(keywords["AmountOmr"]) == "15.000"
    assert keywords["ViolationNumber"] == "PV-2026-004512"


def test_settlement_reply_maps_to_the_canonical_example(registry: ContractRegistry) -> None:
    reply = {
        "Found": True,
        "SettlementReference": "ROP-STL-000001",
        "SettledAt": datetime(2026, 11, 29, 8, 15, 2, tzinfo=UTC),
    }
    assert parking_violation_settled_response(reply) == registry.get(SETTLED).examples[1]
    assert parking_violation_settled_response({"Found": False}) == {"found": False}


def test_the_violation_book_is_fixed_for_a_seed_and_names_registered_plates() -> None:
    book = violations.violations()
    assert book == violations.violations() and book != violations.violations(seed=1)
    assert len(book) == violations.VIOLATION_COUNT
    assert len({v.violation_no for v in book}) == len(book)
    assert book[0] == violations.Violation("PV-2026-004512", "12345", "AB", "15.000")
    for violation in book:
        assert data.find_vehicle(violation.plate_number, violation.plate_code) is not None
        assert Decimal(violation.amount_omr) > 0
    for number in violations.unknown_violation_numbers(5):
        assert violations.find_violation(number) is None


def test_every_request_example_names_data_the_simulator_holds(registry: ContractRegistry) -> None:
    """The conformance suite runs the request examples against the simulator."""
    [settled] = registry.get(SETTLED_REQUEST).examples
    violation = violations.find_violation(settled["violation_no"])
    assert violation is not None and violation.amount_omr == settled["amount_omr"]
    request = "urn:muscat-hub:canonical:civil-defence-certificate-request:1.0"
    for example in registry.get(request).examples:
        assert world.by_premises(example["premises_id"]) is not None
