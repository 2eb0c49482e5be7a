"""Item 9 of the security review, on the partner SOAP services: a SOAPAction header, when
present, must name the Body's operation; a POST must carry an XML content type; and a served
WSDL's address comes from configuration (or the listening socket), never the Host header."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from lxml import etree

from hub.api.grants import soap_grant
from tests.integration.partner_hub import PartnerHub, licence
from tests.integration.test_api_soap import RECORDS, envelope

GET_LICENCE = (
    "<mr:GetLicenceRequest><mr:LicenceNo>MCT-TL-700001</mr:LicenceNo></mr:GetLicenceRequest>"
)
ACTION = "urn:muscat-hub:partners:municipal-records:1/GetLicence"
OTHER_ACTION = "urn:muscat-hub:partners:municipal-records:1/GetLicencesByCR"
XML = "text/xml; charset=utf-8"
PUBLIC = "https://hub.example.om/partners"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartnerHub]:
    with PartnerHub(tmp_path_factory.mktemp("soap-rules"), public_base_url=PUBLIC) as served:
        served.insert(licence("MCT-TL-700001"))
        yield served


@pytest.fixture(scope="module")
def caller(hub: PartnerHub) -> tuple[str, str]:
    return hub.partner(soap_grant(RECORDS, "GetLicence"))


def _post(hub: PartnerHub, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(f"{hub.url}/soap/{RECORDS}", content=body, headers=headers, timeout=10)


@pytest.mark.parametrize("action", [None, f'"{ACTION}"', ACTION, '""'])
def test_an_absent_empty_or_matching_soapaction_is_served(
    hub: PartnerHub, caller: tuple[str, str], action: str | None
) -> None:
    headers = {"Content-Type": XML} | ({"SOAPAction": action} if action is not None else {})
    reply = _post(hub, envelope(GET_LICENCE, caller), **headers)
    assert reply.status_code == 200, reply.text


@pytest.mark.parametrize("action", [f'"{OTHER_ACTION}"', "urn:elsewhere/GetLicence", "x"])
def test_a_soapaction_naming_another_operation_is_a_client_fault(
    hub: PartnerHub, caller: tuple[str, str], action: str
) -> None:
    calls = len(hub.audit("partner.call", partner=caller[0]))
    reply = _post(hub, envelope(GET_LICENCE, caller), **{"Content-Type": XML, "SOAPAction": action})
    assert reply.status_code == 500
    assert b"Client" in reply.content and b"SOAPAction" in reply.content
    assert len(hub.audit("partner.call", partner=caller[0])) == calls  # refused, not served


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "application/x-www-form-urlencoded", None]
)
def test_a_post_without_an_xml_content_type_is_refused_with_415(
    hub: PartnerHub, caller: tuple[str, str], content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    reply = _post(hub, envelope(GET_LICENCE, caller), **headers)
    assert reply.status_code == 415
    assert b"Client" in reply.content


def _wsdl_addresses(reply: httpx.Response) -> list[str]:
    root = etree.fromstring(reply.content)
    found = root.iter("{http://schemas.xmlsoap.org/wsdl/soap/}address")
    imports = root.iter("{http://www.w3.org/2001/XMLSchema}import")
    return [n.get("location", "") for n in found] + [n.get("schemaLocation", "") for n in imports]


def test_the_wsdl_names_the_configured_address_whatever_the_host_header(
    hub: PartnerHub,
) -> None:
    reply = httpx.get(
        f"{hub.url}/soap/{RECORDS}?wsdl", headers={"Host": "evil.example:666"}, timeout=10
    )
    assert reply.status_code == 200
    addresses = _wsdl_addresses(reply)
    assert addresses and all(a.startswith(f"{PUBLIC}/soap/{RECORDS}") for a in addresses)
    assert not any("evil" in a for a in addresses)


def test_without_configuration_the_wsdl_names_the_listening_address(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with PartnerHub(tmp_path_factory.mktemp("soap-bare")) as bare:
        reply = httpx.get(
            f"{bare.url}/soap/{RECORDS}?wsdl", headers={"Host": "evil.example"}, timeout=10
        )
    addresses = _wsdl_addresses(reply)
    assert addresses and all(a.startswith(f"{bare.url}/soap/{RECORDS}") for a in addresses)
