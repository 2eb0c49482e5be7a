"""sms.parking.received -> read the text -> ROP vehicle inquiry -> charge through the telco ->
book or extend -> sms.reply.requested (to municipal.in, sent by SmsReplyFlow once this
committed). Bad input gets one short reply, recorded with its reason, and changes nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, insert, select, update

from hub.contracts.envelope import CloudEvent
from hub.flows.base import Agencies, Results
from hub.flows.sms_parking_rules import (
    BAISA,
    PARKING_CODES,
    SmsBooking,
    SmsRefusal,
    booked_text,
    parse,
    price,
    refusal_text,
)
from hub.messages.unit_of_work import UnitOfWork
from hub.store.tables import ParkingBooking, ParkingSmsRequest

IN_EXCHANGE = "municipal.in"  # the reply is work for the hub itself, not a municipal result
REPLY_TYPE = "sms.reply.requested"
TICKET_PREFIX = "SMS-"
MUSCAT = timezone(timedelta(hours=4), "Asia/Muscat")  # no daylight saving in Oman
BOOKINGS = cast(Table, ParkingBooking.__table__)
REQUESTS = cast(Table, ParkingSmsRequest.__table__)


@dataclass(frozen=True)
class SmsFacts:
    """What gather learnt: the request read, or why it cannot be booked; the charge taken."""

    asked: SmsBooking | SmsRefusal
    charge: dict[str, Any] | None = None


class SmsParkingFlow:
    """Book or extend street parking on a resident's SMS."""

    handles = "sms.parking.received"
    results: tuple[str, ...] = ()  # its reply goes back to municipal.in (SmsReplyFlow)

    async def gather(self, event: CloudEvent, agencies: Agencies) -> SmsFacts:
        data = event.data
        asked = parse(data["text"])
        if isinstance(asked, SmsRefusal):
            return SmsFacts(asked)
        vehicle = await agencies.ask(
            "rop",
            "vehicle_inquiry",
            {"plate_number": asked.plate_number, "plate_code": asked.plate_code},
        )
        if not vehicle.get("found"):
            return SmsFacts(SmsRefusal("unknown-plate", asked.language))
        amount = price(asked.code, asked.minutes)
        charge = dict(
            await agencies.ask(
                data["telco"],
                "charge",
                {
                    "reference": event.id,  # the telco charges once however often we ask
                    "msisdn": data["msisdn"],
                    "amount": str(amount),
                    "description": f"Parking {asked.code} {asked.minutes} min",
                },
            )
        )
        if not charge["charged"]:
            return SmsFacts(SmsRefusal("charge-failed", asked.language), charge)
        return SmsFacts(asked, charge)

    def apply(self, event: CloudEvent, facts: SmsFacts, uow: UnitOfWork, results: Results) -> None:
        data = event.data
        request = {
            "message_id": event.id,
            "telco": data["telco"],
            "msisdn": data["msisdn"],
            "text": data["text"],
            "ticket_no": None,
            "amount": None,
            "received_at": datetime.now(UTC),
        }
        asked = facts.asked
        if isinstance(asked, SmsRefusal):
            uow.session.execute(insert(REQUESTS), request | {"outcome": asked.reason})
            uow.audit("sms.parking.refused", reason=asked.reason, telco=data["telco"])
            reply = {"outcome": asked.reason, "text": refusal_text(asked)}
        else:
            assert facts.charge is not None
            total = Decimal(facts.charge["total"]).quantize(BAISA)
            outcome, ticket, text = _book(event, asked, total, uow)
            uow.session.execute(
                insert(REQUESTS),
                request | {"outcome": outcome, "ticket_no": ticket, "amount": total},
            )
            uow.audit(
                "sms.parking.charged",
                telco=data["telco"],
                charge_id=facts.charge.get("charge_id"),
                total=str(total),
            )
            reply = {"outcome": outcome, "text": text, "ticket_no": ticket}
        body = {"telco": data["telco"], "msisdn": data["msisdn"]} | reply
        uow.emit(results.event(REPLY_TYPE, body), exchange=IN_EXCHANGE)


