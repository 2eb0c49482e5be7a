"""Serve a contract-first WSDL as it must look to the caller who fetched it.

The WSDL in `contracts/` names a placeholder address and imports its XSD by a relative file
name; a client that fetches `?wsdl` needs the address it reached us on and schema locations
it can fetch over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lxml import etree

from hub.soap.envelope import hardened_parser

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP11_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"

SchemaUrl = Callable[[str], str]


def _map_schema_locations(root: etree._Element, schema_url: SchemaUrl) -> None:
    for tag in ("import", "include"):
        for node in root.iter(f"{{{XSD_NS}}}{tag}"):
            location = node.get("schemaLocation")
            if location:
                node.set("schemaLocation", schema_url(location))


def publish_wsdl(path: Path, address: str, schema_url: SchemaUrl) -> bytes:
    """The WSDL at `path` with every soap:address set to `address` and each schemaLocation
    (a file name next to the WSDL) mapped through `schema_url`."""
    root = etree.parse(str(path), hardened_parser()).getroot()
    for node in root.iter(f"{{{WSDL_SOAP11_NS}}}address"):
        node.set("location", address)
    _map_schema_locations(root, schema_url)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def publish_schema(path: Path, schema_url: SchemaUrl) -> bytes:
    """An XSD with its own imports and includes mapped the same way as the WSDL's."""
    root = etree.parse(str(path), hardened_parser()).getroot()
    _map_schema_locations(root, schema_url)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def soap_actions(path: Path) -> dict[str, str]:
    """Each binding operation's soapAction in the WSDL at `path`, by operation name."""
    root = etree.parse(str(path), hardened_parser()).getroot()
    actions: dict[str, str] = {}
    for binding in root.iter(f"{{{WSDL_NS}}}binding"):
        for operation in binding.iter(f"{{{WSDL_NS}}}operation"):
            soap = operation.find(f"{{{WSDL_SOAP11_NS}}}operation")
            if soap is not None and soap.get("soapAction"):
                actions[operation.get("name", "")] = soap.get("soapAction", "")
    return actions
