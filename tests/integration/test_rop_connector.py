"""RopClient against the ROP simulator on loopback: real HTTP, real SOAP, every fault mode."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import zeep
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from zeep.wsse.username import UsernameToken

from connectors import world
from connectors.replies import ReplyRejected, retry_after_seconds
from connectors.rop import RopClient, RopSimulator, connector, data, violations
from connectors.rop.contract import rop_schema
from connectors.soap.transport import judge_reply
from hub.agencies.connector import CallContext, CallPolicy, Connector, Endpoint, Health
from hub.contracts.registry import ContractRegistry
from hub.errors import (
    AgencyAuthError,
    AgencyRateLimited,
    ConfigurationError,
    PermanentAgencyError,
    TransientAgencyError,
)
from hub.serving import LoopbackServer
from hub.soap import AUTHENTICATION_FAILED, SOAP_ENV, WSSE

TIMEOUT_S = 0.5
POLICY = CallPolicy(timeout_s=TIMEOUT_S, attempts=1)
CTX = CallContext(correlation_id="corr-1", message_id="msg-1")
KNOWN = {"plate_number": "12345", "plate_code": "AB"}


@pytest.fixture(scope="module")
def simulator() -> RopSimulator:
    return RopSimulator(seed=0, latency_s=0.2, stall_s=10.0)


@pytest.fixture(scope="module")
def server(simulator: RopSimulator) -> Iterator[LoopbackServer]:
    with LoopbackServer(simulator.app) as running:
        yield running


@pytest.fixture(autouse=True)
def no_fault(simulator: RopSimulator) -> Iterator[None]:
    simulator.set_fault("none")
    yield
    simulator.set_fault("none")


def ask(
    server: LoopbackServer,
    credentials: Mapping[str, str],
    request: Mapping[str, Any] = KNOWN,
    operation: str = "vehicle_inquiry",
) -> Mapping[str, Any]:
    """One call (a vehicle inquiry unless told) through a fresh RopClient, closed afterwards."""

    async def run() -> Mapping[str, Any]:
        client = connector.with_policy(POLICY).client(Endpoint(server.url, credentials))
        try:
            return await client.call(operation, request, CTX)
        finally:
            await client.aclose()

    return asyncio.run(run())


def check_health(server: LoopbackServer, credentials: Mapping[str, str]) -> Health:
    async def run() -> Health:
        client = RopClient(Endpoint(server.url, credentials), POLICY)
        try:
            return await client.health()
        finally:
            await client.aclose()

    return asyncio.run(run())


def raw_post(server: LoopbackServer, body: bytes) -> httpx.Response:
    return httpx.post(server.url, content=body, headers={"Content-Type": "text/xml; charset=utf-8"})


def soap_request(payload: str, username: str = "hub", password: str = "rop-sim-secret") -> bytes:
    return (
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:wsse="{WSSE}" '
        f'xmlns:rop="urn:rop.gov.om:services:1"><soap:Header><wsse:Security>'
        f"<wsse:UsernameToken><wsse:Username>{username}</wsse:Username>"
        f"<wsse:Password>{password}</wsse:Password></wsse:UsernameToken></wsse:Security>"
        f"</soap:Header><soap:Body>{payload}</soap:Body></soap:Envelope>"
    ).encode()


def test_connector_is_a_plugin_the_core_accepts() -> None:
    assert isinstance(connector, Connector)
    assert connector.name == "rop" and connector.title == "Royal Oman Police"
    operation = connector.operations()["vehicle_inquiry"]
    assert operation.response_contract == "urn:muscat-hub:canonical:vehicle-inquiry-response:1.0"
    assert connector.simulator().credentials == {"username": "hub", "password": "rop-sim-secret"}


def test_missing_credentials_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="username"):
        connector.client(Endpoint("http://127.0.0.1:9"))


def test_known_plate_round_trips_with_arabic_intact(
    server: LoopbackServer, simulator: RopSimulator
) -> None:
    reply = ask(server, simulator.credentials)
    expected = data.find_vehicle("12345", "AB")
    assert expected is not None
    vehicle = reply["vehicle"]
    assert reply["found"] is True
    assert vehicle["owner"]["name_ar"] == "سالم بن حمد الحارثي" == expected.owner.name_ar
    assert vehicle["colour_ar"] == "أبيض"
    assert vehicle["owner"]["civil_id"] == "09123456"
    assert vehicle["registration_expiry"] == expected.registration_expiry.isoformat()
    ContractRegistry.load().validate(
        "urn:muscat-hub:canonical:vehicle-inquiry-response:1.0", dict(reply)
    )


def test_lapsed_vehicle_is_reported_with_its_past_expiry(
    server: LoopbackServer, simulator: RopSimulator
) -> None:
    lapsed = data.lapsed_vehicles()[0]
    plate = {"plate_number": lapsed.plate_number, "plate_code": lapsed.plate_code}
    reply = ask(server, simulator.credentials, plate)
    assert reply["vehicle"]["registration_expiry"] == lapsed.registration_expiry.isoformat()
    assert reply["vehicle"]["owner"]["name_en"] == lapsed.owner.name_en


def test_unknown_plate_is_not_found(server: LoopbackServer, simulator: RopSimulator) -> None:
    [(number, code)] = data.unknown_plates(1)
    reply = ask(server, simulator.credentials, {"plate_number": number, "plate_code": code})
    assert reply == {"found": False}


def test_wrong_credentials_are_permanent(server: LoopbackServer) -> None:
    with pytest.raises(AgencyAuthError, match="authentication failed") as caught:
        ask(server, {"username": "hub", "password": "guessed"})
    assert isinstance(caught.value, PermanentAgencyError)
    assert not isinstance(caught.value, TransientAgencyError)
    assert caught.value.http_status is None  # the SOAP fault said so, not an HTTP status


@pytest.mark.parametrize(
    ("mode", "error", "reason"),
    [
        ("error", TransientAgencyError, "SOAP Server fault"),
        ("rate-limit", AgencyRateLimited, "HTTP 429"),
        ("outage", TransientAgencyError, "HTTP 503"),
        ("malformed", PermanentAgencyError, "unreadable"),
        ("contract-break", PermanentAgencyError, "reply breaks rop.xsd: "),
    ],
)
def test_each_fault_mode_maps_to_its_error_class(
    server: LoopbackServer,
    simulator: RopSimulator,
    mode: str,
    error: type[Exception],
    reason: str,
) -> None:
    simulator.set_fault(mode)
    with pytest.raises(error, match=reason) as caught:
        ask(server, simulator.credentials)
    if error is PermanentAgencyError:
        assert not isinstance(caught.value, TransientAgencyError)


def test_rate_limit_carries_retry_after(server: LoopbackServer, simulator: RopSimulator) -> None:
    simulator.set_fault("rate-limit")
    with pytest.raises(AgencyRateLimited) as caught:
        ask(server, simulator.credentials)
    assert isinstance(caught.value, TransientAgencyError)
    assert (caught.value.http_status, caught.value.retry_after) == (429, 1.0)


def test_a_503_with_retry_after_is_a_rate_limit_and_without_it_an_outage(
    server: LoopbackServer, simulator: RopSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    simulator.set_fault("outage")
    with pytest.raises(TransientAgencyError, match="HTTP 503") as bare:
        ask(server, simulator.credentials)
    assert not isinstance(bare.value, AgencyRateLimited) and bare.value.retry_after is None
    monkeypatch.setattr(
        simulator, "unavailable", lambda: Response(status_code=503, headers={"Retry-After": "2"})
    )
    with pytest.raises(AgencyRateLimited, match="HTTP 503") as told:
        ask(server, simulator.credentials)
    assert (told.value.http_status, told.value.retry_after) == (503, 2.0)


def fault_reply(code: str, string: str, status: int = 500, declare: str = "") -> bytes:
    """A SOAP 1.1 fault envelope as an agency's stack may word it; `declare` adds namespace
    declarations to the Envelope, where a faultcode's prefix may be bound."""
    return (
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}" {declare}><soap:Body><soap:Fault>'
        f"<faultcode>{code}</faultcode><faultstring>{string}</faultstring>"
        "</soap:Fault></soap:Body></soap:Envelope>"
    ).encode()


