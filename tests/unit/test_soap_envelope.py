"""The SOAP 1.1 toolkit alone: hardened parsing, envelopes, faults, UsernameToken, XSD, WSDL."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from zeep.wsse.username import UsernameToken as ZeepUsernameToken

from hub.soap import (
    SOAP_ENV,
    SoapFault,
    XmlRejected,
    check_username_token,
    fault_envelope,
    parse_xml,
    publish_wsdl,
    read_envelope,
    reply_envelope,
    schema_errors,
    split_envelope,
)

SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
 <soap:Body><op>&lol3;</op></soap:Body></soap:Envelope>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE op [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
 <soap:Body><op>&secret;</op></soap:Body></soap:Envelope>"""


def envelope(payload: str, header: str = "") -> bytes:
    head = f"<soap:Header>{header}</soap:Header>" if header else ""
    return (
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:wsse="{WSSE}">{head}'
        f"<soap:Body>{payload}</soap:Body></soap:Envelope>"
    ).encode()


def token(username: str, password: str) -> str:
    return (
        f"<wsse:Security><wsse:UsernameToken><wsse:Username>{username}</wsse:Username>"
        f"<wsse:Password>{password}</wsse:Password></wsse:UsernameToken></wsse:Security>"
    )


@pytest.mark.parametrize("document", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_a_dtd_is_refused_before_parsing(document: bytes) -> None:
    with pytest.raises(XmlRejected, match="DTD"):
        parse_xml(document)


def test_a_dtd_is_refused_in_utf16_too() -> None:
    document = BILLION_LAUGHS.replace(b'version="1.0"', b'version="1.0" encoding="utf-16"')
    with pytest.raises(XmlRejected, match="DTD"):
        parse_xml(document.decode().encode("utf-16"))


def test_a_dtd_request_is_a_client_fault_naming_the_dtd() -> None:
    with pytest.raises(SoapFault) as caught:
        read_envelope(XXE)
    assert caught.value.code == "Client"
    assert "DTD" in caught.value.string and "root:" not in caught.value.string


@pytest.mark.parametrize("document", [b"", b"   ", b"<soap:Envelope", b"not xml at all"])
def test_malformed_or_empty_bodies_are_refused(document: bytes) -> None:
    with pytest.raises(XmlRejected):
        parse_xml(document)


def test_read_envelope_finds_header_body_and_operation() -> None:
    message = read_envelope(
        envelope('<r:Ask xmlns:r="urn:x"><r:A>1</r:A></r:Ask>', token("u", "p"))
    )
    assert message.operation == "{urn:x}Ask"
    assert message.header is not None and not message.is_fault
    assert message.payload.findtext("{urn:x}A") == "1"


def test_soap_12_is_a_version_mismatch() -> None:
    document = f'<e:Envelope xmlns:e="{SOAP12_ENV}"><e:Body><op/></e:Body></e:Envelope>'
    with pytest.raises(SoapFault) as caught:
        read_envelope(document.encode())
    assert caught.value.code == "VersionMismatch"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"<Envelope><Body><op/></Body></Envelope>", "not a SOAP 1.1 Envelope"),
        (f'<soap:Envelope xmlns:soap="{SOAP_ENV}"/>'.encode(), "no Body"),
        (envelope(""), "Body is empty"),
    ],
)
def test_broken_envelopes_are_client_faults(document: bytes, reason: str) -> None:
    with pytest.raises(SoapFault, match=reason) as caught:
        read_envelope(document)
    assert caught.value.code == "Client"


def test_a_must_understand_header_we_do_not_know_is_refused() -> None:
    header = f'<t:Tx xmlns:t="urn:tx" soap:mustUnderstand="1" xmlns:soap="{SOAP_ENV}"/>'
    with pytest.raises(SoapFault) as caught:
        read_envelope(envelope("<op/>", header))
    assert caught.value.code == "MustUnderstand"
    assert read_envelope(envelope("<op/>", header.replace('"1"', '"0"'))).operation == "op"


