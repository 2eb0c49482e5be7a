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


def test_binary_mode_attributes_come_from_application_properties() -> None:
    from hub.contracts.envelope import parse_message, structured_body

    headers = {
        "cloudEvents_specversion": "1.0",
        "cloudEvents:id": "e-1",
        "ce-source": "urn:x",
        "CE_type": "violation.parking.paid",
        "cloudEvents_time": 1796603097000,
        "cloudEvents_correlationid": "CASE-1",
        "x-delay": 5,
    }
    event = parse_message('{"a": "ب"}'.encode(), headers, "application/data")
    assert (event.id, event.source, event.type, event.correlation) == (
        "e-1",
        "urn:x",
        "violation.parking.paid",
        "CASE-1",
    )
    assert event.time is not None and event.time.year == 2026
    assert event.data == {"a": "ب"}
    whole = json.loads(structured_body(b'{"a": 1}', headers, None))
    assert whole["id"] == "e-1" and whole["data"] == {"a": 1}


def test_binary_mode_refuses_data_that_is_not_json() -> None:
    from hub.contracts.envelope import parse_message

    headers = {"cloudEvents_specversion": "1.0", "cloudEvents_id": "e", "cloudEvents_source": "s"}
    with pytest.raises(EnvelopeError) as refused:
        parse_message(b"<a/>", headers | {"cloudEvents_type": "t"}, "application/xml")
    assert [e.field for e in refused.value.errors] == ["datacontenttype"]
    with pytest.raises(EnvelopeError) as garbled:
        parse_message(b"{", headers | {"cloudEvents_type": "t"}, "application/json")
    assert [e.field for e in garbled.value.errors] == ["data"]


def test_structured_content_type_wins_over_stray_headers() -> None:
    from hub.contracts.envelope import parse_message

    body = json.dumps(
        {"specversion": "1.0", "id": "s", "source": "u", "type": "t", "data": {}}
    ).encode()
    headers = {"ce-specversion": "1.0", "ce-id": "other"}
    assert parse_message(body, headers, "application/cloudevents+json").id == "s"


@pytest.mark.parametrize(
    "correlationid",
    [
        "case\x1b[31m-red",
        "case\r\nX-Injected: 1",
        "[bold red]forged[/]",
        "a" * 129,
        "",
        " case-1",
        "case 1",
        "case-1\n",
        "-leading-dash",
    ],
)
def test_a_correlation_id_outside_the_strict_pattern_is_a_field_error(correlationid: str) -> None:
    with pytest.raises(EnvelopeError) as caught:
        parse_event({**VALID, "correlationid": correlationid})
    [error] = caught.value.errors
    assert error.field == "correlationid"
    assert "letters, digits" in error.message


@pytest.mark.parametrize("correlationid", ["CASE-BP-2026-001234", "a", "x" * 128, "urn:a.b_c"])
def test_a_correlation_id_in_the_pattern_is_kept(correlationid: str) -> None:
    assert parse_event({**VALID, "correlationid": correlationid}).correlation == correlationid
