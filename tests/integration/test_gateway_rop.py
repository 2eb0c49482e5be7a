"""The gateway in front of the real ROP client and simulator on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping

import pytest
from prometheus_client import REGISTRY

from connectors.rop import connector as rop_connector
from connectors.rop.simulator import RopSimulator
from hub.agencies.connector import CallContext, CallPolicy, Endpoint
from hub.agencies.gateway import AgencyGateway, CallLog
from hub.contracts.registry import ContractRegistry
from hub.errors import AgencyAuthError, PermanentAgencyError, TransientAgencyError
from hub.serving import LoopbackServer


def calls_labelled(source: str) -> float:
    """How many ROP vehicle inquiries the latency histogram counted with this error source."""
    labels = {"agency": "rop", "operation": "vehicle_inquiry", "error_source": source}
    return REGISTRY.get_sample_value("hub_agency_call_seconds_count", labels) or 0.0


FAST = CallPolicy(timeout_s=1.0, attempts=3, backoff_initial_s=0.01, backoff_max_s=0.05)


@pytest.fixture
def simulator() -> Iterator[tuple[RopSimulator, str]]:
    sim = RopSimulator()
    with LoopbackServer(sim.app) as server:
        yield sim, server.url


def ask(  # type: ignore[no-untyped-def]
    sim_url: tuple[RopSimulator, str],
    plate: tuple[str, str],
    calls: CallLog,
    credentials: Mapping[str, str] | None = None,
):
    sim, url = sim_url
    connector = rop_connector.with_policy(FAST)

    async def go():  # type: ignore[no-untyped-def]
        client = connector.client(Endpoint(url, credentials or sim.credentials))
        gateway = AgencyGateway({"rop": connector}, {"rop": client}, ContractRegistry.load())
        try:
            return await gateway.call(
                "rop",
                "vehicle_inquiry",
                {"plate_number": plate[0], "plate_code": plate[1]},
                CallContext("case-42", "evt-42"),
                calls,
            )
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_reply_is_canonical_and_the_case_travels_to_the_agency(simulator) -> None:  # type: ignore[no-untyped-def]
    calls = CallLog()
    reply = ask(simulator, ("12345", "AB"), calls)
    assert reply["vehicle"]["owner"]["name_ar"] == "سالم بن حمد الحارثي"
    assert list(simulator[0].seen_correlation_ids) == ["case-42"]
    [record] = calls.records
    assert (record.outcome, record.attempt) == ("ok", 1)
    assert record.response_digest and record.response_digest.startswith("sha256:")


def test_outage_is_retried_in_process_then_raised_as_transient(simulator) -> None:  # type: ignore[no-untyped-def]
    simulator[0].set_fault("outage")
    calls = CallLog()
    with pytest.raises(TransientAgencyError):
        ask(simulator, ("12345", "AB"), calls)
    assert [r.attempt for r in calls.records] == [1, 2, 3]
    assert {r.outcome for r in calls.records} == {"transient"}


def test_contract_breaking_reply_is_not_retried(simulator) -> None:  # type: ignore[no-untyped-def]
    simulator[0].set_fault("contract-break")
    calls = CallLog()
    with pytest.raises(PermanentAgencyError, match="rop.xsd"):
        ask(simulator, ("12345", "AB"), calls)
    assert len(calls.records) == 1


def test_rate_limit_waits_for_retry_after(simulator) -> None:  # type: ignore[no-untyped-def]
    sim = simulator[0]
    sim.set_fault("rate-limit")
    calls = CallLog()

    # The agency lifts the limit while the gateway waits the 1 s it was told to.
    async def lift() -> None:
        await asyncio.sleep(0.5)
        sim.set_fault("none")

    async def both():  # type: ignore[no-untyped-def]
        lifter = asyncio.create_task(lift())
        result = await asyncio.to_thread(ask, simulator, ("12345", "AB"), calls)
        await lifter
        return result

    limited = calls_labelled("rate-limit")
    reply = asyncio.run(both())
    assert reply["found"] is True
    assert [r.outcome for r in calls.records] == ["transient", "ok"]
    assert calls_labelled("rate-limit") == limited + 1  # the 429 reached the metric by class


def test_refused_credentials_are_not_retried_and_counted_as_auth(simulator) -> None:  # type: ignore[no-untyped-def]
    refused = calls_labelled("auth")
    calls = CallLog()
    with pytest.raises(AgencyAuthError):
        ask(simulator, ("12345", "AB"), calls, {"username": "hub", "password": "guessed"})
    assert [r.outcome for r in calls.records] == ["permanent"]
    assert calls_labelled("auth") == refused + 1


def test_circuit_opens_after_repeated_outage_and_stops_calling(simulator) -> None:  # type: ignore[no-untyped-def]
    sim, url = simulator
    connector = rop_connector.with_policy(
        CallPolicy(
            timeout_s=1.0,
            attempts=2,
            backoff_initial_s=0.01,
            backoff_max_s=0.02,
            circuit_failures=3,
            circuit_reset_s=60.0,
        )
    )
    sim.set_fault("outage")

    async def go() -> tuple[list[str], str]:
        client = connector.client(Endpoint(url, sim.credentials))
        gateway = AgencyGateway({"rop": connector}, {"rop": client}, ContractRegistry.load())
        outcomes = []
        try:
            for _ in range(3):
                calls = CallLog()
                with pytest.raises(TransientAgencyError) as caught:
                    await gateway.call(
                        "rop",
                        "vehicle_inquiry",
                        {"plate_number": "12345", "plate_code": "AB"},
                        CallContext("case", "evt"),
                        calls,
                    )
                outcomes.append(
                    type(caught.value).__name__ + ":" + ",".join(r.outcome for r in calls.records)
                )
            return outcomes, gateway.circuit("rop")
        finally:
            await client.aclose()

    outcomes, state = asyncio.run(go())
    # The third failure in a row trips it; from then on no call reaches the agency.
    assert outcomes == [
        "TransientAgencyError:transient,transient",
        "CircuitOpen:transient,circuit-open",
        "CircuitOpen:circuit-open",
    ]
    assert state == "open"


def test_circuit_half_opens_and_closes_when_the_agency_returns(simulator) -> None:  # type: ignore[no-untyped-def]
    sim, url = simulator
    connector = rop_connector.with_policy(
        CallPolicy(timeout_s=1.0, attempts=1, circuit_failures=1, circuit_reset_s=0.2)
    )

    async def go() -> list[str]:
        client = connector.client(Endpoint(url, sim.credentials))
        gateway = AgencyGateway({"rop": connector}, {"rop": client}, ContractRegistry.load())
        request = {"plate_number": "12345", "plate_code": "AB"}
        states = []
        try:
            sim.set_fault("outage")
            with pytest.raises(TransientAgencyError):
                await gateway.call(
                    "rop", "vehicle_inquiry", request, CallContext("c", "e"), CallLog()
                )
            states.append(gateway.circuit("rop"))
            sim.set_fault("none")
            await asyncio.sleep(0.3)
            states.append(gateway.circuit("rop"))
            await gateway.call("rop", "vehicle_inquiry", request, CallContext("c", "e"), CallLog())
            states.append(gateway.circuit("rop"))
        finally:
            await client.aclose()
        return states

    assert asyncio.run(go()) == ["open", "half-open", "closed"]


def test_configured_rate_limit_replaces_the_declared_one() -> None:
    connector = rop_connector  # declares 20 calls/s
    contracts = ContractRegistry.load()
    lifted = AgencyGateway({"rop": connector}, {}, contracts, rate_limits={"rop": 0})
    tighter = AgencyGateway({"rop": connector}, {}, contracts, rate_limits={"rop": 2})
    shipped = AgencyGateway({"rop": connector}, {}, contracts)
    assert "rop" not in lifted._limiters
    assert tighter._limiters["rop"].max_rate == 2
    assert shipped._limiters["rop"].max_rate == 20