def test_fault_envelope_is_soap_11_with_code_string_and_detail() -> None:
    detail = etree.Element("{urn:x}Why")
    detail.text = "مرفوض"
    fault = SoapFault.client("authentication failed", detail)
    message = split_envelope(etree.fromstring(fault_envelope(fault)))
    assert fault.status_code == 500 and message.is_fault
    assert message.payload.findtext("faultcode") == "soap:Client"
    assert message.payload.findtext("faultstring") == "authentication failed"
    assert message.payload.findtext("detail/{urn:x}Why") == "مرفوض"
    assert SoapFault.server("later").code == "Server"


def test_reply_envelope_keeps_arabic_text_as_utf8() -> None:
    payload = etree.Element("{urn:x}Name")
    payload.text = "سالم بن حمد الحارثي"
    data = reply_envelope(payload)
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert "سالم بن حمد الحارثي".encode() in data
    assert read_envelope(data).payload.text == "سالم بن حمد الحارثي"


def test_username_token_text_password() -> None:
    message = read_envelope(envelope("<op/>", token("hub", "s3cret")))
    assert check_username_token(message.header, "hub", "s3cret") == "hub"
    for username, password in [("hub", "wrong"), ("other", "s3cret")]:
        with pytest.raises(SoapFault, match="authentication failed") as caught:
            check_username_token(message.header, username, password)
        assert caught.value.code == "Client"


def test_username_token_missing_is_refused() -> None:
    with pytest.raises(SoapFault, match="authentication failed"):
        check_username_token(read_envelope(envelope("<op/>")).header, "hub", "s3cret")


def test_username_token_digest_as_zeep_sends_it() -> None:
    root = etree.fromstring(envelope("<op/>"))
    signed, _ = ZeepUsernameToken("hub", "s3cret", use_digest=True).apply(root, {})
    header = split_envelope(signed).header
    assert check_username_token(header, "hub", "s3cret") == "hub"
    with pytest.raises(SoapFault):
        check_username_token(header, "hub", "other")


SCHEMA = b"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:x"
  elementFormDefault="qualified"><xs:element name="Reply"><xs:complexType><xs:sequence>
  <xs:element name="When" type="xs:date"/></xs:sequence></xs:complexType></xs:element>
  </xs:schema>"""


def test_schema_errors_name_the_field_and_the_reason() -> None:
    schema = etree.XMLSchema(etree.fromstring(SCHEMA))
    good = etree.fromstring(b'<r:Reply xmlns:r="urn:x"><r:When>2027-03-14</r:When></r:Reply>')
    bad = etree.fromstring(b'<r:Reply xmlns:r="urn:x"><r:When>14/03/2027</r:When></r:Reply>')
    assert schema_errors(schema, good) == []
    [error] = schema_errors(schema, bad)
    assert error.startswith("Reply/When: ") and "xs:date" in error and "urn:x" not in error


def test_publish_wsdl_binds_address_and_schema_locations(tmp_path: Path) -> None:
    wsdl = tmp_path / "s.wsdl"
    wsdl.write_text(
        '<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"'
        ' xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"'
        ' xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        '<wsdl:types><xs:schema><xs:import namespace="urn:x" schemaLocation="s.xsd"/>'
        "</xs:schema></wsdl:types><wsdl:service name='S'><wsdl:port name='P' binding='b'>"
        '<soap:address location="https://placeholder/"/></wsdl:port></wsdl:service>'
        "</wsdl:definitions>"
    )
    published = etree.fromstring(
        publish_wsdl(wsdl, "http://127.0.0.1:9/", lambda name: f"http://127.0.0.1:9/?xsd={name}")
    )
    address = published.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    imported = published.find(".//{http://www.w3.org/2001/XMLSchema}import")
    assert address is not None and address.get("location") == "http://127.0.0.1:9/"
    assert imported is not None
    assert imported.get("schemaLocation") == "http://127.0.0.1:9/?xsd=s.xsd"