WSSE_DECL = f'xmlns:wsse="{WSSE}"'


@pytest.mark.parametrize(
    ("status", "body", "auth"),
    [
        (500, fault_reply("wsse:FailedAuthentication", "bad token", declare=WSSE_DECL), True),
        (500, fault_reply("sec:InvalidSecurityToken", "x", declare=f'xmlns:sec="{WSSE}"'), True),
        (500, fault_reply("soap:Client", AUTHENTICATION_FAILED), True),
        (200, fault_reply("soap:Client", AUTHENTICATION_FAILED), True),
        (500, fault_reply("soap:Client", "Wilayat Sohar is not served"), False),
        (500, fault_reply("soap:Server", AUTHENTICATION_FAILED), False),
        (500, fault_reply("wsse:FailedAuthentication", "prefix unbound"), False),
        (500, fault_reply("Client", AUTHENTICATION_FAILED), False),
        (500, fault_reply("", AUTHENTICATION_FAILED), False),
    ],
    ids=[
        "wsse-code",
        "wsse-namespace-any-prefix",
        "documented-client-fault",
        "documented-client-fault-at-200",
        "other-client-fault",
        "server-fault",
        "unbound-prefix",
        "unqualified-code",
        "empty-code",
    ],
)
def test_a_soap_fault_refusing_credentials_is_told_by_code_not_wording(
    status: int, body: bytes, auth: bool
) -> None:
    """WS-Security fault codes (resolved by namespace, whatever the prefix) and the
    soap:Client fault the agencies' WSDLs document are refusals; any other fault goes on to
    zeep and its Client/Server verdict."""
    if not auth:
        judge_reply(status, httpx.Headers(), body, rop_schema())
        return
    with pytest.raises(ReplyRejected, match="credentials refused") as caught:
        judge_reply(status, httpx.Headers(), body, rop_schema())
    rejected = caught.value
    assert (rejected.refusal, rejected.transient, rejected.status) == ("auth", False, None)


