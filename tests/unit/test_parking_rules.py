from datetime import date

from hub.flows.dates import add_months
from hub.flows.parking_rules import decide_parking

TODAY = date(2026, 11, 29)
VEHICLE = {
    "owner": {"civil_id": "09123456", "name_en": "Salim", "name_ar": "سالم"},
    "registration_expiry": "2027-06-01",
}


def test_owner_with_valid_registration_gets_permit() -> None:
    decision = decide_parking(
        plate="12345 AB", applicant_civil_id="09123456", months=6, vehicle=VEHICLE, today=TODAY
    )
    assert decision.issued
    assert decision.valid_from == TODAY
    assert decision.valid_until == date(2027, 5, 28)
    assert decision.reasons == []


def test_unknown_vehicle_is_refused_in_both_languages() -> None:
    decision = decide_parking(
        plate="999 X", applicant_civil_id="09123456", months=1, vehicle=None, today=TODAY
    )
    assert not decision.issued
    [reason] = decision.reasons
    assert reason.code == "vehicle-not-found"
    assert "999 X" in reason.en and "999 X" in reason.ar
    assert "شرطة" in reason.ar


def test_every_reason_is_listed() -> None:
    lapsed = {**VEHICLE, "registration_expiry": "2026-01-31"}
    decision = decide_parking(
        plate="12345 AB", applicant_civil_id="11111111", months=3, vehicle=lapsed, today=TODAY
    )
    assert not decision.issued
    assert [r.code for r in decision.reasons] == ["not-owner", "registration-lapsed"]
    assert "2026-01-31" in decision.reasons[1].ar


def test_registration_expiring_today_is_still_valid() -> None:
    vehicle = {**VEHICLE, "registration_expiry": TODAY.isoformat()}
    assert decide_parking(
        plate="1 A", applicant_civil_id="09123456", months=1, vehicle=vehicle, today=TODAY
    ).issued


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 29), 12) == date(2027, 11, 29)
