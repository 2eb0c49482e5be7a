"""The SOAP hot path without zeep, proved against zeep on every operation of every SOAP agency.

For each installed connector whose client is a `SoapAgencyClient` (rop, electricity, any new
one), each operation of its binding and a set of inputs (the canonical examples, unknown keys,
Arabic names): the template envelope is the one zeep builds (canonical XML compared), its
payload is valid for the agency XSD, the simulator accepts it, and the fast reader's values
equal zeep's `serialize_object` of the same reply bytes, for the simulator's replies, for
variants of them with optional elements dropped and edge lexical forms, and for its faults.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import zeep
from lxml import etree
from zeep.exceptions import Fault
from zeep.helpers import serialize_object
from zeep.wsse.username import UsernameToken

from connectors.agency import AgencyConnector
from connectors.soap.client import SoapAgencyClient, SoapFaultReply, SoapOperation, SoapService
from connectors.soap.operations import ZEEP_SETTINGS, binding_codecs
from connectors.soap.simulator import SoapAgencySimulator
from connectors.soap.wsse import WsSecurity
from hub.agencies.connector import CallContext, CallPolicy, Endpoint, load_connectors
from hub.contracts.registry import ContractRegistry
from hub.errors import PermanentAgencyError, TransientAgencyError
from hub.serving import LoopbackServer
from hub.soap import CONTENT_TYPE, parse_xml, schema_errors, split_envelope

POLICY = CallPolicy(timeout_s=2.0, attempts=1)
CTX = CallContext(correlation_id="corr-fast", message_id="msg-fast")
ARABIC = "عائشة بنت سعيد البلوشية"

# Inputs beyond the contracts' examples: keys the simulators do not know (found=false, the
# optional elements absent) and Arabic text where the request carries a name.
EXTRA_INPUTS: dict[str, list[dict[str, Any]]] = {
    "vehicle_inquiry": [{"plate_number": "99999", "plate_code": "ZZ"}],
    "civil_defence_certificate": [{"premises_id": "MCT-PR-99999"}],
    "parking_violation_settled": [
        {
            "violation_no": "PV-2026-999999",
            "plate_number": "1",
            "plate_code": "A",
            "amount_omr": "0.001",
            "payment_reference": "MM-PAY-2026-9999999",
        }
    ],
    "account_standing": [{"account_no": "3999999999"}],
    "new_connection_request": [
        {
            "permit_no": "MCT-BP-2026-099001",
            "owner_civil_id": "119900771",
            "owner_name_en": "Aisha bint Said Al Balushi",
            "owner_name_ar": ARABIC,
            "plot_no": "9/99-A",
            "wilayat": "Al Amerat",
            "load_kva": 10000,
        }
    ],
}


@dataclass
class SoapAgency:
    """One SOAP connector, its simulator on loopback, and a zeep client as the reference."""

    connector: AgencyConnector
    simulator: SoapAgencySimulator
    server: LoopbackServer
    service: SoapService
    zeep_client: zeep.Client

    def ask(self, operation: str, canonical: Mapping[str, Any]) -> Mapping[str, Any]:
        """One call through a fresh hub client (closed after), as the gateway makes it."""

        async def run() -> Mapping[str, Any]:
            endpoint = Endpoint(self.server.url, self.simulator.credentials)
            client = self.connector.with_policy(POLICY).client(endpoint)
            try:
                return await client.call(operation, canonical, CTX)
            finally:
                await client.aclose()

        return asyncio.run(run())

    @property
    def zeep_service(self) -> Any:
        """zeep's service proxy for the agency's binding, bound to the simulator."""
        return self.zeep_client.create_service(self.service.binding, self.server.url)

    @property
    def binding(self) -> Any:
        return self.zeep_client.wsdl.bindings[self.service.binding]

    def post(self, envelope: bytes, action: str) -> httpx.Response:
        headers = {"SOAPAction": f'"{action}"', "Content-Type": CONTENT_TYPE}
        return httpx.post(self.server.url, content=envelope, headers=headers, timeout=5.0)


def soap_connectors() -> list[AgencyConnector]:
    """Every installed connector whose client is the shared SOAP client."""
    return [
        plugin
        for plugin in load_connectors().values()
        if isinstance(plugin, AgencyConnector)
        and isinstance(plugin.make_client, type)
        and issubclass(plugin.make_client, SoapAgencyClient)
    ]


@pytest.fixture(scope="module", params=[c.name for c in soap_connectors()])
def agency(request: pytest.FixtureRequest) -> Iterator[SoapAgency]:
    connector = next(c for c in soap_connectors() if c.name == request.param)
    simulator = connector.simulator(0)
    assert isinstance(simulator, SoapAgencySimulator)
    simulator.latency_s = 0.0
    with LoopbackServer(simulator.app) as server:
        client = connector.client(Endpoint(server.url, simulator.credentials))
        assert isinstance(client, SoapAgencyClient)
        asyncio.run(client.aclose())
        credentials = simulator.credentials
        reference = zeep.Client(
            str(client.service.wsdl_path),
            wsse=UsernameToken(credentials["username"], credentials["password"]),
            settings=ZEEP_SETTINGS,
        )
        yield SoapAgency(connector, simulator, server, client.service, reference)


@dataclass(frozen=True)
class Input:
    operation: str
    spec: SoapOperation
    canonical: Mapping[str, Any]

    @property
    def fields(self) -> dict[str, Any]:
        """zeep's keyword arguments for the operation."""
        return self.spec.to_soap(self.canonical)