def _book(
    event: CloudEvent, asked: SmsBooking, total: Decimal, uow: UnitOfWork
) -> tuple[str, str, str]:
    """Extend the booking of this plate at this code that has not ended yet, or open one;
    the outcome, the ticket and the confirmation text."""
    session, now = uow.session, datetime.now(UTC)
    spot = (
        (BOOKINGS.c.plate_number == asked.plate_number)
        & (BOOKINGS.c.plate_code == asked.plate_code)
        & (BOOKINGS.c.parking_code == asked.code)
        & (BOOKINGS.c.ends_at > now)
    )
    before = (
        session.execute(select(BOOKINGS).where(spot).order_by(BOOKINGS.c.ends_at.desc()).limit(1))
        .mappings()
        .one_or_none()
    )
    length = timedelta(minutes=asked.minutes)
    if before is None:
        values: dict[str, Any] = {
            "plate_number": asked.plate_number,
            "plate_code": asked.plate_code,
            "parking_code": asked.code,
            "telco": event.data["telco"],
            "msisdn": event.data["msisdn"],
            "language": asked.language,
            "minutes": asked.minutes,
            "amount": total,
            "starts_at": now,
            "ends_at": now + length,
            "correlationid": event.correlation,
            "created_at": now,
            "updated_at": now,
        }
        booking_id = session.execute(insert(BOOKINGS).returning(BOOKINGS.c.id), values).scalar_one()
        values["ticket_no"] = f"{TICKET_PREFIX}{booking_id:07d}"
        session.execute(
            update(BOOKINGS)
            .where(BOOKINGS.c.id == booking_id)
            .values(ticket_no=values["ticket_no"])
        )
        outcome = "booked"
    else:
        values = dict(before) | {
            "minutes": before["minutes"] + asked.minutes,
            "amount": Decimal(before["amount"]).quantize(BAISA) + total,
            "ends_at": before["ends_at"] + length,
            "msisdn": event.data["msisdn"],
            "language": asked.language,
            "updated_at": now,
            "reminded_at": None,
        }
        session.execute(update(BOOKINGS).where(BOOKINGS.c.id == before["id"]).values(values))
        outcome = "extended"
    ticket = str(values["ticket_no"])
    uow.record_changed("parking_booking", ticket, _snapshot(before), _snapshot(values))
    text = booked_text(
        asked,
        ticket,
        values["starts_at"].astimezone(MUSCAT),
        values["ends_at"].astimezone(MUSCAT),
        total,
        extended=outcome == "extended",
    )
    return outcome, ticket, text


def _snapshot(values: Any) -> dict[str, Any] | None:
    if values is None:
        return None
    return {
        "ticket_no": values["ticket_no"],
        "plate": f"{values['plate_number']} {values['plate_code']}",
        "parking_code": values["parking_code"],
        "area": PARKING_CODES[values["parking_code"]].name_en,
        "minutes": values["minutes"],
        "amount": str(Decimal(values["amount"]).quantize(BAISA)),
        "starts_at": values["starts_at"].isoformat(),
        "ends_at": values["ends_at"].isoformat(),
    }


class SmsReplyFlow:
    """Send the reply through the resident's telco; an SMSC outage waits on the retry ladder."""

    handles = REPLY_TYPE
    results: tuple[str, ...] = ()

    async def gather(self, event: CloudEvent, agencies: Agencies) -> dict[str, Any]:
        data = event.data
        return dict(
            await agencies.ask(
                data["telco"], "send_sms", {"to": data["msisdn"], "text": data["text"]}
            )
        )

    def apply(
        self, event: CloudEvent, facts: dict[str, Any], uow: UnitOfWork, results: Results
    ) -> None:
        uow.audit(
            "sms.reply.sent",
            telco=event.data["telco"],
            outcome=event.data["outcome"],
            message_ids=facts["message_ids"],
            parts=facts["parts"],
        )