@pytest.mark.parametrize("status", [401, 403])
def test_a_gateway_refusing_credentials_over_http_is_an_auth_refusal(status: int) -> None:
    with pytest.raises(ReplyRejected, match=f"HTTP {status}") as caught:
        judge_reply(status, httpx.Headers(), b"", rop_schema())
    assert (caught.value.refusal, caught.value.transient, caught.value.status) == (
        "auth",
        False,
        status,
    )


def test_a_ws_security_fault_from_an_agency_raises_the_auth_class() -> None:
    """An agency whose WS-Security stack answers wsse:FailedAuthentication (WSS 1.0 section 12)
    rather than the documented soap:Client fault is refused the same way."""

    async def refuse(request: Request) -> Response:
        body = fault_reply("wsse:FailedAuthentication", "token not accepted", declare=WSSE_DECL)
        return Response(body, status_code=500, media_type="text/xml; charset=utf-8")

    app = Starlette(routes=[Route("/", refuse, methods=["POST"])])
    with LoopbackServer(app) as server, pytest.raises(AgencyAuthError) as caught:
        ask(server, {"username": "hub", "password": "any"})
    assert "wsse:FailedAuthentication" in caught.value.reason
    assert not isinstance(caught.value, TransientAgencyError)


def test_contract_break_names_the_field(server: LoopbackServer, simulator: RopSimulator) -> None:
    simulator.set_fault("contract-break")
    with pytest.raises(PermanentAgencyError) as caught:
        ask(server, simulator.credentials)
    assert "VehicleInquiryResponse/Vehicle/RegistrationExpiry" in caught.value.reason
    assert "xs:date" in caught.value.reason


def test_timeout_is_transient_within_the_policy_bound(
    server: LoopbackServer, simulator: RopSimulator
) -> None:
    simulator.set_fault("timeout")
    started = time.monotonic()
    with pytest.raises(TransientAgencyError, match="no answer within 0.5s"):
        ask(server, simulator.credentials)
    assert time.monotonic() - started < TIMEOUT_S + 1.0


