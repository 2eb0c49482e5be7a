"""SMS parking end to end through real SMPP: a hub runtime with its worker, the ROP and telco
simulators on loopback, residents' messages injected into each telco's SMSC simulator and the
replies read from what that SMSC received. The main path on both pairs of engines."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select

from connectors.rop import data as rop_register
from hub.config import Settings
from hub.flows.sms_parking_rules import PLATE_LETTERS
from hub.runtime.build import HubRuntime, build_runtime
from hub.runtime.worker_thread import WorkerThread
from hub.store.tables import AuditEntry, ParkingBooking, ParkingSmsRequest

TELCOS = ("omantel", "ooredoo", "friendi")
FEES = {"omantel": Decimal("0.010"), "ooredoo": Decimal("0.015"), "friendi": Decimal("0.005")}
ARABIC_LETTER = {latin: arabic for arabic, latin in reversed(PLATE_LETTERS.items())}
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
T = TypeVar("T")


class Hub:
    """A running hub (runtime + worker) and what tests need to drive and read it."""

    def __init__(self, runtime: HubRuntime, worker: WorkerThread) -> None:
        self.runtime = runtime
        self.worker = worker

    def telco(self, name: str) -> Any:
        return self.runtime.simulators[name].simulator

    def sms(self, telco: str, msisdn: str, text: str) -> str:
        smsc = self.telco(telco).smsc
        wait_until(lambda: smsc.bound > 0, f"{telco} bound")
        smsc_id: str = smsc.inject(msisdn, text)
        return smsc_id

    def replies(self, telco: str, msisdn: str) -> list[str]:
        return [s.text for s in self.telco(telco).smsc.texts_to(msisdn)]

    def reply(self, telco: str, msisdn: str, count: int = 1, timeout_s: float = 20.0) -> list[str]:
        wait_until(
            lambda: len(self.replies(telco, msisdn)) >= count, f"reply to {msisdn}", timeout_s
        )
        return self.replies(telco, msisdn)

    def rows(self, table: Any, **where: Any) -> list[Any]:
        with self.runtime.sessions() as session:
            query = select(table).filter_by(**where)
            return list(session.execute(query).scalars())


def wait_until(check: Callable[[], T], what: str, timeout_s: float = 20.0) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # bounded
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def start_hub(settings: Settings) -> Iterator[Hub]:
    runtime = build_runtime(settings)
    worker = WorkerThread(runtime).start()
    try:
        yield Hub(runtime, worker)
    finally:
        worker.stop()
        runtime.close()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    yield from start_hub(Settings(data_dir=tmp_path, retry_ladder="1s,1s,2s,5s"))


@pytest.fixture
def hub_on_rabbitmq_postgres(tmp_path: Path, rabbitmq_url: str, postgres_url: str) -> Iterator[Hub]:
    settings = Settings(
        data_dir=tmp_path,
        broker_url=rabbitmq_url,
        database_url=postgres_url,
        retry_ladder="1s,1s,2s,5s",
        simulators=True,  # agencies and telcos simulated on purpose off the embedded default
    )
    yield from start_hub(settings)


def vehicles(count: int) -> list[rop_register.Vehicle]:
    """Registered vehicles whose plate letters can be written in Arabic."""
    usable = [v for v in rop_register.valid_vehicles() if set(v.plate_code) <= set(ARABIC_LETTER)]
    return usable[:count]


def english(vehicle: rop_register.Vehicle, code: str, minutes: int) -> str:
    return f"{vehicle.plate_number} {vehicle.plate_code} {code} {minutes} min"


def arabic(vehicle: rop_register.Vehicle, code: str, minutes: int) -> str:
    letters = " ".join(ARABIC_LETTER[c] for c in vehicle.plate_code)
    number = vehicle.plate_number.translate(ARABIC_DIGITS)
    return f"موقف {code} لوحة {number} {letters}  {str(minutes).translate(ARABIC_DIGITS)} دقيقة"


def msisdn(n: int) -> str:
    return f"9689{n:07d}"


def check_main_path(hub: Hub) -> None:
    """An Arabic and an English SMS through each telco: the right reply, one booking each."""
    cars = vehicles(6)
    sent = []
    for index, telco in enumerate(TELCOS):
        for offset, (language, write) in enumerate((("ar", arabic), ("en", english))):
            car, number = cars[2 * index + offset], msisdn(100 + 2 * index + offset)
            hub.sms(telco, number, write(car, "P101", 60))
            sent.append((telco, number, car, language))
    for telco, number, car, language in sent:
        (reply,) = hub.reply(telco, number)
        (booking,) = hub.rows(ParkingBooking, msisdn=number)
        assert booking.telco == telco and booking.parking_code == "P101"
        assert (booking.plate_number, booking.plate_code) == (car.plate_number, car.plate_code)
        assert booking.minutes == 60
        assert booking.amount == Decimal("0.200") + FEES[telco]
        assert booking.ticket_no and booking.ticket_no in reply
        assert f"{car.plate_number} {car.plate_code}" in reply
        assert str(booking.amount) in reply
        if language == "ar":
            assert reply.startswith("تم حجز الموقف") and "شاطئ القرم" in reply
        else:
            assert reply.startswith("Parking booked") and "Qurum Beach" in reply
        charges = hub.telco(telco).charges
        assert [c["msisdn"] for c in charges.values()].count(number) == 1


def test_arabic_and_english_bookings_through_each_telco(hub: Hub) -> None:
    check_main_path(hub)
    # the audit trail holds each booking's steps
    with hub.runtime.sessions() as session:
        kinds = set(session.execute(select(AuditEntry.kind)).scalars())
    assert {"sms.parking.charged", "record.changed", "sms.reply.sent"} <= kinds


@pytest.mark.e2e
def test_arabic_and_english_bookings_on_rabbitmq_and_postgresql(
    hub_on_rabbitmq_postgres: Hub,
) -> None:
    check_main_path(hub_on_rabbitmq_postgres)


def test_sending_again_before_the_end_extends_the_booking(hub: Hub) -> None:
    (car,) = vehicles(1)
    number = msisdn(200)
    hub.sms("omantel", number, english(car, "P201", 30))
    hub.reply("omantel", number)
    hub.sms("omantel", number, english(car, "P201", 90))
    first, second = hub.reply("omantel", number, 2)
    (booking,) = hub.rows(ParkingBooking, msisdn=number)
    assert booking.minutes == 120
    assert booking.amount == Decimal("0.050") + Decimal("0.150") + 2 * FEES["omantel"]
    assert second.startswith("Parking extended") and booking.ticket_no in second


REFUSALS = [
    ("hello there", "unparseable", "Send: plate, parking code, minutes"),
    ("{plate} P999 60", "unknown-code", "Unknown parking code"),
    ("{plate} P101 500", "minutes-out-of-range", "Minutes must be 30 to 300"),
    ("{unknown} P101 60", "unknown-plate", "ROP does not know this plate"),
]


def test_each_bad_input_gets_one_reply_with_its_reason_and_changes_nothing(hub: Hub) -> None:
    (car,) = vehicles(1)
    unknown = " ".join(rop_register.unknown_plates(1)[0])
    plate = f"{car.plate_number} {car.plate_code}"
    cases = [(t.format(plate=plate, unknown=unknown), r, w) for t, r, w in REFUSALS]
    cases.append((f"{plate} P101 60", "charge-failed", "The charge was declined"))
    for index, (text, _, _) in enumerate(cases):
        # the last resident's number has no balance left on the simulated network
        number = "96890000000" if index == len(cases) - 1 else msisdn(300 + index)
        hub.sms("ooredoo", number, text)
    for index, (_, reason, words) in enumerate(cases):
        number = "96890000000" if index == len(cases) - 1 else msisdn(300 + index)
        (reply,) = hub.reply("ooredoo", number)
        assert reply.startswith(words), (reason, reply)
        (request,) = hub.rows(ParkingSmsRequest, msisdn=number)
        assert request.outcome == reason and request.ticket_no is None
        assert hub.rows(ParkingBooking, msisdn=number) == []
    assert hub.telco("ooredoo").charges == {}  # nothing charged for any of them
    # in the sender's language
    hub.sms("ooredoo", msisdn(399), "مرحبا")
    (reply,) = hub.reply("ooredoo", msisdn(399))
    assert reply.startswith("أرسل")


def test_a_duplicated_deliver_sm_books_once_and_replies_once(hub: Hub) -> None:
    (car,) = vehicles(1)
    number = msisdn(400)
    smsc = hub.telco("friendi").smsc
    smsc.set_smpp_fault("duplicate")
    hub.sms("friendi", number, english(car, "P301", 45))
    hub.reply("friendi", number)
    # a later message through the same link proves the duplicate was handled before it
    smsc.set_smpp_fault("none")
    hub.sms("friendi", msisdn(401), "nonsense")
    hub.reply("friendi", msisdn(401))
    assert len(hub.replies("friendi", number)) == 1
    assert len(hub.rows(ParkingBooking, msisdn=number)) == 1
    assert len(hub.telco("friendi").charges) == 1


def test_a_charging_outage_completes_once_after_it_ends(hub: Hub) -> None:
    (car,) = vehicles(1)
    number = msisdn(500)
    omantel = hub.telco("omantel")
    omantel.set_fault("outage")
    hub.sms("omantel", number, english(car, "P102", 60))
    wait_until(
        lambda: hub.rows(ParkingSmsRequest, msisdn=number) == [] and _retrying(hub) > 0,
        "a charge attempt during the outage",
    )
    assert hub.replies("omantel", number) == []
    omantel.set_fault("none")
    (reply,) = hub.reply("omantel", number)
    assert reply.startswith("Parking booked")
    assert len(hub.rows(ParkingBooking, msisdn=number)) == 1
    assert len(omantel.charges) == 1


def test_a_rop_outage_completes_once_after_it_ends(hub: Hub) -> None:
    (car,) = vehicles(1)
    number = msisdn(510)
    rop = hub.runtime.simulators["rop"].simulator
    rop.set_fault("outage")
    hub.sms("ooredoo", number, arabic(car, "P202", 90))
    wait_until(
        lambda: hub.rows(ParkingSmsRequest, msisdn=number) == [] and _retrying(hub) > 0,
        "a vehicle inquiry during the outage",
    )
    assert hub.replies("ooredoo", number) == []
    assert hub.telco("ooredoo").charges == {}  # nothing charged before the plate is checked
    rop.set_fault("none")
    (reply,) = hub.reply("ooredoo", number)
    assert reply.startswith("تم حجز الموقف")
    (booking,) = hub.rows(ParkingBooking, msisdn=number)
    assert booking.ticket_no in reply and booking.minutes == 90
    assert [r.outcome for r in hub.rows(ParkingSmsRequest, msisdn=number)] == ["booked"]
    assert len(hub.telco("ooredoo").charges) == 1


@pytest.fixture
def hub_quick_circuits(tmp_path: Path) -> Iterator[Hub]:
    """Circuits that try again after a second, so an outage of a few seconds does not
    outlast the test's short ladder."""
    yield from start_hub(
        Settings(data_dir=tmp_path, retry_ladder="1s,1s,2s,5s,10s", circuit_reset_s=1.0)
    )


