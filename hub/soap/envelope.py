"""SOAP 1.1 envelopes: read a request safely, write a reply or a fault.

Everything a partner or an agency sends us is untrusted XML, so the only way in is
`parse_xml`: a DTD is refused before the parser sees it, and the parser itself resolves no
entities, loads no DTD and opens no network connection.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"

WSSE_SECURITY = etree.QName(WSSE, "Security").text
CONTENT_TYPE = "text/xml; charset=utf-8"

FaultCode = Literal["VersionMismatch", "MustUnderstand", "Client", "Server"]

# A DTD is the door to entity expansion and external fetches; no SOAP message needs one
# (SOAP 1.1 section 3), so its mere presence rejects the document. The markers are looked for
# in every encoding an XML document may declare without an ASCII-compatible byte layout.
_DTD_MARKERS = tuple(
    marker.encode(encoding)
    for marker in ("<!DOCTYPE", "<!ENTITY")
    for encoding in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)


class XmlRejected(ValueError):
    """The bytes are not XML we are willing to read: malformed, empty, or carrying a DTD."""


class SoapFault(Exception):
    """A SOAP 1.1 fault to send back; raise it anywhere below an endpoint.

    SOAP 1.1 over HTTP (section 6.2) answers every fault with HTTP 500.
    """

    status_code = 500

    def __init__(self, code: FaultCode, string: str, detail: etree._Element | None = None) -> None:
        super().__init__(f"soap:{code}: {string}")
        self.code: FaultCode = code
        self.string = string
        self.detail = detail
        # HTTP headers for the reply, e.g. Retry-After on a fault answered with 429.
        self.headers: dict[str, str] = {}

    @classmethod
    def client(cls, string: str, detail: etree._Element | None = None) -> SoapFault:
        """The sender's fault: retrying the same message cannot help."""
        return cls("Client", string, detail)

    @classmethod
    def server(cls, string: str, detail: etree._Element | None = None) -> SoapFault:
        """The receiver's fault: the same message may succeed later."""
        return cls("Server", string, detail)


@dataclass(frozen=True)
class SoapMessage:
    """A parsed SOAP 1.1 envelope: its header (if any), body, and the operation element."""

    envelope: etree._Element
    header: etree._Element | None
    body: etree._Element
    payload: etree._Element

    @property
    def operation(self) -> str:
        """The payload's qualified name in Clark notation, `{namespace}LocalName`."""
        return etree.QName(self.payload).text

    @property
    def is_fault(self) -> bool:
        return self.payload.tag == etree.QName(SOAP_ENV, "Fault").text


def hardened_parser() -> etree.XMLParser:
    """A parser that cannot be made to expand entities, read a DTD or fetch anything."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def parse_xml(data: bytes) -> etree._Element:
    """The root of an untrusted XML document; any DTD is refused before parsing starts."""
    if not data.strip():
        raise XmlRejected("empty document")
    if any(marker in data for marker in _DTD_MARKERS):
        raise XmlRejected("a DTD (DOCTYPE or ENTITY declaration) is not allowed")
    try:
        root = etree.fromstring(data, hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise XmlRejected(f"not well-formed XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise XmlRejected("a DTD (DOCTYPE or ENTITY declaration) is not allowed")
    return root


def split_envelope(
    root: etree._Element, understood_headers: Collection[str] = (WSSE_SECURITY,)
) -> SoapMessage:
    """Envelope, Header, Body and payload of a parsed document, or the fault SOAP 1.1 asks for.

    A header block marked mustUnderstand="1" that is not in `understood_headers` is refused,
    as SOAP 1.1 section 4.2.3 requires, rather than silently ignored.
    """
    if root.tag == etree.QName(SOAP12_ENV, "Envelope").text:
        raise SoapFault("VersionMismatch", "this endpoint speaks SOAP 1.1 only")
    if root.tag != etree.QName(SOAP_ENV, "Envelope").text:
        raise SoapFault.client("the document is not a SOAP 1.1 Envelope")
    header = root.find(f"{{{SOAP_ENV}}}Header")
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if body is None:
        raise SoapFault.client("the Envelope has no Body")
    payload = next((child for child in body if isinstance(child.tag, str)), None)
    if payload is None:
        raise SoapFault.client("the Body is empty: no operation was named")
    if header is not None:
        for block in header:
            must = block.get(f"{{{SOAP_ENV}}}mustUnderstand", "0").strip()
            if must in ("1", "true") and block.tag not in understood_headers:
                raise SoapFault(
                    "MustUnderstand", f"header {etree.QName(block).localname} is not understood"
                )
    return SoapMessage(envelope=root, header=header, body=body, payload=payload)


def read_envelope(
    data: bytes, understood_headers: Collection[str] = (WSSE_SECURITY,)
) -> SoapMessage:
    """Parse a request body into a `SoapMessage`; every refusal is a soap:Client fault."""
    try:
        root = parse_xml(data)
    except XmlRejected as exc:
        raise SoapFault.client(f"request rejected: {exc}") from None
    return split_envelope(root, understood_headers)


def _envelope(content: etree._Element) -> bytes:
    envelope = etree.Element(etree.QName(SOAP_ENV, "Envelope"), nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(envelope, etree.QName(SOAP_ENV, "Body"))
    body.append(content)
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def reply_envelope(payload: etree._Element) -> bytes:
    """A reply envelope around `payload`, serialised as UTF-8 with an XML declaration."""
    return _envelope(payload)


def fault_envelope(fault: SoapFault) -> bytes:
    """The SOAP 1.1 Fault element for `fault`, in an envelope (faultcode in the soap prefix)."""
    element = etree.Element(etree.QName(SOAP_ENV, "Fault"), nsmap={"soap": SOAP_ENV})
    etree.SubElement(element, "faultcode").text = f"soap:{fault.code}"
    etree.SubElement(element, "faultstring").text = fault.string
    if fault.detail is not None:
        etree.SubElement(element, "detail").append(copy.deepcopy(fault.detail))
    return _envelope(element)
