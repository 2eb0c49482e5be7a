"""A producer using the official CloudEvents SDK and plain kombu is understood in either content
mode of the AMQP binding: structured (the whole event is the body) and binary (attributes in
`cloudEvents_`/`cloudEvents:` application properties, or `ce-` headers as the SDK's RabbitMQ
binding writes them; the body is `data`). Each message is deduplicated on its own id, and
every one gets an answer its sender can match: a result, or a rejection quoting its id."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cloudevents.core.bindings import amqp, rabbitmq
from cloudevents.core.v1.event import CloudEvent
from kombu import Connection, Producer

from connectors.rop import violations
from hub.bus.topology import IN_EXCHANGE
from tests.e2e.harness import HubProcess, MunicipalBackend

pytestmark = pytest.mark.e2e
PAID = "violation.parking.paid"


class Sender:
    """A foreign producer: the CloudEvents SDK for the message, plain kombu to send it."""

    def __init__(self, broker_url: str) -> None:
        self._conn = Connection(broker_url)
        self._producer = Producer(self._conn.channel())

    def send(
        self, body: bytes, routing_key: str, headers: dict[str, Any], content_type: str | None
    ) -> None:
        options: dict[str, Any] = {"content_encoding": "binary"}
        if content_type:
            options["content_type"] = content_type
        self._producer.publish(
            body, exchange=IN_EXCHANGE, routing_key=routing_key, headers=headers, **options
        )

    def structured(self, event: CloudEvent) -> None:
        message = amqp.to_structured_event(event)
        self.send(
            message.application_data, event.get_type(), {}, message.properties["content-type"]
        )

    def binary(self, event: CloudEvent, colon: bool = False) -> None:
        message = amqp.to_binary_event(event)
        headers = message.application_properties
        if colon:  # the binding's other spelling
            headers = {k.replace("cloudEvents_", "cloudEvents:"): v for k, v in headers.items()}
        content_type = message.properties.get("content-type")
        self.send(message.application_data, event.get_type(), headers, content_type)

    def rabbitmq_binary(self, event: CloudEvent) -> None:
        message = rabbitmq.to_binary_event(event)
        self.send(message.body, event.get_type(), message.headers, message.content_type)

    def close(self) -> None:
        self._conn.release()


@pytest.fixture
def hub(engines: dict[str, str], tmp_path: Path) -> Iterator[tuple[MunicipalBackend, Sender]]:
    backend = MunicipalBackend(engines["HUB_TEST_BROKER_URL"])
    sender = Sender(engines["HUB_TEST_BROKER_URL"])
    try:
        with HubProcess(engines, tmp_path / "hub.log"):
            yield backend, sender
    finally:
        sender.close()
        backend.close()


def paid(index: int = 0, **attributes: Any) -> CloudEvent:
    known = violations.violations()[index]
    data = {
        "violation_no": known.violation_no,
        "plate": {"number": known.plate_number, "code": known.plate_code},
        "amount_omr": known.amount_omr,
        "payment_reference": "MM-PAY-2026-8000001",
    }
    base = {"type": PAID, "source": "urn:test:sdk", "id": str(uuid.uuid4())}
    return CloudEvent(attributes=base | attributes, data=data)


def answers(backend: MunicipalBackend, causes: set[str]) -> dict[str, dict[str, Any]]:
    """The one answer to each cause (bounded in time), then a quiet moment for extras."""
    got = backend.results_for(causes, timeout_s=60)
    got.extend(backend.take_at_least(1, timeout_s=2))
    by_cause: dict[str, list[dict[str, Any]]] = {}
    for result in got:
        by_cause.setdefault(result["causationid"], []).append(result)
    assert set(by_cause) == causes
    assert all(len(results) == 1 for results in by_cause.values()), by_cause
    return {cause: results[0] for cause, results in by_cause.items()}


def test_structured_and_binary_modes_both_get_their_result(
    hub: tuple[MunicipalBackend, Sender],
) -> None:
    backend, sender = hub
    structured = paid(correlationid="CASE-STRUCTURED")
    binary = paid(correlationid="CASE-BINARY")
    colon = paid(correlationid="CASE-COLON")
    headers = paid(correlationid="CASE-CE-HEADERS")
    sender.structured(structured)
    sender.binary(binary)
    sender.binary(colon, colon=True)
    sender.rabbitmq_binary(headers)
    events = {e.get_id(): e for e in (structured, binary, colon, headers)}
    for cause, result in answers(backend, set(events)).items():
        assert result["type"] == "violation.parking.settled", result
        assert result["correlationid"] == events[cause].get_extension("correlationid")
        assert result["data"]["outcome"] == "settled"


def test_binary_messages_with_the_same_body_are_told_apart_by_id(
    hub: tuple[MunicipalBackend, Sender],
) -> None:
    backend, sender = hub
    first, second = paid(1), paid(1)
    assert (
        amqp.to_binary_event(first).application_data
        == amqp.to_binary_event(second).application_data
    )
    sender.binary(first)
    sender.binary(second)
    got = answers(backend, {first.get_id(), second.get_id()})
    assert {r["type"] for r in got.values()} == {"violation.parking.settled"}
    sender.binary(first)  # the same event again: a duplicate, answered once already
    assert backend.take_at_least(1, timeout_s=3) == []


def test_a_refused_binary_message_is_answered_under_its_own_id(
    hub: tuple[MunicipalBackend, Sender],
) -> None:
    backend, sender = hub
    event = paid(correlationid="CASE-REFUSED")
    message = amqp.to_binary_event(event)
    headers = dict(message.application_properties)
    del headers["cloudEvents_source"]
    sender.send(message.application_data, PAID, headers, "application/json")
    refusal = answers(backend, {event.get_id()})[event.get_id()]
    assert refusal["type"] == "hub.message.rejected"
    assert refusal["correlationid"] == "CASE-REFUSED"
    assert refusal["data"]["rejected_id"] == event.get_id()
    assert [e["field"] for e in refusal["data"]["errors"]] == ["source"]