def test_an_smsc_outage_at_reply_time_sends_the_reply_once_after_it_ends(
    hub_quick_circuits: Hub,
) -> None:
    """Booked and charged, the reply refused (throttled), then the link dropped and binds
    refused: the reply waits on the ladder and goes out once the SMSC is back."""
    hub = hub_quick_circuits
    (car,) = vehicles(1)
    number = msisdn(520)
    friendi = hub.telco("friendi")
    smsc = friendi.smsc
    wait_until(lambda: smsc.bound > 0, "friendi bound")
    smsc.set_smpp_fault("throttle")
    hub.sms("friendi", number, english(car, "P301", 30))
    wait_until(
        lambda: hub.rows(ParkingBooking, msisdn=number) and _retrying(hub) > 0,
        "a refused reply after the booking",
    )
    smsc.set_smpp_fault("outage")  # the link goes, and cannot come back
    wait_until(lambda: smsc.bound == 0, "friendi unbound")
    assert hub.replies("friendi", number) == []
    smsc.set_smpp_fault("none")
    (reply,) = hub.reply("friendi", number, timeout_s=40.0)
    assert reply.startswith("Parking booked")
    assert len(hub.rows(ParkingBooking, msisdn=number)) == 1
    assert len(friendi.charges) == 1
    # one reply, not one per attempt: a later message's reply proves the ladder has run dry
    hub.sms("friendi", msisdn(521), "nonsense")
    hub.reply("friendi", msisdn(521))
    assert len(hub.replies("friendi", number)) == 1


def _retrying(hub: Hub) -> int:
    """Deliveries that failed on an agency and wait on the retry ladder."""
    from hub.store.tables import MessageHistory

    with hub.runtime.sessions() as session:
        return int(
            session.execute(
                select(func.count())
                .select_from(MessageHistory)
                .where(MessageHistory.status == "retrying")
            ).scalar_one()
        )
