"""Electricity company <-> canonical mapping and the company's books, with no server and no zeep."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from connectors import world
from connectors.electricity import data
from connectors.electricity.mapping import (
    account_standing_request,
    account_standing_response,
    new_connection_request,
    new_connection_response,
)
from hub.contracts.registry import ContractRegistry
from hub.errors import ContractViolation

STANDING = "urn:muscat-hub:canonical:electricity-account-standing-response:1.0"
CONNECTION_REQUEST = "urn:muscat-hub:canonical:electricity-new-connection-request:1.0"
CONNECTION = "urn:muscat-hub:canonical:electricity-new-connection-response:1.0"
TODAY = date(2026, 3, 1)


@pytest.fixture(scope="module")
def registry() -> ContractRegistry:
    return ContractRegistry.load()


def zeep_reply(account: data.Account) -> dict[str, Any]:
    """What `serialize_object` makes of an AccountStandingResponse: Decimal money, date dates."""
    return {
        "Found": True,
        "Account": {
            "AccountNumber": account.account_no,
            "HolderNameEn": account.holder_name_en,
            "HolderNameAr": account.holder_name_ar,
            "PremisesId": account.premises_id,
            "Status": account.status,
            "ArrearsOmr": Decimal(account.arrears_omr),
            "LastPaymentDate": account.last_payment_date,
        },
    }


def test_every_account_of_the_world_maps_to_a_valid_canonical_reply(
    registry: ContractRegistry,
) -> None:
    for establishment in world.establishments(today=TODAY):
        account = data.find_account(establishment.account_no, today=TODAY)
        assert account is not None and account.premises_id == establishment.premises_id
        canonical = account_standing_response(zeep_reply(account))
        registry.validate(STANDING, canonical)
        assert canonical["account"]["arrears_omr"] == establishment.arrears_omr


def test_money_keeps_three_decimals_whatever_zeep_hands_over() -> None:
    account = data.find_account(data.EXAMPLE_ACCOUNT, today=TODAY)
    assert account is not None
    reply = zeep_reply(account)
    reply["Account"]["ArrearsOmr"] = Decimal("12.5")
    assert account_standing_response(reply)["account"]["arrears_omr"] == "12.500"
    reply["Account"]["ArrearsOmr"] = "0"
    assert account_standing_response(reply)["account"]["arrears_omr"] == "0.000"


def test_status_words_map_and_unknown_ones_are_left_for_the_contract_check(
    registry: ContractRegistry,
) -> None:
    account = data.find_account(data.EXAMPLE_ACCOUNT, today=TODAY)
    assert account is not None
    reply = zeep_reply(account)
    reply["Account"]["Status"] = "Disconnected"
    assert account_standing_response(reply)["account"]["status"] == "disconnected"
    reply["Account"]["Status"] = "Suspended"
    with pytest.raises(ContractViolation, match="account.status"):
        registry.validate(STANDING, account_standing_response(reply))


def test_no_last_payment_is_left_out(registry: ContractRegistry) -> None:
    account = data.find_account(data.EXAMPLE_ACCOUNT, today=TODAY)
    assert account is not None
    reply = zeep_reply(account)
    reply["Account"]["LastPaymentDate"] = None
    canonical = account_standing_response(reply)
    assert "last_payment_date" not in canonical["account"]
    registry.validate(STANDING, canonical)


@pytest.mark.parametrize("reply", [{"Found": False}, {"Found": False, "Account": None}])
def test_not_found_is_found_false_only(reply: dict[str, Any]) -> None:
    assert account_standing_response(reply) == {"found": False}


def test_requests_map_to_operation_keywords(registry: ContractRegistry) -> None:
    assert account_standing_request({"account_no": "3000123456"}) == {"AccountNumber": "3000123456"}
    example = registry.get(CONNECTION_REQUEST).examples[0]
    keywords = new_connection_request(example)
    assert keywords["Owner"] == {
        "CivilId": "09123456",
        "NameEn": "Salim bin Hamad Al Harthy",
        "NameAr": "سالم بن حمد الحارثي",
    }
    assert (keywords["Wilayat"], keywords["LoadKva"]) == ("Muttrah", 60)


def test_new_connection_reply_maps_to_the_canonical_example(registry: ContractRegistry) -> None:
    reply = {
        "RequestNumber": "MEDC-NC-2026-000001",
        "BuildingPermitNumber": "MCT-BP-2026-018734",
        "ExpectedConnectionDate": date(2026, 12, 20),
    }
    assert new_connection_response(reply) == registry.get(CONNECTION).examples[0]


def test_accounts_in_arrears_are_the_worlds_and_large_debts_are_disconnected() -> None:
    debtors = world.with_weakness("arrears", today=TODAY)
    assert debtors
    for establishment in debtors:
        account = data.find_account(establishment.account_no, today=TODAY)
        assert account is not None
        owed = Decimal(account.arrears_omr)
        assert owed > 0
        assert account.status == ("Disconnected" if owed > data.DISCONNECT_ABOVE_OMR else "Active")
        assert account.last_payment_date < TODAY - timedelta(days=90)
    for establishment in world.healthy(today=TODAY):
        account = data.find_account(establishment.account_no, today=TODAY)
        assert account is not None and account.status == "Active"
        assert account.last_payment_date >= TODAY - timedelta(days=35)


def test_accounts_are_the_same_for_a_seed_and_unknown_ones_are_unknown() -> None:
    assert data.find_account(data.EXAMPLE_ACCOUNT, 3, TODAY) == data.find_account(
        data.EXAMPLE_ACCOUNT, 3, TODAY
    )
    unknown = data.unknown_account_numbers(10)
    assert unknown == data.unknown_account_numbers(10) and len(set(unknown)) == 10
    assert all(data.find_account(number, today=TODAY) is None for number in unknown)
    assert all(len(number) == 10 and number.isdigit() for number in unknown)


def test_the_connection_book_files_once_per_permit() -> None:
    book = data.ConnectionBook()
    first = book.file("MCT-BP-2026-000001", "09123456", 40, TODAY)
    again = book.file("MCT-BP-2026-000001", "09123456", 40, TODAY + timedelta(days=3))
    second = book.file("MCT-BP-2026-000002", "09123456", 2000, TODAY)
    assert first is again and len(book) == 2
    assert first.request_no == "MEDC-NC-2026-000001"
    assert second.request_no == "MEDC-NC-2026-000002"
    assert first.expected_connection_date == TODAY + timedelta(days=21)
    assert second.expected_connection_date == TODAY + timedelta(days=90)


@pytest.mark.parametrize(("load", "days"), [(1, 21), (60, 21), (61, 45), (500, 45), (501, 90)])
def test_lead_time_grows_with_the_load(load: int, days: int) -> None:
    assert data.lead_days(load) == days


def test_every_account_example_names_an_account_the_simulator_holds(
    registry: ContractRegistry,
) -> None:
    """The conformance suite runs the request examples against the simulator."""
    request = "urn:muscat-hub:canonical:electricity-account-standing-request:1.0"
    for example in registry.get(request).examples:
        assert data.find_account(example["account_no"]) is not None, example
    for example in registry.get(STANDING).examples[1:]:
        account = data.find_account(example["account"]["account_no"])
        assert account is not None
        assert account.holder_name_ar == example["account"]["holder_name_ar"]
        assert account.arrears_omr == example["account"]["arrears_omr"]