def test_a_stalled_request_does_not_block_the_simulator(
    server: LoopbackServer, simulator: RopSimulator
) -> None:
    simulator.set_fault("timeout")

    async def run() -> tuple[str, float]:
        async with httpx.AsyncClient(timeout=5.0) as http:
            stalled = asyncio.create_task(http.post(server.url, content=soap_request("<x/>")))
            await asyncio.sleep(0.05)
            started = time.monotonic()
            admin = await http.get(f"{server.url}/_sim/fault")
            elapsed = time.monotonic() - started
            stalled.cancel()
            return admin.json()["mode"], elapsed

    mode, elapsed = asyncio.run(run())
    assert mode == "timeout" and elapsed < 1.0


def test_latency_mode_answers_late_but_right(
    server: LoopbackServer, simulator: RopSimulator
) -> None:
    simulator.set_fault("latency")
    started = time.monotonic()
    reply = ask(server, simulator.credentials)
    assert time.monotonic() - started >= simulator.latency_s
    assert reply["vehicle"]["owner"]["civil_id"] == "09123456"


def test_fault_admin_route(server: LoopbackServer, simulator: RopSimulator) -> None:
    switched = httpx.post(f"{server.url}/_sim/fault", json={"mode": "outage"})
    assert switched.status_code == 200 and simulator.fault == "outage"
    assert httpx.get(f"{server.url}/_sim/fault").json() == {"mode": "outage"}
    refused = httpx.post(f"{server.url}/_sim/fault", json={"mode": "flood"})
    assert refused.status_code == 400 and "contract-break" in refused.json()["modes"]
    assert simulator.fault == "outage"


def test_health_times_a_real_request_and_sees_an_outage(
    server: LoopbackServer, simulator: RopSimulator
) -> None:
    healthy = check_health(server, simulator.credentials)
    assert healthy.reachable and healthy.latency_ms is not None and healthy.latency_ms > 0
    simulator.set_fault("outage")
    down = check_health(server, simulator.credentials)
    assert not down.reachable and "503" in down.detail


def test_a_stock_zeep_client_works_from_the_served_wsdl(
    server: LoopbackServer, simulator: RopSimulator
) -> None:
    credentials = simulator.credentials
    client = zeep.Client(
        f"{server.url}/?wsdl",
        wsse=UsernameToken(credentials["username"], credentials["password"]),
    )
    result = client.service.VehicleInquiry(PlateNumber="12345", PlateCode="AB")
    assert result.Found is True
    assert result.Vehicle.Owner.NameAr == "سالم بن حمد الحارثي"
    expected = data.find_vehicle("12345", "AB")
    assert expected is not None
    assert result.Vehicle.RegistrationExpiry == expected.registration_expiry


@pytest.mark.parametrize(
    "dtd",
    [
        '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>',
        '<!DOCTYPE x [<!ENTITY c SYSTEM "file:///etc/passwd">]>',
    ],
    ids=["billion-laughs", "xxe"],
)
def test_a_dtd_is_a_client_fault_and_nothing_expands(server: LoopbackServer, dtd: str) -> None:
    payload = (
        "<rop:VehicleInquiryRequest><rop:PlateNumber>&c;</rop:PlateNumber>"
        "<rop:PlateCode>AB</rop:PlateCode></rop:VehicleInquiryRequest>"
    )
    response = raw_post(server, f'<?xml version="1.0"?>{dtd}'.encode() + soap_request(payload))
    assert response.status_code == 500
    assert "<faultcode>soap:Client</faultcode>" in response.text
    assert "DTD" in response.text
    assert "aaaaaaaaaa" not in response.text and "root:" not in response.text


def test_unknown_operation_is_a_client_fault(server: LoopbackServer) -> None:
    response = raw_post(server, soap_request("<rop:ImpoundVehicle/>"))
    assert response.status_code == 500
    assert "<faultcode>soap:Client</faultcode>" in response.text
    assert "unknown operation ImpoundVehicle" in response.text


