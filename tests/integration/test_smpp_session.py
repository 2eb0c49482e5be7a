"""The ESME session against the SMSC simulator, through real SMPP 3.4 on loopback: bind,
submit with receipts, UCS-2 and concatenation, residents' messages, and each SMSC fault."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import pytest

from connectors.telco.session import (
    EsmeSession,
    MobileOriginated,
    SessionSettings,
    SmppFailure,
    backoff_s,
)
from connectors.telco.smsc import SmscSimulator

RESIDENT = "96891234567"


@pytest.fixture
def smsc() -> Iterator[SmscSimulator]:
    sim = SmscSimulator("hub-omantel", "s3cret")
    yield sim
    sim.close()


def settings(smsc: SmscSimulator, password: str = "s3cret") -> SessionSettings:
    return SessionSettings(
        "127.0.0.1",
        smsc.port,
        "hub-omantel",
        password,
        response_timeout_s=1.0,
        backoff_initial_s=0.02,
        backoff_max_s=0.1,
        enquire_link_s=0.2,
    )


def run(
    smsc: SmscSimulator,
    body: Callable[[EsmeSession, list[MobileOriginated]], Awaitable[None]],
    password: str = "s3cret",
) -> None:
    async def main() -> None:
        got: list[MobileOriginated] = []

        async def on_message(message: MobileOriginated) -> None:
            got.append(message)

        session = EsmeSession("omantel", settings(smsc, password), on_message)
        try:
            await body(session, got)
        finally:
            await session.stop()

    asyncio.run(main())


async def until(check: Callable[[], bool], timeout_s: float = 3.0) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def test_a_submit_is_answered_and_its_receipt_matched(smsc: SmscSimulator) -> None:
    async def body(session: EsmeSession, _: list[MobileOriginated]) -> None:
        ids = await session.submit("90091", RESIDENT, "Ticket P-1: 12345 AB")
        assert len(ids) == 1
        assert await session.receipt(ids[0], 3.0) == "DELIVRD"
        assert [s.text for s in smsc.texts_to(RESIDENT)] == ["Ticket P-1: 12345 AB"]
        assert not smsc.submitted[0].ucs2

    run(smsc, body)


def test_long_arabic_goes_as_ucs2_concatenated_parts(smsc: SmscSimulator) -> None:
    text = "تم حجز الموقف للوحة ١٢٣٤٥ أ ب حتى الساعة ١٠:٣٠. " * 3

    async def body(session: EsmeSession, _: list[MobileOriginated]) -> None:
        ids = await session.submit("90091", RESIDENT, text)
        assert len(ids) >= 2
        (sent,) = smsc.texts_to(RESIDENT)
        assert sent.text == text and sent.ucs2 and sent.parts == len(ids)

    run(smsc, body)


def test_residents_messages_arrive_with_the_smsc_id_and_duplicates_keep_it(
    smsc: SmscSimulator,
) -> None:
    async def body(session: EsmeSession, got: list[MobileOriginated]) -> None:
        assert await session.wait_bound(2.0)
        first = await asyncio.to_thread(smsc.inject, RESIDENT, "12345 AB P101 60")
        smsc.set_smpp_fault("duplicate")
        second = await asyncio.to_thread(smsc.inject, RESIDENT, "١٢٣٤٥ أ ب ٦٠ P101")
        await until(lambda: len(got) == 3)
        assert [m.smsc_message_id for m in got] == [first, second, second]
        assert got[1].text == "١٢٣٤٥ أ ب ٦٠ P101" and got[0].destination == "90091"

    run(smsc, body)


def test_a_dropped_link_is_bound_again(smsc: SmscSimulator) -> None:
    async def body(session: EsmeSession, _: list[MobileOriginated]) -> None:
        assert await session.wait_bound(2.0)
        smsc.set_smpp_fault("drop")
        await until(lambda: session.binds == 1 and not session._bound.is_set())
        smsc.set_smpp_fault("none")
        await until(lambda: session.binds == 2)
        assert await session.submit("90091", RESIDENT, "after the drop")

    run(smsc, body)


def test_refused_binds_are_an_auth_failure(smsc: SmscSimulator) -> None:
    async def body(session: EsmeSession, _: list[MobileOriginated]) -> None:
        with pytest.raises(SmppFailure) as caught:
            await session.submit("90091", RESIDENT, "x")
        assert caught.value.kind == "auth" and session.binds == 0

    run(smsc, body, password="wrong")


def test_throttling_is_told_apart(smsc: SmscSimulator) -> None:
    async def body(session: EsmeSession, _: list[MobileOriginated]) -> None:
        assert await session.wait_bound(2.0)
        smsc.set_smpp_fault("throttle")
        with pytest.raises(SmppFailure) as caught:
            await session.submit("90091", RESIDENT, "x")
        assert caught.value.kind == "throttled"
        assert list(smsc.texts_to(RESIDENT)) == []

    run(smsc, body)


def test_delayed_receipts_are_still_matched(smsc: SmscSimulator) -> None:
    smsc.receipt_delay_s = 0.3

    async def body(session: EsmeSession, _: list[MobileOriginated]) -> None:
        smsc.set_smpp_fault("delay-receipts")
        (message_id,) = await session.submit("90091", RESIDENT, "late receipt")
        assert message_id not in session.receipts
        assert await session.receipt(message_id, 3.0) == "DELIVRD"

    run(smsc, body)


def test_the_enquire_link_keeps_the_link_up(smsc: SmscSimulator) -> None:
    async def body(session: EsmeSession, _: list[MobileOriginated]) -> None:
        assert await session.wait_bound(2.0)
        await asyncio.sleep(0.5)  # a few keep-alives at 0.2 s
        assert session.binds == 1 and await session.submit("90091", RESIDENT, "still up")

    run(smsc, body)


def test_backoff_is_capped_and_jittered() -> None:
    delays = [backoff_s(attempt, 0.1, 2.0) for attempt in range(30)]
    assert all(0.05 <= d <= 2.0 for d in delays)
    assert len(set(delays)) > 1


def test_unknown_smpp_faults_are_refused(smsc: SmscSimulator) -> None:
    with pytest.raises(ValueError, match="meltdown"):
        smsc.set_smpp_fault("meltdown")
