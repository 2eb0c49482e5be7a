"""The telco part of the conformance suite: what HTTP fault modes cannot show about a connector
that also speaks SMPP to its SMSC. Every installed connector whose simulator has an SMSC
(`smsc`) is checked: a refused bind is an auth failure, throttling is rate limiting, a dropped
link is bound again, receipts are matched to the sent ids, long Arabic leaves as UCS-2 parts,
and a resident's message reaches whoever listens."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from hub.agencies.connector import Endpoint, load_connectors
from hub.contracts.registry import ContractRegistry
from hub.errors import AgencyAuthError, AgencyRateLimited, PermanentAgencyError
from tests.conformance.harness import AgencyUnderTest, fast, serve

CONNECTORS = load_connectors()
CONTRACTS = ContractRegistry.load()
RESIDENT = "96891234567"


def telcos() -> list[str]:
    """Connectors whose simulator carries an SMSC (found by looking, not by name)."""
    found = []
    for name, connector in sorted(CONNECTORS.items()):
        simulator = connector.simulator(0)
        try:
            if hasattr(simulator, "smsc"):
                found.append(name)
        finally:
            close = getattr(simulator, "close", None)
            if close is not None:
                close()
    return found


@pytest.fixture(scope="module", params=telcos())
def telco(request: pytest.FixtureRequest) -> Iterator[AgencyUnderTest]:
    served = serve(CONNECTORS[request.param], CONTRACTS)
    try:
        yield served
    finally:
        served.server.stop()
        served.simulator.close()  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def no_fault(telco: AgencyUnderTest) -> Iterator[None]:
    smsc: Any = telco.simulator.smsc  # type: ignore[attr-defined]
    smsc.set_smpp_fault("none")
    yield
    smsc.set_smpp_fault("none")


def smsc_of(telco: AgencyUnderTest) -> Any:
    return telco.simulator.smsc  # type: ignore[attr-defined]


def send(text: str) -> Mapping[str, Any]:
    return {"to": RESIDENT, "text": text}


def test_a_refused_bind_is_an_auth_failure_not_retried(telco: AgencyUnderTest) -> None:
    smsc_of(telco).set_smpp_fault("refuse-binds")
    with pytest.raises(AgencyAuthError) as caught:
        telco.call("send_sms", send("hello"), attempts=3)
    assert isinstance(caught.value, PermanentAgencyError) and caught.value.agency == telco.name
    assert len(telco.calls.records) == 1


def test_throttling_is_rate_limiting(telco: AgencyUnderTest) -> None:
    smsc_of(telco).set_smpp_fault("throttle")
    with pytest.raises(AgencyRateLimited) as caught:
        telco.call("send_sms", send("hello"))
    assert caught.value.retry_after is not None and caught.value.retry_after > 0


def test_a_long_arabic_reply_leaves_as_ucs2_parts_and_arrives_whole(telco: AgencyUnderTest) -> None:
    text = "تم حجز الموقف في شاطئ القرم لمدة ساعة واحدة. " * 4
    reply = telco.call("send_sms", send(text))
    assert reply["parts"] > 1 and reply["encoding"] == "ucs2"
    received = [s for s in smsc_of(telco).texts_to(RESIDENT) if s.text == text]
    assert len(received) == 1 and received[0].ucs2 and received[0].parts == reply["parts"]


def test_a_dropped_link_is_bound_again_and_receipts_match_the_sent_ids(
    telco: AgencyUnderTest,
) -> None:
    smsc = smsc_of(telco)
    quick = fast(telco.connector, 1)

    async def run() -> tuple[int, list[str], dict[str, str]]:
        client: Any = quick.client(Endpoint(telco.server.url, dict(telco.simulator.credentials)))
        try:
            session = client.session
            assert await session.wait_bound(2.0)
            first = session.binds
            smsc.set_smpp_fault("drop")
            smsc.set_smpp_fault("none")
            for _ in range(200):  # bounded: the backoff starts at 0.1 s
                if session.binds > first:
                    break
                await asyncio.sleep(0.02)
            ids = await session.submit("90091", RESIDENT, "after the drop")
            receipts = {i: await session.receipt(i, 2.0) for i in ids}
            return session.binds - first, ids, receipts
        finally:
            await client.aclose()

    rebinds, ids, receipts = asyncio.run(run())
    assert rebinds >= 1
    assert ids and receipts == {i: "DELIVRD" for i in ids}


def test_a_residents_message_reaches_the_listener(telco: AgencyUnderTest) -> None:
    smsc = smsc_of(telco)
    quick = fast(telco.connector, 1)

    async def run() -> list[Mapping[str, str]]:
        got: list[Mapping[str, str]] = []
        client: Any = quick.client(Endpoint(telco.server.url, dict(telco.simulator.credentials)))

        async def deliver(message: Mapping[str, str]) -> None:
            got.append(message)

        try:
            client.listen(deliver)
            assert await client.session.wait_bound(2.0)
            await asyncio.to_thread(smsc.inject, RESIDENT, "١٢٣٤٥ أ ب P101 ٦٠")
            for _ in range(100):
                if got:
                    break
                await asyncio.sleep(0.02)
            return got
        finally:
            await client.aclose()

    got = asyncio.run(run())
    assert [(m["telco"], m["msisdn"], m["text"]) for m in got] == [
        (telco.name, RESIDENT, "١٢٣٤٥ أ ب P101 ٦٠")
    ]
    assert got[0]["smsc_message_id"]