def inputs(agency: SoapAgency) -> list[Input]:
    """Every input of every operation: the contracts' examples and EXTRA_INPUTS."""
    contracts = ContractRegistry.load()
    found = []
    for name, operation in agency.connector.operations().items():
        spec = agency.service.operations[name]
        examples = list(contracts.get(operation.request_contract).examples)
        for canonical in [*examples, *EXTRA_INPUTS.get(name, [])]:
            found.append(Input(name, spec, canonical))
    return found


def canonical_xml(xml: bytes) -> bytes:
    return etree.tostring(parse_xml(xml), method="c14n")


def zeep_reply(agency: SoapAgency, soap_name: str, content: bytes, status: int = 200) -> Any:
    """What the zeep client made of a reply: `serialize_object` of its result, or its Fault."""
    response = SimpleNamespace(status_code=status, headers={}, content=content)
    operation = agency.binding.get(soap_name)
    result = agency.binding.process_reply(agency.zeep_client, operation, response)
    return serialize_object(result, dict)


def fast_reply(agency: SoapAgency, soap_name: str, content: bytes) -> Any:
    message = split_envelope(parse_xml(content))
    if message.is_fault:
        raise SoapFaultReply(message.payload)
    return binding_codecs(agency.service.wsdl_path, agency.service.binding)[soap_name].reply(
        message.payload
    )


def envelope(agency: SoapAgency, soap_name: str, fields: Mapping[str, Any]) -> bytes:
    codec = binding_codecs(agency.service.wsdl_path, agency.service.binding)[soap_name]
    credentials = agency.simulator.credentials
    security = WsSecurity(credentials["username"], credentials["password"], None)
    return security.envelope(codec.request(fields))


def test_every_soap_agency_is_covered() -> None:
    assert {"rop", "electricity"} <= {c.name for c in soap_connectors()}


def test_template_envelope_is_zeeps_and_valid(agency: SoapAgency) -> None:
    checked = 0
    for given in inputs(agency):
        spec, fields = given.spec, given.fields
        ours = envelope(agency, spec.soap_name, fields)
        theirs = agency.zeep_client.create_message(agency.zeep_service, spec.soap_name, **fields)
        assert canonical_xml(ours) == etree.tostring(theirs, method="c14n")
        payload = split_envelope(parse_xml(ours)).payload
        assert schema_errors(agency.service.schema(), payload) == []
        checked += 1
    assert checked >= len(agency.connector.operations()) * 2


def test_simulator_accepts_the_template_and_both_readers_agree(agency: SoapAgency) -> None:
    found_and_not: set[bool] = set()
    for given in inputs(agency):
        spec, fields = given.spec, given.fields
        action = agency.binding.get(spec.soap_name).soapaction
        reply = agency.post(envelope(agency, spec.soap_name, fields), action)
        assert reply.status_code == 200, reply.text
        ours = fast_reply(agency, spec.soap_name, reply.content)
        assert ours == zeep_reply(agency, spec.soap_name, reply.content)
        found_and_not.add(bool(ours.get("Found", True)))
    assert found_and_not == {True, False}


def variants(payload: etree._Element) -> Iterator[etree._Element]:
    """The payload with each element dropped in turn, and with edge lexical forms and Arabic
    text in each leaf in turn (which of them the XSD still accepts is judged by the caller)."""
    nodes = list(payload.iter())[1:]
    for index in range(len(nodes)):
        changed = copy.deepcopy(payload)
        node = list(changed.iter())[1:][index]
        node.getparent().remove(node)
        yield changed
    edges = {"true": ["1", " true "], "false": ["0"]}
    for index, node in enumerate(nodes):
        if len(node) or node.text is None:
            continue
        text = node.text
        forms = [*edges.get(text, []), ARABIC, f"{text}Z", f"{text}+04:00", f"0{text}", ""]
        for form in forms:
            changed = copy.deepcopy(payload)
            list(changed.iter())[1:][index].text = form
            yield changed


