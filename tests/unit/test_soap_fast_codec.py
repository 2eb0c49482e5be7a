"""The compiled SOAP request writer and reply reader against zeep, on a contract that uses what
the agency WSDLs do not yet: lists (maxOccurs > 1), nillable elements, every builtin type the
reader converts, an empty complex type, a one-child output (zeep unwraps it) and a choice
(read and written by zeep for that element only). Each reply is compared with zeep's
`serialize_object` of the same bytes, each request with the payload zeep renders.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import zeep
from lxml import etree
from zeep.helpers import serialize_object

from connectors.soap.operations import ZEEP_SETTINGS, binding_codecs
from connectors.soap.xsd_reader import ReplyUnusable
from connectors.soap.xsd_writer import RequestUnfit

NS = "urn:test:fast:1"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ARABIC = "سالم بن حمد الحارثي"

XSD = f"""
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="{NS}"
           targetNamespace="{NS}" elementFormDefault="qualified">
  <xs:complexType name="Empty"/>
  <xs:complexType name="Person">
    <xs:sequence>
      <xs:element name="Name" type="xs:string"/>
      <xs:element name="Phone" type="xs:string" minOccurs="0" maxOccurs="3"/>
      <xs:element name="Note" type="xs:string" nillable="true"/>
    </xs:sequence>
  </xs:complexType>
  <xs:complexType name="Contact">
    <xs:choice>
      <xs:element name="Email" type="xs:string"/>
      <xs:element name="Fax" type="xs:string"/>
    </xs:choice>
  </xs:complexType>
  <xs:element name="AskRequest">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="Key" type="xs:string"/>
        <xs:element name="Amount" type="xs:decimal"/>
        <xs:element name="Flag" type="xs:boolean" minOccurs="0"/>
        <xs:element name="On" type="xs:date" minOccurs="0"/>
        <xs:element name="Tag" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element name="People" type="t:Person" minOccurs="1" maxOccurs="2"/>
        <xs:element name="Nil" type="xs:string" nillable="true"/>
        <xs:element name="Contact" type="t:Contact" minOccurs="0"/>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
  <xs:element name="AskResponse">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="Found" type="xs:boolean"/>
        <xs:element name="Count" type="xs:int" minOccurs="0"/>
        <xs:element name="Total" type="xs:long" minOccurs="0"/>
        <xs:element name="Amount" type="xs:decimal" minOccurs="0"/>
        <xs:element name="Ratio" type="xs:double" minOccurs="0"/>
        <xs:element name="On" type="xs:date" minOccurs="0"/>
        <xs:element name="At" type="xs:dateTime" minOccurs="0"/>
        <xs:element name="Tag" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element name="People" type="t:Person" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element name="Nothing" type="t:Empty" minOccurs="0"/>
        <xs:element name="Maybe" type="xs:string" nillable="true" minOccurs="0"/>
        <xs:element name="Contact" type="t:Contact" minOccurs="0"/>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
  <xs:element name="PingRequest">
    <xs:complexType><xs:sequence><xs:element name="Key" type="xs:string"/></xs:sequence>
    </xs:complexType>
  </xs:element>
  <xs:element name="PingResponse">
    <xs:complexType><xs:sequence><xs:element name="Ok" type="xs:boolean"/></xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""

