"""ElectricityClient against the electricity simulator on loopback: real HTTP, real SOAP, every
fault mode, and a stock zeep client reading the served WSDL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import zeep
from starlette.responses import Response
from zeep.wsse.username import UsernameToken

from connectors import world
from connectors.electricity import (
    ElectricityClient,
    ElectricitySimulator,
    connector,
    data,
)
from hub.agencies.connector import (
    CallContext,
    CallPolicy,
    Connector,
    Endpoint,
    Health,
    current_call,
)
from hub.contracts.registry import ContractRegistry
from hub.errors import (
    AgencyAuthError,
    AgencyRateLimited,
    ConfigurationError,
    PermanentAgencyError,
    TransientAgencyError,
)
from hub.serving import LoopbackServer

TIMEOUT_S = 0.5
POLICY = CallPolicy(timeout_s=TIMEOUT_S, attempts=1)
CTX = CallContext(correlation_id="corr-elec-1", message_id="msg-1")
KNOWN = {"account_no": data.EXAMPLE_ACCOUNT}
STANDING_RESPONSE = "urn:muscat-hub:canonical:electricity-account-standing-response:1.0"
CONNECTION_REQUEST = "urn:muscat-hub:canonical:electricity-new-connection-request:1.0"
CONNECTION_RESPONSE = "urn:muscat-hub:canonical:electricity-new-connection-response:1.0"


@pytest.fixture(scope="module")
def registry() -> ContractRegistry:
    return ContractRegistry.load()


@pytest.fixture(scope="module")
def simulator() -> ElectricitySimulator:
    return ElectricitySimulator(seed=0, latency_s=0.2, stall_s=10.0)


@pytest.fixture(scope="module")
def server(simulator: ElectricitySimulator) -> Iterator[LoopbackServer]:
    with LoopbackServer(simulator.app) as running:
        yield running


@pytest.fixture(autouse=True)
def no_fault(simulator: ElectricitySimulator) -> Iterator[None]:
    simulator.set_fault("none")
    yield
    simulator.set_fault("none")


def ask(
    server: LoopbackServer,
    credentials: Mapping[str, str],
    request: Mapping[str, Any] = KNOWN,
    operation: str = "account_standing",
) -> Mapping[str, Any]:
    """One call through a fresh ElectricityClient, closed afterwards, in a call context as the
    gateway sets it."""

    async def run() -> Mapping[str, Any]:
        current_call.set(CTX)
        client = connector.with_policy(POLICY).client(Endpoint(server.url, credentials))
        try:
            return await client.call(operation, request, CTX)
        finally:
            await client.aclose()

    return asyncio.run(run())


def connection_request(permit_no: str, load_kva: int = 60) -> dict[str, Any]:
    return {
        "permit_no": permit_no,
        "owner_civil_id": "11872045",
        "owner_name_en": "Aisha bint Said Al Balushi",
        "owner_name_ar": "عائشة بنت سعيد البلوشية",
        "plot_no": "4/2210",
        "wilayat": "Seeb",
        "load_kva": load_kva,
    }


def test_connector_is_a_plugin_the_core_accepts() -> None:
    assert isinstance(connector, Connector)
    assert connector.name == "electricity"
    assert set(connector.operations()) == {"account_standing", "new_connection_request"}
    assert connector.simulator().credentials == {
        "username": "hub",
        "password": "electricity-sim-secret",
    }


def test_missing_credentials_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="username"):
        connector.client(Endpoint("http://127.0.0.1:9"))


def test_known_account_round_trips_with_arabic_intact(
    server: LoopbackServer, simulator: ElectricitySimulator, registry: ContractRegistry
) -> None:
    reply = ask(server, simulator.credentials)
    holder = world.by_account(data.EXAMPLE_ACCOUNT)
    assert holder is not None
    account = reply["account"]
    assert reply["found"] is True
    assert account["holder_name_ar"] == "شركة النور للتجارة ش.م.م" == holder.name_ar
    assert account["premises_id"] == holder.premises_id == "MCT-PR-00123"
    assert (account["status"], account["arrears_omr"]) == ("active", "0.000")
    registry.validate(STANDING_RESPONSE, dict(reply))
    assert CTX.correlation_id in simulator.seen_correlation_ids


def test_account_in_arrears_keeps_every_baisa(
    server: LoopbackServer, simulator: ElectricitySimulator
) -> None:
    debtor = max(world.with_weakness("arrears"), key=lambda e: float(e.arrears_omr))
    reply = ask(server, simulator.credentials, {"account_no": debtor.account_no})
    account = reply["account"]
    assert account["arrears_omr"] == debtor.arrears_omr
    assert account["status"] == "disconnected"  # the largest debt is over the cut-off
    assert date.fromisoformat(account["last_payment_date"]) < date.today() - timedelta(days=90)


def test_unknown_account_is_not_found(
    server: LoopbackServer, simulator: ElectricitySimulator
) -> None:
    [unknown] = data.unknown_account_numbers(1)
    assert ask(server, simulator.credentials, {"account_no": unknown}) == {"found": False}


def test_new_connection_is_filed_once_per_permit(
    server: LoopbackServer, simulator: ElectricitySimulator, registry: ContractRegistry
) -> None:
    request = connection_request("MCT-BP-2026-900001", load_kva=150)
    registry.validate(CONNECTION_REQUEST, request)
    first = ask(server, simulator.credentials, request, "new_connection_request")
    again = ask(server, simulator.credentials, request, "new_connection_request")
    other = ask(
        server,
        simulator.credentials,
        connection_request("MCT-BP-2026-900002"),
        "new_connection_request",
    )
    registry.validate(CONNECTION_RESPONSE, dict(first))
    assert first == again and first["permit_no"] == "MCT-BP-2026-900001"
    assert other["request_no"] != first["request_no"]
    expected = date.today() + timedelta(days=data.lead_days(150))
    assert first["expected_connection_date"] == expected.isoformat()


def test_a_wilayat_outside_muscat_is_a_client_fault_and_files_nothing(
    server: LoopbackServer, simulator: ElectricitySimulator
) -> None:
    request = connection_request("MCT-BP-2026-900003") | {"wilayat": "Sohar"}
    with pytest.raises(PermanentAgencyError, match="SOAP Client fault: .*Wilayat") as caught:
        ask(server, simulator.credentials, request, "new_connection_request")
    assert not isinstance(caught.value, TransientAgencyError)
    assert simulator.connections.get("MCT-BP-2026-900003") is None


@pytest.mark.parametrize("operation", ["account_standing", "new_connection_request"])
def test_wrong_credentials_raise_the_auth_class(
    server: LoopbackServer, simulator: ElectricitySimulator, operation: str
) -> None:
    request = KNOWN if operation == "account_standing" else connection_request("MCT-BP-2026-9200")
    with pytest.raises(AgencyAuthError, match="authentication failed") as caught:
        ask(server, {"username": "hub", "password": "guessed"}, request, operation)
    assert isinstance(caught.value, PermanentAgencyError)
    assert not isinstance(caught.value, TransientAgencyError)
    assert caught.value.http_status is None  # the SOAP fault said so, not an HTTP status
    assert simulator.connections.get("MCT-BP-2026-9200") is None


def test_a_429_raises_the_rate_limit_class_with_retry_after(
    server: LoopbackServer, simulator: ElectricitySimulator
) -> None:
    simulator.set_fault("rate-limit")
    with pytest.raises(AgencyRateLimited) as caught:
        ask(server, simulator.credentials)
    assert isinstance(caught.value, TransientAgencyError)
    assert (caught.value.http_status, caught.value.retry_after) == (429, 1.0)


def test_a_503_with_retry_after_is_a_rate_limit(
    server: LoopbackServer, simulator: ElectricitySimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        simulator, "unavailable", lambda: Response(status_code=503, headers={"Retry-After": "3"})
    )
    simulator.set_fault("outage")
    with pytest.raises(AgencyRateLimited, match="HTTP 503") as caught:
        ask(server, simulator.credentials)
    assert (caught.value.http_status, caught.value.retry_after) == (503, 3.0)


@pytest.mark.parametrize(
    ("mode", "error", "reason"),
    [
        ("error", TransientAgencyError, "SOAP Server fault"),
        ("rate-limit", AgencyRateLimited, "HTTP 429"),
        ("outage", TransientAgencyError, "HTTP 503"),
        ("timeout", TransientAgencyError, "no answer within 0.5s"),
        ("malformed", PermanentAgencyError, "unreadable"),
        ("contract-break", PermanentAgencyError, "reply breaks electricity.xsd: "),
    ],
)
@pytest.mark.parametrize("operation", ["account_standing", "new_connection_request"])
def test_each_fault_mode_maps_to_its_error_class(
    server: LoopbackServer,
    simulator: ElectricitySimulator,
    operation: str,
    mode: str,
    error: type[Exception],
    reason: str,
) -> None:
    request = KNOWN if operation == "account_standing" else connection_request("MCT-BP-2026-9100")
    simulator.set_fault(mode)
    started = time.monotonic()
    with pytest.raises(error, match=reason) as caught:
        ask(server, simulator.credentials, request, operation)
    if error is PermanentAgencyError:
        assert not isinstance(caught.value, TransientAgencyError)
    assert time.monotonic() - started < TIMEOUT_S + 2.0


def test_contract_break_names_the_field(
    server: LoopbackServer, simulator: ElectricitySimulator
) -> None:
    simulator.set_fault("contract-break")
    with pytest.raises(PermanentAgencyError) as caught:
        ask(server, simulator.credentials)
    assert "AccountStandingResponse/Account/Status" in caught.value.reason


def test_latency_mode_answers_late_but_right(
    server: LoopbackServer, simulator: ElectricitySimulator
) -> None:
    simulator.set_fault("latency")
    started = time.monotonic()
    reply = ask(server, simulator.credentials)
    assert time.monotonic() - started >= simulator.latency_s
    assert reply["account"]["account_no"] == data.EXAMPLE_ACCOUNT


def test_fault_admin_route(server: LoopbackServer, simulator: ElectricitySimulator) -> None:
    switched = httpx.post(f"{server.url}/_sim/fault", json={"mode": "malformed"})
    assert switched.status_code == 200 and simulator.fault == "malformed"
    assert httpx.get(f"{server.url}/_sim/fault").json() == {"mode": "malformed"}
    refused = httpx.post(f"{server.url}/_sim/fault", json={"mode": "blackout"})
    assert refused.status_code == 400 and "outage" in refused.json()["modes"]
    assert simulator.fault == "malformed"


def test_health_sees_an_outage(server: LoopbackServer, simulator: ElectricitySimulator) -> None:
    async def check() -> Health:
        client = ElectricityClient(Endpoint(server.url, simulator.credentials), POLICY)
        try:
            return await client.health()
        finally:
            await client.aclose()

    assert asyncio.run(check()).reachable
    simulator.set_fault("outage")
    down = asyncio.run(check())
    assert not down.reachable and "503" in down.detail


def test_a_stock_zeep_client_works_from_the_served_wsdl(
    server: LoopbackServer, simulator: ElectricitySimulator
) -> None:
    credentials = simulator.credentials
    client = zeep.Client(
        f"{server.url}/?wsdl",
        wsse=UsernameToken(credentials["username"], credentials["password"]),
    )
    result = client.service.AccountStanding(AccountNumber=data.EXAMPLE_ACCOUNT)
    assert result.Found is True
    assert result.Account.HolderNameAr == "شركة النور للتجارة ش.م.م"
    filed = client.service.NewConnection(
        BuildingPermitNumber="MCT-BP-2026-900004",
        Owner={"CivilId": "09123456", "NameEn": "Salim", "NameAr": "سالم"},
        PlotNumber="2/1457",
        Wilayat="Muttrah",
        LoadKva=900,
    )
    assert filed.ExpectedConnectionDate == date.today() + timedelta(days=data.lead_days(900))


def test_the_served_wsdl_leaves_the_hubs_notification_service_alone(
    server: LoopbackServer,
) -> None:
    client = zeep.Client(f"{server.url}/?wsdl")
    ports = {
        name: next(iter(service.ports.values())).binding_options["address"]
        for name, service in client.wsdl.services.items()
    }
    assert ports["ElectricityServices"] == f"{server.url}/"
    assert ports["ElectricityNotifications"].endswith("/soap/ElectricityNotifications")
    assert not ports["ElectricityNotifications"].startswith(server.url)