def test_fast_reader_equals_zeep_on_reply_variants(agency: SoapAgency) -> None:
    schema = agency.service.schema()
    compared = 0
    for given in inputs(agency):
        spec, fields = given.spec, given.fields
        action = agency.binding.get(spec.soap_name).soapaction
        reply = agency.post(envelope(agency, spec.soap_name, fields), action)
        root = parse_xml(reply.content)
        body = split_envelope(root).body
        for variant in variants(split_envelope(root).payload):
            if schema_errors(schema, variant):
                continue
            body.replace(body[0], variant)
            content = etree.tostring(root)
            assert fast_reply(agency, spec.soap_name, content) == zeep_reply(
                agency, spec.soap_name, content
            ), content.decode()
            compared += 1
    assert compared >= 10


@pytest.mark.parametrize("fault", ["error", "bad-request"])
def test_faults_read_as_zeep_reads_them(agency: SoapAgency, fault: str) -> None:
    spec, fields = inputs(agency)[0].spec, inputs(agency)[0].fields
    content = envelope(agency, spec.soap_name, fields)
    if fault == "bad-request":
        payload = split_envelope(parse_xml(content)).payload
        content = content.replace(etree.QName(payload[0]).localname.encode(), b"Nonsense", 2)
    agency.simulator.set_fault("error" if fault == "error" else "none")
    try:
        reply = agency.post(content, agency.binding.get(spec.soap_name).soapaction)
    finally:
        agency.simulator.set_fault("none")
    assert reply.status_code == 500
    with pytest.raises(SoapFaultReply) as ours:
        fast_reply(agency, spec.soap_name, reply.content)
    with pytest.raises(Fault) as theirs:
        zeep_reply(agency, spec.soap_name, reply.content, status=500)
    assert (ours.value.code, ours.value.message) == (theirs.value.code, theirs.value.message)


def test_client_answers_as_zeep_did_for_every_input(agency: SoapAgency) -> None:
    """The whole call (template, post, judged reply read once, mapping) against the simulator
    gives what the zeep client gives for the same request."""
    service = agency.zeep_service
    for given in inputs(agency):
        theirs = getattr(service, given.spec.soap_name)(**given.fields)
        expected = given.spec.to_canonical(serialize_object(theirs, dict) or {})
        ours = agency.ask(given.operation, given.canonical)
        assert ours == expected


def test_server_fault_is_transient_with_zeeps_message(agency: SoapAgency) -> None:
    given = inputs(agency)[0]
    agency.simulator.set_fault("error")
    try:
        with pytest.raises(TransientAgencyError, match=r"^.*SOAP Server fault: .+ temporarily"):
            agency.ask(given.operation, given.canonical)
    finally:
        agency.simulator.set_fault("none")


def test_reply_of_another_operation_is_unusable(agency: SoapAgency) -> None:
    """A reply that the XSD accepts but that answers another operation is refused, never
    read as if it fitted (zeep refused it too)."""
    operations = list(agency.service.operations.values())
    first, other = operations[0], operations[1]
    codecs = binding_codecs(agency.service.wsdl_path, agency.service.binding)
    other_fields = next(given.fields for given in inputs(agency) if given.spec is other)
    action = codecs[other.soap_name].soap_action
    reply = agency.post(envelope(agency, other.soap_name, other_fields), action)
    with pytest.raises(ValueError, match="expected"):
        fast_reply(agency, first.soap_name, reply.content)
    with pytest.raises(zeep.exceptions.Error):
        zeep_reply(agency, first.soap_name, reply.content)


def test_request_the_wsdl_cannot_carry_is_permanent_and_never_sent(agency: SoapAgency) -> None:
    """A mapping that leaves out a required element is refused before anything is posted."""
    name, spec = next(iter(agency.service.operations.items()))

    def incomplete(request: Mapping[str, Any]) -> dict[str, Any]:
        fields = spec.to_soap(request)
        fields[next(iter(fields))] = None
        return fields

    broken = SoapOperation(spec.soap_name, incomplete, spec.to_canonical)
    service = dataclasses.replace(agency.service, operations={name: broken})
    given = inputs(agency)[0]
    before = len(agency.simulator.seen_correlation_ids)

    async def run() -> Mapping[str, Any]:
        endpoint = Endpoint(agency.server.url, agency.simulator.credentials)
        client = SoapAgencyClient(service, endpoint, POLICY)
        try:
            return await client.call(name, given.canonical, CTX)
        finally:
            await client.aclose()

    with pytest.raises(PermanentAgencyError, match="request unfit for the WSDL: Missing element"):
        asyncio.run(run())
    assert len(agency.simulator.seen_correlation_ids) == before
