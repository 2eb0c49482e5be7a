"""ROP <-> canonical mapping and the simulator's data set, with no server and no zeep."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from connectors.rop import data
from connectors.rop.mapping import vehicle_inquiry_request, vehicle_inquiry_response
from hub.contracts import ContractRegistry
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
