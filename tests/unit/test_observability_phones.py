"""Residents' phone numbers as SMPP carries them (no "+", or 00968) are masked in log lines."""

from __future__ import annotations

import io
import json

import pytest
import structlog

from hub.observability import configure_logging, mask_text, mask_value


@pytest.mark.parametrize(
    "text",
    [
        "96891234567",
        "+96891234567",
        "0096891234567",
        "+968 91234567",
        "reply to 96891234567 via omantel",
        "from 0096891234567 to 90091",
    ],
)
def test_every_written_form_of_an_omani_number_is_masked(text: str) -> None:
    masked = mask_text(text)
    assert "912345" not in masked and "+968******67" in masked


def test_the_short_code_is_left_alone() -> None:
    assert mask_text("to 90091 via omantel") == "to 90091 via omantel"


def test_an_id_shaped_like_a_prefixed_civil_id_is_masked() -> None:
    """Privacy first: "MO" + eight digits is also how a civil id with a prefix is written
    (docs/SECURITY.md, near-miss forms), so such an SMSC id is masked in logs too."""
    assert mask_text("to 90091 id MO00000001") == "to 90091 id ******01"


def test_an_msisdn_field_is_masked_whatever_its_shape() -> None:
    assert mask_value("msisdn", "91234567") == "******67"
    assert mask_value("source", {"msisdn": "96891234567"}) == {"msisdn": "*********67"}


def test_a_log_line_carries_no_phone_number() -> None:
    stream = io.StringIO()
    configure_logging("info", stream)
    structlog.get_logger("test").info("sms.received", msisdn="96891234567", text="from 96891234567")
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert "91234567" not in json.dumps(line)