WSDL = f"""<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:t="{NS}" targetNamespace="{NS}">
  <wsdl:types>{XSD}</wsdl:types>
  <wsdl:message name="AskIn"><wsdl:part name="parameters" element="t:AskRequest"/></wsdl:message>
  <wsdl:message name="AskOut"><wsdl:part name="parameters" element="t:AskResponse"/></wsdl:message>
  <wsdl:message name="PingIn"><wsdl:part name="parameters" element="t:PingRequest"/></wsdl:message>
  <wsdl:message name="PingOut"><wsdl:part name="parameters" element="t:PingResponse"/>
  </wsdl:message>
  <wsdl:portType name="Port">
    <wsdl:operation name="Ask"><wsdl:input message="t:AskIn"/><wsdl:output message="t:AskOut"/>
    </wsdl:operation>
    <wsdl:operation name="Ping"><wsdl:input message="t:PingIn"/>
      <wsdl:output message="t:PingOut"/></wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="Binding" type="t:Port">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="Ask"><soap:operation soapAction="{NS}/Ask" style="document"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>
    <wsdl:operation name="Ping"><soap:operation soapAction="{NS}/Ping" style="document"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="Service"><wsdl:port name="P" binding="t:Binding">
    <soap:address location="http://localhost/"/></wsdl:port></wsdl:service>
</wsdl:definitions>
"""

BINDING = f"{{{NS}}}Binding"


