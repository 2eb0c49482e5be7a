"""The conformance suite: the same checks against every installed connector and its simulator.

Connectors come from the `hub.connectors` entry points, so a plugin installed as a separate
package is picked up with no edit here; `-k NAME` runs the suite for one connector.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hub.agencies.connector import FAULT_MODES, load_connectors
from hub.contracts.registry import ContractRegistry
from hub.errors import (
    AgencyAuthError,
    AgencyRateLimited,
    PermanentAgencyError,
    TransientAgencyError,
)
from tests.conformance.harness import AgencyUnderTest, serve

CONNECTORS = load_connectors()
CONTRACTS = ContractRegistry.load()

ARABIC = re.compile("[\u0600-\u06ff]")
# UTF-8 Arabic read as Latin-1 or CP1252 turns into runs of these; U+FFFD is a lost byte.
MOJIBAKE = re.compile("[\u00c0-\u00ff\ufffd]|\\\\u06")

TRANSIENT_FAULTS = ("error", "outage", "timeout", "rate-limit")
PERMANENT_FAULTS = ("malformed", "contract-break")


@pytest.fixture(scope="module", params=sorted(CONNECTORS))
def agency(request: pytest.FixtureRequest) -> Iterator[AgencyUnderTest]:
    served = serve(CONNECTORS[request.param], CONTRACTS)
    try:
        yield served
    finally:
        served.server.stop()
        close = getattr(served.simulator, "close", None)  # a telco's SMSC runs beside its API
        if close is not None:
            close()


@pytest.fixture(autouse=True)
def no_fault(agency: AgencyUnderTest) -> Iterator[None]:
    agency.simulator.set_fault("none")
    yield
    agency.simulator.set_fault("none")


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def test_the_connector_declares_operations_with_known_contracts(agency: AgencyUnderTest) -> None:
    operations = agency.connector.operations()
    assert operations, f"{agency.name} declares no operation"
    assert agency.connector.policy.timeout_s > 0 and agency.connector.policy.attempts >= 1
    for name, op in operations.items():
        assert op.name == name
        assert CONTRACTS.get(op.request_contract).kind == "canonical"
        assert CONTRACTS.get(op.response_contract).kind == "canonical"
        assert agency.examples(name), f"{op.request_contract} has no request example"


def test_every_request_example_gets_a_reply_that_satisfies_the_response_contract(
    agency: AgencyUnderTest,
) -> None:
    for name, op in agency.connector.operations().items():
        for example in agency.examples(name):
            reply = agency.call(name, example)
            assert CONTRACTS.errors(op.response_contract, dict(reply)) == [], (name, example)
            assert [r.outcome for r in agency.calls.records] == ["ok"]


def test_arabic_text_survives_the_round_trip(agency: AgencyUnderTest) -> None:
    texts = [
        text
        for name in agency.connector.operations()
        for example in agency.examples(name)
        for text in strings(dict(agency.call(name, example)))
    ]
    arabic = [t for t in texts if ARABIC.search(t)]
    assert arabic, f"no reply of {agency.name} carried Arabic text"
    assert [t for t in texts if MOJIBAKE.search(t)] == []


def test_the_correlation_id_reaches_the_agency(agency: AgencyUnderTest) -> None:
    seen = getattr(agency.simulator, "seen_correlation_ids", None)
    if seen is None:
        pytest.skip(f"{agency.name}'s simulator does not record correlation ids")
    operation, example = agency.first_example()
    agency.call(operation, example, correlation_id="case-conformance-7")
    assert "case-conformance-7" in list(seen)


def test_latency_still_answers(agency: AgencyUnderTest) -> None:
    agency.simulator.set_fault("latency")
    operation, example = agency.first_example()
    op = agency.connector.operations()[operation]
    assert CONTRACTS.errors(op.response_contract, dict(agency.call(operation, example))) == []


@pytest.mark.parametrize("mode", TRANSIENT_FAULTS)
def test_transient_faults_raise_transient_errors(agency: AgencyUnderTest, mode: str) -> None:
    agency.simulator.set_fault(mode)
    operation, example = agency.first_example()
    with pytest.raises(TransientAgencyError) as caught:
        agency.call(operation, example)
    assert caught.value.agency == agency.name
    if mode == "rate-limit":  # "slow down" must be told from an outage (metrics, operators)
        assert isinstance(caught.value, AgencyRateLimited), type(caught.value)
        assert caught.value.retry_after is not None and caught.value.retry_after > 0
    else:
        assert not isinstance(caught.value, AgencyRateLimited), type(caught.value)


def test_transient_faults_are_retried_in_process(agency: AgencyUnderTest) -> None:
    agency.simulator.set_fault("outage")
    operation, example = agency.first_example()
    with pytest.raises(TransientAgencyError):
        agency.call(operation, example, attempts=2)
    assert [r.attempt for r in agency.calls.records] == [1, 2]


def test_the_connectors_own_timeout_holds(agency: AgencyUnderTest) -> None:
    """The client gives up by itself within its policy's timeout, before the gateway's guard
    (twice that) has to cut it off."""
    agency.simulator.set_fault("timeout")
    operation, example = agency.first_example()
    with pytest.raises(TransientAgencyError) as caught:
        agency.call(operation, example)
    assert "guard timeout" not in caught.value.reason
    assert [r.outcome for r in agency.calls.records] == ["transient"]


@pytest.mark.parametrize("mode", PERMANENT_FAULTS)
def test_unusable_replies_are_permanent_and_not_retried(agency: AgencyUnderTest, mode: str) -> None:
    agency.simulator.set_fault(mode)
    operation, example = agency.first_example()
    with pytest.raises(PermanentAgencyError) as caught:
        agency.call(operation, example, attempts=3)
    assert caught.value.reason
    assert not isinstance(caught.value, AgencyAuthError), "an unusable reply is no refusal"
    assert len(agency.calls.records) == 1


def test_refused_credentials_are_permanent_and_say_so(agency: AgencyUnderTest) -> None:
    """Refused credentials raise `AgencyAuthError` (a `PermanentAgencyError`), so they are
    never retried and show as auth failures, not as the agency's own."""
    wrong = {key: f"wrong-{value}" for key, value in agency.simulator.credentials.items()}
    if not wrong:
        pytest.skip(f"{agency.name}'s simulator asks for no credentials")
    operation, example = agency.first_example()
    with pytest.raises(AgencyAuthError) as caught:
        agency.call(operation, example, attempts=3, credentials=wrong)
    assert isinstance(caught.value, PermanentAgencyError)
    assert caught.value.agency == agency.name
    assert len(agency.calls.records) == 1


