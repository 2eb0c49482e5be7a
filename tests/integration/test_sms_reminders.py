"""The reminder SMS before a parking booking ends, through real SMPP: exactly one per booking
end in the resident's language, a new one for an extended booking's new end, one however many
sweeps run at once (on SQLite and on PostgreSQL), none once the setting is 0. Sweeps are run as
if at a chosen time, so no test waits for a booking to near its end."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from hub.config import Settings
from hub.flows.sms_parking import MUSCAT
from hub.flows.sms_reminders import remind_due
from hub.store.tables import OutboxEvent, ParkingBooking
from tests.integration.test_sms_parking import (
    Hub,
    arabic,
    english,
    msisdn,
    start_hub,
    vehicles,
    wait_until,
)

WINDOW = timedelta(minutes=10)


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


def booked(hub: Hub, telco: str, number: str, text: str, replies: int = 1) -> ParkingBooking:
    hub.sms(telco, number, text)
    hub.reply(telco, number, replies)
    (booking,) = hub.rows(ParkingBooking, msisdn=number)
    return booking


def reminders(hub: Hub, telco: str, number: str) -> list[str]:
    return [t for t in hub.replies(telco, number) if t.startswith(("Reminder", "تذكير"))]


def settled(hub: Hub, telco: str) -> None:
    """A later message's reply: whatever was queued for this telco before it has been sent."""
    number = msisdn(999)
    before = len(hub.replies(telco, number))
    hub.sms(telco, number, "nonsense")
    hub.reply(telco, number, before + 1)


def test_a_booking_near_its_end_gets_one_reminder_in_its_language(hub: Hub) -> None:
    cars = vehicles(2)
    ar = booked(hub, "ooredoo", msisdn(600), arabic(cars[0], "P101", 60))
    en = booked(hub, "omantel", msisdn(601), english(cars[1], "P202", 30))
    sweeper = hub.worker.reminders
    assert sweeper.sweep(now=en.ends_at - 2 * WINDOW) == 0  # not due yet
    assert sweeper.sweep(now=en.ends_at - WINDOW / 2) == 1  # only the English one is due
    assert sweeper.sweep(now=ar.ends_at - WINDOW / 2) == 1
    assert sweeper.sweep(now=ar.ends_at - WINDOW / 4) == 0  # reminded already
    wait_until(lambda: reminders(hub, "ooredoo", msisdn(600)), "the Arabic reminder")
    wait_until(lambda: reminders(hub, "omantel", msisdn(601)), "the English reminder")
    settled(hub, "ooredoo")
    settled(hub, "omantel")
    (ar_text,) = reminders(hub, "ooredoo", msisdn(600))
    (en_text,) = reminders(hub, "omantel", msisdn(601))
    assert ar.ticket_no in ar_text and "شاطئ القرم" in ar_text
    assert ar.ends_at.astimezone(MUSCAT).strftime("%H:%M") in ar_text
    assert en_text.startswith(f"Reminder: parking {en.ticket_no}") and "Al Khuwair" in en_text
    assert en.ends_at.astimezone(MUSCAT).strftime("%H:%M") in en_text
    (after,) = hub.rows(ParkingBooking, msisdn=msisdn(601))
    assert after.reminded_at is not None
    # no reminder once the booking has ended, nor for the already reminded
    assert sweeper.sweep(now=en.ends_at + timedelta(minutes=1)) == 0


def test_an_extended_booking_is_reminded_of_its_new_end(hub: Hub) -> None:
    (car,) = vehicles(1)
    number = msisdn(610)
    first = booked(hub, "friendi", number, english(car, "P301", 30))
    sweeper = hub.worker.reminders
    assert sweeper.sweep(now=first.ends_at - WINDOW / 2) == 1
    wait_until(lambda: reminders(hub, "friendi", number), "the first reminder")
    extended = booked(hub, "friendi", number, arabic(car, "P301", 60), replies=3)
    assert extended.ends_at == first.ends_at + timedelta(minutes=60)
    assert extended.reminded_at is None
    assert sweeper.sweep(now=first.ends_at - WINDOW / 4) == 0  # the old end is past concern
    assert sweeper.sweep(now=extended.ends_at - WINDOW / 2) == 1
    wait_until(lambda: len(reminders(hub, "friendi", number)) == 2, "the second reminder")
    settled(hub, "friendi")
    old, new = reminders(hub, "friendi", number)
    assert old.startswith("Reminder") and first.ends_at.astimezone(MUSCAT).strftime("%H:%M") in old
    # in the language of the message that extended it
    assert new.startswith("تذكير")
    assert extended.ends_at.astimezone(MUSCAT).strftime("%H:%M") in new


def check_sweeps_at_once(hub: Hub) -> None:
    """Four sweeps at the same moment over five due bookings: each claimed by exactly one, and
    each reminder sent once. The sweeps only commit (nothing publishes them): the outbox relay
    sends what a crashed sweeper committed."""
    cars = vehicles(5)
    numbers = [msisdn(620 + i) for i in range(5)]
    for car, number in zip(cars, numbers, strict=True):
        hub.sms("omantel", number, english(car, "P102", 45))
    for number in numbers:
        hub.reply("omantel", number)
    ends = max(b.ends_at for n in numbers for b in hub.rows(ParkingBooking, msisdn=n))
    at = ends - WINDOW / 2
    runtime, start = hub.runtime, threading.Barrier(4)
    claimed: list[list[OutboxEvent]] = []

    def sweep() -> None:
        start.wait(10)
        claimed.append(remind_due(runtime.sessions, runtime.contracts, WINDOW, now=at))

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(claimed) == 4
    ids = [row.id for rows in claimed for row in rows]
    assert len(ids) == len(set(ids)) == 5
    for number in numbers:
        wait_until(lambda n=number: reminders(hub, "omantel", n), "a reminder via the relay")
    settled(hub, "omantel")
    assert all(len(reminders(hub, "omantel", n)) == 1 for n in numbers)


def test_sweeps_at_once_remind_once(hub: Hub) -> None:
    check_sweeps_at_once(hub)


@pytest.mark.e2e
def test_sweeps_at_once_remind_once_on_rabbitmq_and_postgresql(
    hub_on_rabbitmq_postgres: Hub,
) -> None:
    check_sweeps_at_once(hub_on_rabbitmq_postgres)


def test_no_reminder_when_the_setting_is_zero(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sms_reminder_minutes=0)
    with contextmanager(start_hub)(settings) as hub:
        (car,) = vehicles(1)
        booking = booked(hub, "omantel", msisdn(630), english(car, "P101", 30))
        assert not hub.worker.reminders.enabled
        assert hub.worker.reminders.sweep(now=booking.ends_at - timedelta(seconds=1)) == 0


def test_the_reminder_setting_stays_under_the_shortest_booking() -> None:
    with pytest.raises(ValueError, match="sms_reminder_minutes"):
        Settings(sms_reminder_minutes=30)
    assert Settings().sms_reminder_minutes == 10
