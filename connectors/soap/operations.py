"""Each operation of a SOAP binding compiled once from its WSDL: how to write its request
payload, which SOAPAction to send, and how to read its reply payload into plain values.

zeep loads the WSDL and resolves its types (it stays the proof of shape); what is compiled from
its objects runs per call without it. Only document/literal operations with one body part are
compiled, which is what every agency WSDL here declares; anything else refuses at build time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree
from zeep import Settings
from zeep.transports import Transport
from zeep.wsdl import Document
from zeep.wsdl.messages.soap import DocumentMessage
from zeep.xsd.types.complex import ComplexType

from connectors.soap.xsd_reader import Reader, ReplyUnusable, compile_reader
from connectors.soap.xsd_writer import compile_payload
from hub.plugin import ConfigurationError

# zeep reads the WSDL and its XSD with these (local files only, nothing fetched).
ZEEP_SETTINGS = Settings(
    strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=True
)


@dataclass(frozen=True)
class OperationCodec:
    """One operation: `request` builds the input payload, `reply` reads the output payload."""

    name: str
    soap_action: str
    request: Callable[[Mapping[str, Any]], etree._Element]
    output_tag: str
    read_output: Reader
    unwrap: str | None  # zeep returns the only child of a one-child output, not a dict

    def reply(self, payload: etree._Element) -> Any:
        """The plain value zeep's `serialize_object` gives for this operation's reply."""
        if payload.tag != self.output_tag:
            raise ReplyUnusable(f"reply is {payload.tag!s}, expected {self.output_tag}")
        value = self.read_output(payload)
        if self.unwrap is not None and value is not None:
            return value[self.unwrap]
        return value


def _body_element(message: Any, operation: str, direction: str) -> Any:
    if not isinstance(message, DocumentMessage) or message.body is None:
        raise ConfigurationError(f"{operation} {direction}: only document/literal is supported")
    return message.body


def _codec(binding_operation: Any, schema: Any) -> OperationCodec:
    name = binding_operation.name
    request_element = _body_element(binding_operation.input, name, "input")
    output_element = _body_element(binding_operation.output, name, "output")
    output_type = output_element.type
    one_child = (
        isinstance(output_type, ComplexType)
        and len(output_type.elements) == 1
        and not output_type.attributes
    )
    return OperationCodec(
        name=name,
        soap_action=binding_operation.soapaction or "",
        request=compile_payload(request_element),
        output_tag=output_element.qname.text,
        read_output=compile_reader(output_element, schema),
        unwrap=output_type.elements[0][0] if one_child else None,
    )


@cache
def binding_codecs(wsdl_path: Path, binding: str) -> Mapping[str, OperationCodec]:
    """Every operation of `binding` in the WSDL at `wsdl_path`, by SOAP operation name;
    compiled once per process, since the contract is a packaged file."""
    document = Document(str(wsdl_path), Transport(), settings=ZEEP_SETTINGS)  # type: ignore[no-untyped-call, arg-type]
    bound = document.bindings[binding]
    return {
        name: _codec(operation, document.types) for name, operation in bound._operations.items()
    }