def test_a_request_breaking_the_xsd_is_a_client_fault(server: LoopbackServer) -> None:
    payload = (
        "<rop:VehicleInquiryRequest><rop:PlateNumber>12A45</rop:PlateNumber>"
        "<rop:PlateCode>AB</rop:PlateCode></rop:VehicleInquiryRequest>"
    )
    response = raw_post(server, soap_request(payload))
    assert response.status_code == 500 and "soap:Client" in response.text
    assert "PlateNumber" in response.text and "INVALID_REQUEST" in response.text


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412500.0) == 10.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


# Civil defence certificates and parking violations (answered from the shared world and the
# violation book).


def settled_request(violation: violations.Violation, reference: str) -> dict[str, str]:
    return {
        "violation_no": violation.violation_no,
        "plate_number": violation.plate_number,
        "plate_code": violation.plate_code,
        "amount_omr": violation.amount_omr,
        "payment_reference": reference,
    }


def test_civil_defence_certificate_of_a_premises_round_trips(
    server: LoopbackServer, simulator: RopSimulator
) -> None:
    premises = world.by_cr(world.EXAMPLE_CR)
    assert premises is not None and premises.civil_defence_valid_until is not None
    request = {"premises_id": premises.premises_id}
    reply = ask(server, simulator.credentials, request, "civil_defence_certificate")
    assert reply == {
        "found": True,
        "certificate": {
            "certificate_no": "CD-MCT-00123",
            "premises_id": "MCT-PR-00123",
            "issued_on": (premises.civil_defence_valid_until - timedelta(days=365)).isoformat(),
            "valid_until": premises.civil_defence_valid_until.isoformat(),
        },
    }
    ContractRegistry.load().validate(
        "urn:muscat-hub:canonical:civil-defence-certificate-response:1.0", dict(reply)
    )


def test_an_expired_certificate_is_found_with_its_past_date(
    server: LoopbackServer, simulator: RopSimulator
) -> None:
    expired = world.with_weakness("civil-defence-expired")[0]
    assert expired.civil_defence_valid_until is not None
    request = {"premises_id": expired.premises_id}
    reply = ask(server, simulator.credentials, request, "civil_defence_certificate")
    assert reply["certificate"]["valid_until"] == expired.civil_defence_valid_until.isoformat()
    assert date.fromisoformat(reply["certificate"]["valid_until"]) < date.today()


@pytest.mark.parametrize("premises_id", ["uncertified", "MCT-PR-99999"])
def test_premises_without_a_certificate_or_unknown_is_not_found(
    server: LoopbackServer, simulator: RopSimulator, premises_id: str
) -> None:
    if premises_id == "uncertified":
        premises_id = world.with_weakness("civil-defence-none")[0].premises_id
    assert world.by_premises("MCT-PR-99999") is None
    request = {"premises_id": premises_id}
    assert ask(server, simulator.credentials, request, "civil_defence_certificate") == {
        "found": False
    }


def test_a_paid_violation_is_settled_once_per_payment_reference(
    server: LoopbackServer, simulator: RopSimulator
) -> None:
    violation = violations.violations()[3]
    request = settled_request(violation, "MM-PAY-2026-7001")
    first = ask(server, simulator.credentials, request, "parking_violation_settled")
    again = ask(server, simulator.credentials, request, "parking_violation_settled")
    assert first == again and first["found"] is True
    assert first["settlement_reference"].startswith("ROP-STL-")
    assert datetime.fromisoformat(first["settled_at"]).tzinfo is not None
    ContractRegistry.load().validate(
        "urn:muscat-hub:canonical:parking-violation-settled-response:1.0", dict(first)
    )
    with pytest.raises(PermanentAgencyError, match="settled under payment reference MM-PAY"):
        other = settled_request(violation, "MM-PAY-2026-7002")
        ask(server, simulator.credentials, other, "parking_violation_settled")
    assert simulator.settlements[violation.violation_no].payment_reference == "MM-PAY-2026-7001"


