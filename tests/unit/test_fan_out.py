"""`Agencies.ask_all` and the gateway under it, with in-process agency clients whose answers
and delays the test sets: which failure decides whatever the arrival order, cancelled calls
recorded, the circuit's state beside the real cause, and kept answers reused only where the
operation allows."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.agencies.answers import Answer
from hub.agencies.connector import CallContext, CallPolicy, Endpoint, Health, Operation
from hub.agencies.gateway import AgencyGateway, CallLog
from hub.audit.chain import digest
from hub.contracts.registry import ContractRegistry
from hub.errors import CircuitOpen, PermanentAgencyError, TransientAgencyError
from hub.flows import Agencies
from tests.fakes import FakeSimulator, vehicle

READ = Operation(
    "vehicle_inquiry",
    "vehicle by plate",
    "urn:muscat-hub:canonical:vehicle-inquiry-request:1.0",
    "urn:muscat-hub:canonical:vehicle-inquiry-response:1.0",
    reuse_answer_s=60.0,
)
WRITE = Operation(
    "parking_violation_settled",
    "a fine paid",
    "urn:muscat-hub:canonical:parking-violation-settled-request:1.0",
    "urn:muscat-hub:canonical:parking-violation-settled-response:1.0",
)
PLATE = {"plate_number": "12345", "plate_code": "AB"}
PAID = {
    "violation_no": "PV-2026-000001",
    "plate_number": "12345",
    "plate_code": "AB",
    "amount_omr": "10.000",
    "payment_reference": "MM-PAY-1",
}
SETTLED = {
    "found": True,
    "settlement_reference": "ROP-STL-1",
    "settled_at": "2026-11-29T08:15:02+00:00",
}
FOUND = {"found": True, "vehicle": vehicle("12345", "AB", "09123456")}
CONTRACTS = ContractRegistry.load()


@dataclass
class Scripted:
    """An agency that answers after `delay_s`, or raises `fails` (one per attempt, the last
    repeated); `calls` counts the attempts that reached it."""

    delay_s: float = 0.0
    fails: tuple[BaseException, ...] = ()
    reply: Mapping[str, Any] | None = None
    calls: int = 0

    async def call(
        self, operation: str, request: Mapping[str, Any], ctx: CallContext
    ) -> Mapping[str, Any]:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        if self.fails:
            raise self.fails[min(self.calls, len(self.fails)) - 1]
        if self.reply is not None:
            return self.reply
        if operation == WRITE.name:
            return SETTLED
        return FOUND

    async def health(self) -> Health:
        return Health(True, "scripted")

    async def aclose(self) -> None:
        return None


class Agency:
    """A connector for one scripted agency."""

    title = "scripted"

    def __init__(self, name: str, client: Scripted, policy: CallPolicy) -> None:
        self.name = name
        self.policy = policy
        self._client = client

    def operations(self) -> Mapping[str, Operation]:
        return {READ.name: READ, WRITE.name: WRITE}

    def client(self, endpoint: Endpoint) -> Scripted:
        return self._client

    def simulator(self, seed: int = 0) -> FakeSimulator:
        return FakeSimulator()


FAST = CallPolicy(timeout_s=5.0, attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02)


def agencies(
    clients: dict[str, Scripted], policy: CallPolicy = FAST, calls: CallLog | None = None
) -> Agencies:
    connectors = {name: Agency(name, client, policy) for name, client in clients.items()}
    gateway = AgencyGateway(connectors, dict(clients), CONTRACTS)
    return Agencies(gateway, CallContext("case", "msg"), calls or CallLog())


def ask_every(fan: Agencies, *names: str) -> list[Mapping[str, Any]]:
    async def run() -> list[Mapping[str, Any]]:
        # A bound, not a timing assertion: a fan-out that hangs fails the test.
        return await asyncio.wait_for(
            fan.ask_all(*[(name, READ.name, PLATE) for name in names]), 10
        )

    return asyncio.run(run())


def refused(agency: str) -> PermanentAgencyError:
    return PermanentAgencyError(agency, READ.name, "SOAP Client fault")


def unavailable(agency: str) -> TransientAgencyError:
    return TransientAgencyError(agency, READ.name, "HTTP 503")


def outcomes(calls: CallLog, agency: str) -> list[str]:
    return [r.outcome for r in calls.records if r.agency == agency]


def test_replies_come_back_in_the_order_asked() -> None:
    other = {"found": False}
    fan = agencies({"a": Scripted(0.03), "b": Scripted(0.0, reply=other)})
    assert ask_every(fan, "a", "b") == [FOUND, other]


@pytest.mark.parametrize("transient_first", [True, False])
def test_a_refusal_decides_whichever_failure_arrives_first(transient_first: bool) -> None:
    slow, quick = (0.0, 0.05) if transient_first else (0.05, 0.0)
    fan = agencies(
        {
            "a": Scripted(slow, fails=(unavailable("a"),)),
            "b": Scripted(quick, fails=(refused("b"),)),
        }
    )
    with pytest.raises(PermanentAgencyError) as caught:
        ask_every(fan, "a", "b")
    assert caught.value.agency == "b"


def test_a_refusal_cancels_a_stalled_call_and_records_it() -> None:
    stalled = Scripted(30.0)
    calls = CallLog()
    fan = agencies({"a": stalled, "b": Scripted(0.02, fails=(refused("b"),))}, calls=calls)
    with pytest.raises(PermanentAgencyError):
        ask_every(fan, "a", "b")
    [cancelled] = [r for r in calls.records if r.agency == "a"]
    assert cancelled.outcome == "cancelled" and cancelled.attempt == 1
    assert cancelled.latency_ms > 0 and stalled.calls == 1


def test_a_call_waiting_to_retry_is_cancelled_and_recorded() -> None:
    calls = CallLog()
    patient = CallPolicy(timeout_s=5.0, attempts=3, backoff_initial_s=30.0, backoff_max_s=30.0)
    clients = {
        "a": Scripted(0.0, fails=(unavailable("a"),)),
        "b": Scripted(0.05, fails=(refused("b"),)),
    }
    fan = agencies(clients, patient, calls)
    with pytest.raises(PermanentAgencyError):
        ask_every(fan, "a", "b")
    assert outcomes(calls, "a") == ["transient", "cancelled"]
    assert [r.attempt for r in calls.records if r.agency == "a"] == [1, 2]
    assert clients["a"].calls == 1  # the second attempt never started


def test_transient_failures_let_the_others_finish_and_the_first_asked_decides() -> None:
    calls = CallLog()
    slow = Scripted(0.05)
    fan = agencies(
        {
            "a": Scripted(0.0),
            "b": Scripted(0.03, fails=(unavailable("b"),)),
            "c": Scripted(0.0, fails=(unavailable("c"),)),
            "d": slow,
        },
        calls=calls,
    )
    with pytest.raises(TransientAgencyError) as caught:
        ask_every(fan, "a", "b", "c", "d")
    assert caught.value.agency == "b"  # asked before c, though c failed first
    assert outcomes(calls, "d") == ["ok"] and len(calls.answers) == 2  # a and d answered


@pytest.mark.parametrize("held_first", [True, False])
def test_a_real_transient_failure_wins_over_an_open_circuit(held_first: bool) -> None:
    fan = agencies(
        {"a": Scripted(0.0 if held_first else 0.05), "b": Scripted(0.02, fails=(unavailable("b"),))}
    )
    fan._gateway.breakers["a"].open()
    with pytest.raises(TransientAgencyError) as caught:
        ask_every(fan, "a", "b")
    assert not isinstance(caught.value, CircuitOpen) and caught.value.agency == "b"


def test_a_bug_in_one_call_cancels_the_rest_and_surfaces_as_itself() -> None:
    calls = CallLog()
    fan = agencies(
        {"a": Scripted(30.0), "b": Scripted(0.01, fails=(RuntimeError("flow bug"),))}, calls=calls
    )
    with pytest.raises(RuntimeError, match="flow bug"):
        ask_every(fan, "a", "b")
    assert outcomes(calls, "a") == ["cancelled"]


def test_an_open_circuit_keeps_the_real_cause_beside_its_state() -> None:
    tripping = CallPolicy(timeout_s=5.0, attempts=1, circuit_failures=1, circuit_reset_s=40.0)
    calls = CallLog()
    fan = agencies({"a": Scripted(0.0, fails=(unavailable("a"),))}, tripping, calls)
    with pytest.raises(TransientAgencyError):
        ask_every(fan, "a")
    with pytest.raises(CircuitOpen) as caught:
        ask_every(fan, "a")
    assert "a.vehicle_inquiry: HTTP 503 (circuit open; next trial in" in str(caught.value)
    held = calls.records[-1]
    assert (held.outcome, held.error, held.circuit) == ("circuit-open", "HTTP 503", "open")
    assert held.next_trial_s is not None and 0 < held.next_trial_s <= 40.0
    assert {"circuit", "next_trial_s"} <= set(held.as_detail())


def test_a_circuit_opened_by_hand_says_so_without_inventing_a_cause() -> None:
    calls = CallLog()
    fan = agencies({"a": Scripted()}, calls=calls)
    fan._gateway.breakers["a"].open()
    with pytest.raises(CircuitOpen, match=r"a\.vehicle_inquiry: circuit open; next trial in"):
        ask_every(fan, "a")
    assert calls.records[-1].error == "circuit open"


def kept(operation: Operation, request: Mapping[str, Any], reply: Mapping[str, Any], age_s: float):  # type: ignore[no-untyped-def]
    answer = Answer(
        "a",
        operation.name,
        digest(dict(request)),
        reply,
        datetime.now(UTC) - timedelta(seconds=age_s),
    )
    return {answer.key: answer}


def ask_one(fan: Agencies, operation: Operation, request: Mapping[str, Any]) -> Mapping[str, Any]:
    return asyncio.run(fan.ask("a", operation.name, request))


def test_a_fresh_kept_answer_of_a_lookup_is_reused_without_calling() -> None:
    client = Scripted()
    calls = CallLog(reusable=kept(READ, PLATE, {"found": False}, age_s=5))
    assert ask_one(agencies({"a": client}, calls=calls), READ, PLATE) == {"found": False}
    assert client.calls == 0
    [record] = calls.records
    assert (record.outcome, record.attempt) == ("reused", 0) and record.answered_at
    assert calls.answers == []  # already kept, with the time the agency gave it


def test_a_stale_or_contract_breaking_kept_answer_is_asked_again() -> None:
    for reusable in (
        kept(READ, PLATE, {"found": False}, age_s=61),
        kept(READ, PLATE, {"found": "perhaps"}, age_s=5),
    ):
        client = Scripted()
        calls = CallLog(reusable=reusable)
        assert ask_one(agencies({"a": client}, calls=calls), READ, PLATE) == FOUND
        assert client.calls == 1 and outcomes(calls, "a") == ["ok"]
        assert [a.reply for a in calls.answers] == [FOUND]


def test_a_write_is_always_sent_and_never_kept() -> None:
    client = Scripted()
    calls = CallLog(reusable=kept(WRITE, PAID, SETTLED, age_s=1))
    ask_one(agencies({"a": client}, calls=calls), WRITE, PAID)
    assert client.calls == 1 and outcomes(calls, "a") == ["ok"] and calls.answers == []