@pytest.fixture(scope="module")
def wsdl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wsdl") / "fast.wsdl"
    path.write_text(WSDL, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(wsdl: Path) -> zeep.Client:
    return zeep.Client(str(wsdl), settings=ZEEP_SETTINGS)


def reply_envelope(payload: str) -> bytes:
    return (
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>{payload}</soap:Body></soap:Envelope>'
    ).encode()


def zeeps(reference: zeep.Client, operation: str, content: bytes) -> Any:
    binding = reference.wsdl.bindings[BINDING]
    response = SimpleNamespace(status_code=200, headers={}, content=content)
    result = binding.process_reply(reference, binding.get(operation), response)
    return serialize_object(result, dict)


def ours(wsdl: Path, operation: str, content: bytes) -> Any:
    payload = etree.fromstring(content)[0][0]
    return binding_codecs(wsdl, BINDING)[operation].reply(payload)


PERSON = "<t:People><t:Name>{name}</t:Name>{phones}<t:Note{note}</t:People>"


def person(name: str, phones: int, note: str | None) -> str:
    phone_xml = "".join(f"<t:Phone>+9689900000{n}</t:Phone>" for n in range(phones))
    nil = ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>'
    return PERSON.format(
        name=name, phones=phone_xml, note=nil if note is None else f">{note}</t:Note>"
    )


REPLIES = {
    "everything": (
        "<t:Found>true</t:Found><t:Count>42</t:Count><t:Total>9007199254740993</t:Total>"
        "<t:Amount>15.000</t:Amount><t:Ratio>0.5</t:Ratio><t:On>2026-12-07</t:On>"
        "<t:At>2026-12-07T06:30:00+04:00</t:At><t:Tag>a</t:Tag><t:Tag>ب</t:Tag>"
        + person(ARABIC, 2, "ملاحظة")
        + person("Salim", 0, None)
        + "<t:Nothing/><t:Maybe>x</t:Maybe><t:Contact><t:Fax>24</t:Fax></t:Contact>"
    ),
    "nothing optional": "<t:Found>false</t:Found>",
    "one list item, nil, numeric boolean": (
        "<t:Found>1</t:Found><t:Tag>only</t:Tag><t:Maybe "
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>'
    ),
    "empty text and zulu time": (
        "<t:Found> false </t:Found><t:Amount>-0.001</t:Amount><t:On>2026-02-28Z</t:On>"
        "<t:At>2026-01-01T00:00:00Z</t:At><t:Maybe/>"
    ),
}


@pytest.mark.parametrize("case", list(REPLIES))
def test_reader_equals_zeep(wsdl: Path, reference: zeep.Client, case: str) -> None:
    content = reply_envelope(f'<t:AskResponse xmlns:t="{NS}">{REPLIES[case]}</t:AskResponse>')
    assert ours(wsdl, "Ask", content) == zeeps(reference, "Ask", content)


def test_reader_gives_zeeps_types(wsdl: Path) -> None:
    content = reply_envelope(
        f'<t:AskResponse xmlns:t="{NS}">{REPLIES["everything"]}</t:AskResponse>'
    )
    value = ours(wsdl, "Ask", content)
    assert value["Found"] is True
    assert value["Count"] == 42 and value["Total"] == 9007199254740993
    assert value["Amount"] == Decimal("15.000") and str(value["Amount"]) == "15.000"
    assert value["On"] == date(2026, 12, 7)
    assert value["At"] == datetime(2026, 12, 7, 6, 30, tzinfo=timezone(timedelta(hours=4)))
    assert value["Tag"] == ["a", "ب"]
    assert [p["Name"] for p in value["People"]] == [ARABIC, "Salim"]
    assert value["People"][1] == {"Name": "Salim", "Phone": [], "Note": None}
    assert value["Nothing"] is None
    assert value["Contact"] == {"Email": None, "Fax": "24"}


def test_one_child_output_is_unwrapped_as_zeep_does(wsdl: Path, reference: zeep.Client) -> None:
    content = reply_envelope(f'<t:PingResponse xmlns:t="{NS}"><t:Ok>true</t:Ok></t:PingResponse>')
    assert ours(wsdl, "Ping", content) is True
    assert zeeps(reference, "Ping", content) is True


def test_reply_with_an_unexpected_element_is_unusable(wsdl: Path) -> None:
    wrong_operation = reply_envelope(
        f'<t:PingResponse xmlns:t="{NS}"><t:Ok>1</t:Ok></t:PingResponse>'
    )
    with pytest.raises(ReplyUnusable, match="expected"):
        ours(wsdl, "Ask", wrong_operation)
    stray = reply_envelope(f'<t:AskResponse xmlns:t="{NS}"><t:Stray>1</t:Stray></t:AskResponse>')
    with pytest.raises(ReplyUnusable, match="unexpected element"):
        ours(wsdl, "Ask", stray)


def zeep_payload(reference: zeep.Client, fields: dict[str, Any]) -> bytes:
    service = reference.create_service(BINDING, "http://localhost/")
    envelope = reference.create_message(service, "Ask", **fields)
    body = envelope.find(f"{{{SOAP_ENV}}}Body")
    assert body is not None
    return etree.tostring(body[0], method="c14n", exclusive=True)


REQUESTS: dict[str, dict[str, Any]] = {
    "everything": {
        "Key": ARABIC,
        "Amount": Decimal("1E-3"),
        "Flag": False,
        "On": date(2026, 12, 7),
        "Tag": ["a", "ب", "c"],
        "People": [
            {"Name": ARABIC, "Phone": ["1", "2"], "Note": "n"},
            {"Name": "Aisha", "Phone": [], "Note": None},
        ],
        "Nil": "value",
        "Contact": {"Email": "a@example.om"},
    },
    "least": {
        "Key": "k",
        "Amount": Decimal("15.000"),
        "People": {"Name": "x", "Note": None},
        "Nil": None,
    },
}


@pytest.mark.parametrize("case", list(REQUESTS))
def test_writer_equals_zeep(wsdl: Path, reference: zeep.Client, case: str) -> None:
    payload = binding_codecs(wsdl, BINDING)["Ask"].request(REQUESTS[case])
    assert etree.tostring(payload, method="c14n", exclusive=True) == zeep_payload(
        reference, REQUESTS[case]
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"Key": None}, "Missing element Key"),
        ({"People": []}, "People: at least 1 items, 0 given"),
        ({"People": [{"Name": "a", "Note": None}] * 3}, "People: at most 2 items, 3 given"),
        ({"People": {"Name": None, "Note": None}}, "Missing element Name"),
    ],
)
def test_writer_refuses_what_the_wsdl_cannot_carry(
    wsdl: Path, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(RequestUnfit, match=message):
        binding_codecs(wsdl, BINDING)["Ask"].request({**REQUESTS["least"], **change})


def test_writer_refuses_an_unknown_field(wsdl: Path) -> None:
    with pytest.raises(TypeError, match="'Colour'"):
        binding_codecs(wsdl, BINDING)["Ask"].request({**REQUESTS["least"], "Colour": "red"})
