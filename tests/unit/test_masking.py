import io
import json

import structlog

from hub.observability import bind_case, configure_logging, mask_text, unbind_case


def test_civil_ids_and_phones_are_masked_in_free_text() -> None:
    text = mask_text("applicant 09123456 called from +96899123456 about plate 12345 AB")
    assert "09123456" not in text and "99123456" not in text
    assert "******56" in text
    assert "12345 AB" in text  # plates are not personal data


def test_ids_that_merely_contain_digits_are_left_alone() -> None:
    for text in ("2f7f0e4e-20ce-4520-b687-d12345634f25", "MCT-PK-0000042", "PKA-2026-000123"):
        assert mask_text(text) == text
    assert mask_text("civil id: 123456789.") == "civil id: *******89."


def test_log_lines_are_json_with_correlation_and_masked_fields() -> None:
    stream = io.StringIO()
    configure_logging("info", stream)
    bind_case("case-1", "evt-1")
    try:
        structlog.get_logger("t").info(
            "checked",
            civil_id="09123456",
            owner={"phone": "+96891234567", "name_ar": "سالم"},
            note="owner 123456789 mismatch",
            password="hunter2",
        )
    finally:
        unbind_case()
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["correlationid"] == "case-1"
    assert line["civil_id"] == "******56"
    assert "91234567" not in json.dumps(line)
    assert line["owner"]["name_ar"] == "سالم"
    assert "123456789" not in line["note"]
    assert line["password"] == "***"