def test_an_unknown_violation_is_not_found(server: LoopbackServer, simulator: RopSimulator) -> None:
    [number] = violations.unknown_violation_numbers(1)
    request = settled_request(violations.violations()[0], "MM-PAY-2026-7003")
    request["violation_no"] = number
    reply = ask(server, simulator.credentials, request, "parking_violation_settled")
    assert reply == {"found": False} and number not in simulator.settlements


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"plate_number": "1"}, "PLATE_MISMATCH"),
        ({"amount_omr": "1.000"}, "AMOUNT_MISMATCH"),
    ],
)
def test_a_settlement_that_does_not_match_the_violation_is_a_client_fault(
    server: LoopbackServer, simulator: RopSimulator, change: dict[str, str], code: str
) -> None:
    violation = violations.violations()[5]
    request = settled_request(violation, "MM-PAY-2026-7004") | change
    with pytest.raises(PermanentAgencyError, match="SOAP Client fault") as caught:
        ask(server, simulator.credentials, request, "parking_violation_settled")
    assert not isinstance(caught.value, TransientAgencyError)
    assert violation.violation_no not in simulator.settlements
    response = raw_post(
        server,
        soap_request(
            "<rop:ParkingViolationSettledRequest>"
            f"<rop:ViolationNumber>{violation.violation_no}</rop:ViolationNumber>"
            f"<rop:PlateNumber>{request['plate_number']}</rop:PlateNumber>"
            f"<rop:PlateCode>{violation.plate_code}</rop:PlateCode>"
            f"<rop:AmountOmr>{request['amount_omr']}</rop:AmountOmr>"
            "<rop:PaymentReference>MM-PAY-2026-7004</rop:PaymentReference>"
            "</rop:ParkingViolationSettledRequest>"
        ),
    )
    assert f"<rop:Code>{code}</rop:Code>" in response.text


@pytest.mark.parametrize(
    ("operation", "request_", "field"),
    [
        (
            "civil_defence_certificate",
            {"premises_id": "MCT-PR-00123"},
            "CivilDefenceCertificateResponse/Certificate/PremisesId",
        ),
        (
            "parking_violation_settled",
            settled_request(violations.violations()[7], "MM-PAY-2026-7005"),
            "ParkingViolationSettledResponse/SettledAt",
        ),
    ],
)
@pytest.mark.parametrize("mode", ["contract-break", "malformed", "error"])
def test_faults_of_the_new_operations_map_like_the_old(
    server: LoopbackServer,
    simulator: RopSimulator,
    operation: str,
    request_: dict[str, str],
    field: str,
    mode: str,
) -> None:
    simulator.set_fault(mode)
    expected = TransientAgencyError if mode == "error" else PermanentAgencyError
    with pytest.raises(expected) as caught:
        ask(server, simulator.credentials, request_, operation)
    if mode == "contract-break":
        assert field in caught.value.reason


def test_a_stock_zeep_client_reaches_the_new_operations(
    server: LoopbackServer, simulator: RopSimulator
) -> None:
    credentials = simulator.credentials
    client = zeep.Client(
        f"{server.url}/?wsdl",
        wsse=UsernameToken(credentials["username"], credentials["password"]),
    )
    certificate = client.service.CivilDefenceCertificate(PremisesId="MCT-PR-00123")
    assert certificate.Found is True and certificate.Certificate.CertificateNumber == "CD-MCT-00123"
    violation = violations.violations()[9]
    settled = client.service.ParkingViolationSettled(
        ViolationNumber=violation.violation_no,
        PlateNumber=violation.plate_number,
        PlateCode=violation.plate_code,
        AmountOmr=Decimal(violation.amount_omr),
        PaymentReference="MM-PAY-2026-7006",
    )
    assert settled.Found is True and settled.SettlementReference.startswith("ROP-STL-")


def test_the_served_wsdl_leaves_the_hubs_notification_service_alone(
    server: LoopbackServer,
) -> None:
    client = zeep.Client(f"{server.url}/?wsdl")
    ports = {
        name: next(iter(service.ports.values())).binding_options["address"]
        for name, service in client.wsdl.services.items()
    }
    assert ports == {
        "RopServices": f"{server.url}/",
        "RopNotifications": "https://hub.mm.gov.om/soap/RopNotifications",
    }
