import json

import pytest

from hub.contracts.envelope import (
    CloudEvent,
    body_digest,
    body_from_text,
    body_to_text,
    derived_id,
    new_event,
    parse_event,
)
from hub.errors import EnvelopeError

VALID = {
    "specversion": "1.0",
    "id": "evt-1",
    "source": "urn:muscat:portal",
    "type": "permit.parking.requested",
    "data": {"applicant_name": {"ar": "سالم بن حمد الحارثي"}},
}


def test_parse_valid_event_defaults_correlation_to_event_id() -> None:
    event = parse_event(json.dumps(VALID).encode())
    assert event.correlation == "evt-1"
    assert event.dataschema is None


def test_sender_correlation_id_wins() -> None:
    event = parse_event({**VALID, "correlationid": "case-9"})
    assert event.correlation == "case-9"


def test_unknown_extension_attributes_are_kept() -> None:
    event = parse_event({**VALID, "partnerref": "abc"})
    assert json.loads(event.to_json())["partnerref"] == "abc"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "(body)"),
        (b"[1, 2]", "(body)"),
        (json.dumps({k: v for k, v in VALID.items() if k != "id"}).encode(), "id"),
        (json.dumps({**VALID, "specversion": "0.3"}).encode(), "specversion"),
        (json.dumps({**VALID, "data": "text"}).encode(), "data"),
        (b"\xff\xfe", "(body)"),
    ],
)
def test_bad_envelopes_name_the_failing_attribute(body: bytes, field: str) -> None:
    with pytest.raises(EnvelopeError) as caught:
        parse_event(body)
    assert field in [e.field for e in caught.value.errors]


def test_arabic_is_written_as_characters_not_escapes() -> None:
    event = CloudEvent.model_validate(VALID)
    raw = event.to_json()
    assert "سالم".encode() in raw
    assert parse_event(raw).data == VALID["data"]


def test_emitted_events_always_carry_schema_and_correlation() -> None:
    event = new_event(
        "permit.parking.completed", {"x": 1}, dataschema="urn:s", correlationid="c", causationid="e"
    )
    dumped = json.loads(event.to_json())
    assert dumped["dataschema"] == "urn:s"
    assert dumped["correlationid"] == "c"
    assert dumped["causationid"] == "e"
    assert dumped["time"]


def test_derived_ids_are_stable_and_distinct() -> None:
    assert derived_id("a", "t") == derived_id("a", "t")
    assert derived_id("a", "t") != derived_id("b", "t")
    assert body_digest(b"x") == body_digest(b"x") != body_digest(b"y")


@pytest.mark.parametrize("body", [b'{"a": "\xd8\xb3"}', b"\x00garbage", b"\xff\xfe", b"base64:x"])
def test_bodies_are_stored_as_text_and_come_back_exact(body: bytes) -> None:
    text = body_to_text(body)
    assert "\x00" not in text
    assert body_from_text(text) == body
