"""Residents' SMS into the hub: each message a telco's SMSC delivers becomes a CloudEvent
`sms.parking.received` on municipal.in, its id derived from the telco and the SMSC's message id
(a deliver_sm delivered twice is one message to the inbox). The SMSC gets its deliver_sm_resp
only once the broker confirmed the publish: a failure here makes it deliver again."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import structlog

from hub.bus.publisher import Publisher
from hub.bus.topology import IN_EXCHANGE_NAME
from hub.contracts.envelope import CloudEvent, derived_id, new_event

log = structlog.get_logger("hub.runtime.sms_inbound")

RECEIVED_TYPE = "sms.parking.received"
RECEIVED_SCHEMA = "urn:muscat-hub:events:sms.parking.received:1.0"


def msisdn_of(number: str) -> str:
    """An Omani number as the contracts carry it: 968 and eight digits, no + or 00."""
    digits = number.strip().removeprefix("+")
    digits = digits.removeprefix("00")
    return digits if digits.startswith("968") else f"968{digits}"


def received_id(telco: str, smsc_message_id: str) -> str:
    """The inbound event's id: the same message from the same SMSC is one message."""
    return derived_id("sms", telco, smsc_message_id)


def received_event(message: Mapping[str, str]) -> CloudEvent:
    telco, smsc_id = message["telco"], message["smsc_message_id"]
    event_id = received_id(telco, smsc_id)
    event = new_event(
        RECEIVED_TYPE,
        {
            "telco": telco,
            "smsc_message_id": smsc_id,
            "msisdn": msisdn_of(message["msisdn"]),
            "short_code": message["short_code"],
            "text": message["text"],
        },
        dataschema=RECEIVED_SCHEMA,
        correlationid=event_id,
        causationid=None,
        event_id=event_id,
    )
    return event.model_copy(update={"source": f"urn:muscat-hub:smpp:{telco}"})


class SmsInbound:
    """Publishes residents' messages to municipal.in on its own publisher (its own lock)."""

    def __init__(self, broker_url: str) -> None:
        self._publisher = Publisher(broker_url)

    async def receive(self, message: Mapping[str, str]) -> None:
        event = received_event(message)
        await asyncio.to_thread(
            self._publisher.publish,
            event.to_json(),
            exchange=IN_EXCHANGE_NAME,
            routing_key=event.type,
        )
        log.info(
            "sms.received",
            telco=message["telco"],
            msisdn=message["msisdn"],  # masked by the log processor
            event_id=event.id,
        )

    def close(self) -> None:
        self._publisher.close()
