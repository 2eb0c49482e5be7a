"""The SOAP services against a stock zeep client pointed at the served ?wsdl: every operation
with valid, wrong and missing credentials and without the grant; pushes published once; and
hostile XML refused before anything expands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import zeep
from zeep.exceptions import Fault
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from hub.api.grants import soap_grant
from hub.soap import SOAP_ENV, WSSE
from tests.integration.partner_hub import PartnerHub, building_permit, licence, parking_permit

RECORDS = "MunicipalRecords"
ELECTRICITY = "ElectricityNotifications"
ROP = "RopNotifications"
CONNECTION = {
    "RequestNumber": "NC-2026-004211",
    "BuildingPermitNumber": "MCT-BP-2026-001234",
    "MeterNumber": "MTR-88120457",
    "ConnectedAt": datetime(2026, 11, 28, 9, 15, tzinfo=UTC),
}
TRANSFER = {
    "PlateNumber": "12345",
    "PlateCode": "AB",
    "PreviousOwnerCivilId": "09123456",
    "NewOwnerCivilId": "11873402",
    "TransferredAt": datetime(2026, 11, 27, 7, 42, tzinfo=UTC),
}
# Every operation of every service, with arguments valid for its XSD.
OPERATIONS: list[tuple[str, str, dict[str, Any]]] = [
    (RECORDS, "GetLicence", {"LicenceNo": "MCT-TL-500001"}),
    (RECORDS, "GetLicencesByCR", {"CrNo": "5000001"}),
    (RECORDS, "GetBuildingPermit", {"PermitNo": "MCT-BP-2026-500001"}),
    (RECORDS, "GetParkingPermits", {"PlateNumber": "5001", "PlateCode": "S"}),
    (ELECTRICITY, "ConnectionCompleted", CONNECTION),
    (ROP, "OwnershipTransferred", TRANSFER),
]
OPERATION_IDS = [op for _, op, _ in OPERATIONS]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartnerHub]:
    with PartnerHub(tmp_path_factory.mktemp("soap"), http_max_body_bytes=8192) as served:
        served.insert(
            licence("MCT-TL-500001", cr_no="5000001", name_ar="مؤسسة الخليج للمقاولات"),
            licence("MCT-TL-500002", cr_no="5000001"),
            building_permit("MCT-BP-2026-500001"),
            parking_permit("PKA-2026-5000001", ("5001", "S")),
        )
        yield served


Client = Callable[..., zeep.Client]


@pytest.fixture(scope="module")
def client(hub: PartnerHub) -> Client:
    """A stock zeep client for a service, with a UsernameToken when credentials are given."""

    def make(service: str, credentials: tuple[str, str] | None = None, **token: Any) -> zeep.Client:
        wsse = UsernameToken(*credentials, **token) if credentials else None
        transport = Transport(timeout=10, operation_timeout=10)
        return zeep.Client(f"{hub.url}/soap/{service}?wsdl", wsse=wsse, transport=transport)

    return make


@pytest.fixture(scope="module")
def everyone(hub: PartnerHub) -> tuple[str, str]:
    """A partner granted every SOAP operation."""
    return hub.partner(*[soap_grant(service, op) for service, op, _ in OPERATIONS])


def test_get_licence_round_trips_arabic(client: Client, everyone: tuple[str, str]) -> None:
    reply = client(RECORDS, everyone).service.GetLicence(LicenceNo="MCT-TL-500001")
    assert reply.Found is True
    assert reply.Licence.NameAr == "مؤسسة الخليج للمقاولات"
    assert reply.Licence.Activity[0].NameAr == "تجارة عامة"
    missing = client(RECORDS, everyone).service.GetLicence(LicenceNo="MCT-TL-NONE")
    assert missing.Found is False and missing.Licence is None


def test_get_licences_by_cr_lists_them(client: Client, everyone: tuple[str, str]) -> None:
    reply = client(RECORDS, everyone).service.GetLicencesByCR(CrNo="5000001")
    assert sorted(item.LicenceNo for item in reply) == ["MCT-TL-500001", "MCT-TL-500002"]


def test_get_building_permit(client: Client, everyone: tuple[str, str]) -> None:
    reply = client(RECORDS, everyone).service.GetBuildingPermit(PermitNo="MCT-BP-2026-500001")
    assert reply.Found is True
    assert reply.BuildingPermit.LoadKva == 60
    assert reply.BuildingPermit.ConnectedAt == datetime(2026, 11, 28, 5, 15, tzinfo=UTC)
    assert reply.BuildingPermit.OwnerNameAr == "سالم بن حمد الحارثي"


def test_get_parking_permits(client: Client, everyone: tuple[str, str]) -> None:
    reply = client(RECORDS, everyone).service.GetParkingPermits(PlateNumber="5001", PlateCode="S")
    assert [p.ApplicationNo for p in reply] == ["PKA-2026-5000001"]
    assert reply[0].ValidUntil.isoformat() == "2027-05-28"


def test_connection_completed_is_published_once(
    hub: PartnerHub, client: Client, everyone: tuple[str, str]
) -> None:
    service = client(ELECTRICITY, everyone).service
    assert service.ConnectionCompleted(**CONNECTION) is True
    event = hub.next_published("electricity.connection.completed")
    assert event["type"] == "electricity.connection.completed"
    assert event["data"] == {
        "request_no": "NC-2026-004211",
        "permit_no": "MCT-BP-2026-001234",
        "meter_no": "MTR-88120457",
        "connected_at": "2026-11-28T09:15:00Z",
    }
    outbox = hub.outbox_count()
    assert service.ConnectionCompleted(**CONNECTION) is True
    assert hub.outbox_count() == outbox


def test_ownership_transferred_is_published(
    hub: PartnerHub, client: Client, everyone: tuple[str, str]
) -> None:
    assert client(ROP, everyone).service.OwnershipTransferred(**TRANSFER) is True
    event = hub.next_published("rop.ownership.transferred")
    assert event["type"] == "rop.ownership.transferred"
    assert event["dataschema"] == "urn:muscat-hub:events:rop.ownership.transferred:1.0"
    assert event["data"]["plate"] == {"number": "12345", "code": "AB"}
    assert event["data"]["new_owner_civil_id"] == "11873402"


def _call(client: zeep.Client, operation: str, arguments: dict[str, Any]) -> Any:
    return getattr(client.service, operation)(**arguments)


def _refused(hub: PartnerHub, reason: str, operation: str, before: int) -> None:
    denied = hub.audit("partner.denied")[before:]
    assert [(e.detail["reason"], e.detail["channel"]) for e in denied] == [(reason, "soap")]
    assert denied[0].detail["operation"].endswith(f".{operation}")


@pytest.mark.parametrize(("service", "operation", "arguments"), OPERATIONS, ids=OPERATION_IDS)
def test_wrong_password_is_a_client_fault_and_audited(
    hub: PartnerHub,
    client: Client,
    everyone: tuple[str, str],
    service: str,
    operation: str,
    arguments: dict[str, Any],
) -> None:
    before, outbox = len(hub.audit("partner.denied")), hub.outbox_count()
    with pytest.raises(Fault) as fault:
        _call(client(service, (everyone[0], "wrong-secret")), operation, arguments)
    assert fault.value.code == "soap:Client"
    assert fault.value.message == "authentication failed"
    _refused(hub, "wrong-credentials", operation, before)
    assert hub.outbox_count() == outbox


@pytest.mark.parametrize(("service", "operation", "arguments"), OPERATIONS, ids=OPERATION_IDS)
def test_missing_credentials_are_a_client_fault_and_audited(
    hub: PartnerHub, client: Client, service: str, operation: str, arguments: dict[str, Any]
) -> None:
    before = len(hub.audit("partner.denied"))
    with pytest.raises(Fault) as fault:
        _call(client(service), operation, arguments)
    assert fault.value.code == "soap:Client"
    _refused(hub, "missing-credentials", operation, before)


@pytest.mark.parametrize(("service", "operation", "arguments"), OPERATIONS, ids=OPERATION_IDS)
def test_a_partner_without_the_grant_gets_a_client_fault(
    hub: PartnerHub, client: Client, service: str, operation: str, arguments: dict[str, Any]
) -> None:
    others = [soap_grant(s, op) for s, op, _ in OPERATIONS if op != operation]
    partner = hub.partner(*others)
    before, outbox = len(hub.audit("partner.denied")), hub.outbox_count()
    with pytest.raises(Fault) as fault:
        _call(client(service, partner), operation, arguments)
    assert fault.value.code == "soap:Client"
    assert fault.value.message == f"not granted {soap_grant(service, operation)}"
    _refused(hub, "not-granted", operation, before)
    assert hub.outbox_count() == outbox


@pytest.mark.parametrize(("service", "operation", "arguments"), OPERATIONS, ids=OPERATION_IDS)
def test_every_operation_answers_a_granted_partner(
    client: Client,
    everyone: tuple[str, str],
    service: str,
    operation: str,
    arguments: dict[str, Any],
) -> None:
    assert _call(client(service, everyone), operation, arguments) is not None


def test_a_password_digest_cannot_be_checked_and_is_refused(
    client: Client, everyone: tuple[str, str]
) -> None:
    digest_client = client(RECORDS, everyone, use_digest=True)
    with pytest.raises(Fault, match="authentication failed") as refused:
        digest_client.service.GetLicence(LicenceNo="MCT-TL-500001")
    assert "PasswordDigest is not supported" in refused.value.message
    wrong = client(RECORDS, (everyone[0], "not-the-secret"))
    with pytest.raises(Fault, match="authentication failed") as denied:
        wrong.service.GetLicence(LicenceNo="MCT-TL-500001")
    assert "PasswordDigest" not in denied.value.message


def envelope(payload: str, credentials: tuple[str, str] | None = None, prolog: str = "") -> bytes:
    header = ""
    if credentials:
        header = (
            f'<soap:Header><wsse:Security xmlns:wsse="{WSSE}"><wsse:UsernameToken>'
            f"<wsse:Username>{credentials[0]}</wsse:Username>"
            f"<wsse:Password>{credentials[1]}</wsse:Password>"
            "</wsse:UsernameToken></wsse:Security></soap:Header>"
        )
    return (
        f'{prolog}<soap:Envelope xmlns:soap="{SOAP_ENV}" '
        f'xmlns:mr="urn:muscat-hub:partners:municipal-records:1">'
        f"{header}<soap:Body>{payload}</soap:Body></soap:Envelope>"
    ).encode()


def post(hub: PartnerHub, service: str, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{hub.url}/soap/{service}",
        content=body,
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=10,
    )


INVALID = [
    (
        RECORDS,
        "<mr:GetLicencesByCRRequest><mr:CrNo>12</mr:CrNo></mr:GetLicencesByCRRequest>",
        b"CrNo",
    ),
    (
        ELECTRICITY,
        '<m:ConnectionCompletedNotification xmlns:m="urn:medc.om:services:1">'
        "<m:RequestNumber>NC-2026-004211</m:RequestNumber>"
        "<m:BuildingPermitNumber>MCT-BP-2026-001234</m:BuildingPermitNumber>"
        "<m:MeterNumber>meter #7</m:MeterNumber>"
        "<m:ConnectedAt>2026-11-28T09:15:00Z</m:ConnectedAt>"
        "</m:ConnectionCompletedNotification>",
        b"MeterNumber",
    ),
]


@pytest.mark.parametrize(("service", "payload", "field"), INVALID, ids=["query", "push"])
def test_an_invalid_request_is_a_client_fault_naming_the_field_and_changes_nothing(
    hub: PartnerHub, everyone: tuple[str, str], service: str, payload: str, field: bytes
) -> None:
    outbox = hub.outbox_count()
    reply = post(hub, service, envelope(payload, everyone))
    assert reply.status_code == 500
    assert b"<faultcode>soap:Client</faultcode>" in reply.content
    assert field in reply.content and b"INVALID_REQUEST" in reply.content
    assert hub.outbox_count() == outbox


def test_an_unknown_operation_is_a_client_fault(hub: PartnerHub, everyone: tuple[str, str]) -> None:
    reply = post(hub, RECORDS, envelope("<mr:DeleteEverythingRequest/>", everyone))
    assert reply.status_code == 500
    assert b"<faultcode>soap:Client</faultcode>" in reply.content
    assert b"unknown operation DeleteEverythingRequest" in reply.content


XXE = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    "<mr:GetLicenceRequest><mr:LicenceNo>&xxe;</mr:LicenceNo></mr:GetLicenceRequest>",
)
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + "]>",
    "<mr:GetLicenceRequest><mr:LicenceNo>&lol9;</mr:LicenceNo></mr:GetLicenceRequest>",
)


@pytest.mark.parametrize("attack", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_hostile_xml_is_refused_before_anything_expands(
    hub: PartnerHub, everyone: tuple[str, str], attack: tuple[str, str], encoding: str
) -> None:
    prolog, payload = attack
    text = envelope(payload, everyone, prolog).decode()
    if encoding == "utf-16":
        text = text.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    before = len(hub.audit())
    reply = post(hub, RECORDS, text.encode(encoding))
    assert reply.status_code == 500
    assert b"<faultcode>soap:Client</faultcode>" in reply.content
    assert b"DTD" in reply.content
    assert b"root:" not in reply.content
    assert len(hub.audit()) == before  # refused before the caller was even looked up


def test_a_body_over_the_limit_is_413_with_a_fault(
    hub: PartnerHub, everyone: tuple[str, str]
) -> None:
    padding = "<!-- " + "x" * 9000 + " -->"
    reply = post(hub, RECORDS, envelope(padding + "<mr:GetLicenceRequest/>", everyone))
    assert reply.status_code == 413
    assert b"<faultcode>soap:Client</faultcode>" in reply.content


def test_over_the_rate_limit_is_429_with_retry_after(hub: PartnerHub) -> None:
    partner = hub.partner(soap_grant(RECORDS, "GetLicence"), rate_limit=1)
    body = envelope(
        "<mr:GetLicenceRequest><mr:LicenceNo>MCT-TL-500001</mr:LicenceNo></mr:GetLicenceRequest>",
        partner,
    )
    assert post(hub, RECORDS, body).status_code == 200
    limited = post(hub, RECORDS, body)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert b"<faultcode>soap:Client</faultcode>" in limited.content
    assert [e.detail["reason"] for e in hub.audit("partner.denied", partner=partner[0])] == [
        "rate-limited"
    ]


@pytest.mark.parametrize("service", [RECORDS, ELECTRICITY, ROP])
def test_the_wsdl_names_the_address_it_was_fetched_from(hub: PartnerHub, service: str) -> None:
    wsdl = httpx.get(f"{hub.url}/soap/{service}?wsdl", timeout=10)
    assert wsdl.status_code == 200
    assert f'location="{hub.url}/soap/{service}"'.encode() in wsdl.content
    assert f"{hub.url}/soap/{service}?xsd=".encode() in wsdl.content
