"""Item 5 of the security review: the near-miss forms of civil ids and phone numbers are masked
in every log line (free text, field names, rejection reasons); look-alike ids are not."""

from __future__ import annotations

import io
import json

import pytest
import structlog

from hub.observability import configure_logging, mask_text

# (written form, the digits that must not survive)
PERSONAL = [
    ("applicant A09123456 asked", "09123456"),
    ("civil id 09123456B on file", "09123456"),
    ("ref ID:091234567", "091234567"),
    ("CIV-09123456", "09123456"),
    ("OM09123456", "09123456"),
    ("#09123456", "09123456"),
    ("الرقم المدني ٠٩١٢٣٤٥٦", "٠٩١٢٣٤٥٦"),
    ("الرقم المدني ۰۹۱۲۳۴۵۶", "۰۹۱۲۳۴۵۶"),
    ("call 0096899123456", "99123456"),
    ("call 00968 9912 3456", "9912 3456"),
    ("call +968 9912 3456", "9912 3456"),
    ("call +968-9912-3456", "9912-3456"),
    ("call 968 99123456", "99123456"),
    ("call 9912 3456 today", "9912 3456"),
    ("call 7912-3456", "7912-3456"),
    ("رقم الهاتف +٩٦٨٩٩١٢٣٤٥٦", "٩٩١٢٣٤٥٦"),
]
NOT_PERSONAL = [
    "2f7f0e4e-20ce-4520-b687-d12345634f25",
    "sha256:0123456789abcdef0123456789abcdef",
    "MCT-PK-0000042",
    "PKA-2026-000123",
    "NC-2026-004211",
    "plate 12345 AB",
    "2026-11-28T09:15:00Z",
    "CR 1043217",
]


@pytest.mark.parametrize(("text", "digits"), PERSONAL)
def test_near_miss_forms_are_masked(text: str, digits: str) -> None:
    masked = mask_text(text)
    assert digits not in masked
    assert digits.replace(" ", "").replace("-", "")[:6] not in masked.replace(" ", "")


@pytest.mark.parametrize("text", NOT_PERSONAL)
def test_look_alike_references_are_kept(text: str) -> None:
    assert mask_text(text) == text


def _logged(**fields: object) -> dict[str, object]:
    stream = io.StringIO()
    configure_logging("info", stream)
    structlog.get_logger("t").warning("message.rejected", **fields)
    line: dict[str, object] = json.loads(stream.getvalue().strip().splitlines()[-1])
    return line


def test_fields_are_masked_by_name_whatever_their_form() -> None:
    line = _logged(
        msisdn="99123456",
        OwnerCivilId="0912345X",
        new_owner_civil_id="11873402",
        applicant={"mobile": "9912 3456", "phone_number": "+968 9912 3456"},
        api_token="tok-1",
    )
    text = json.dumps(line, ensure_ascii=False)
    for value in ("99123456", "0912345", "11873402", "9912 3456", "tok-1"):
        assert value not in text, value


def test_rejection_reasons_naming_a_personal_field_are_masked() -> None:
    errors = [
        {"field": "data.civil_id", "message": "'0912345X' does not match '^[0-9]{8,9}$'"},
        {"field": "data.zone", "message": "'nowhere' is not one of ['ruwi']"},
    ]
    line = _logged(errors=errors, last_error="data.phone: '+968 9912-345' is too short")
    text = json.dumps(line, ensure_ascii=False)
    assert "0912345X" not in text and "9912-345" not in text
    assert "'nowhere' is not one of" in text  # other fields' reasons stay readable