def test_health_tells_reachable_from_down(agency: AgencyUnderTest) -> None:
    up = agency.health()
    assert up.reachable and up.latency_ms is not None
    agency.simulator.set_fault("outage")
    assert not agency.health().reachable


def test_faults_switch_at_run_time_over_http(agency: AgencyUnderTest) -> None:
    admin = f"{agency.server.url}/_sim/fault"
    for mode in FAULT_MODES:
        assert httpx.post(admin, json={"mode": mode}).json() == {"mode": mode}
        assert agency.simulator.fault == mode
        assert httpx.get(admin).json() == {"mode": mode}
    refused = httpx.post(admin, json={"mode": "meltdown"})
    assert refused.status_code == 400 and "outage" in refused.json()["modes"]
    with pytest.raises(ValueError, match="meltdown"):
        agency.simulator.set_fault("meltdown")


def test_an_operation_the_connector_does_not_declare_is_refused_at_the_door(
    agency: AgencyUnderTest,
) -> None:
    """The gateway is the one door to a client: an undeclared operation is a permanent error
    there, and no attempt reaches the client or the agency (clients need no check of their
    own, and have none)."""
    _, example = agency.first_example()
    with pytest.raises(PermanentAgencyError, match="no such operation"):
        agency.call("no_such_operation", example)
    assert agency.calls.records == []
