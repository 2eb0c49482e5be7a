"""A request payload written from plain values with lxml, the way zeep would render it.

Compiled once per element from zeep's XSD objects, so the element names, their order and the
text of each value (zeep's own `xmlvalue`: decimals unexponented, booleans as true/false,
dates in ISO form) come from the WSDL; per call only lxml runs. zeep's rules are kept: an
absent optional element is left out, an absent nillable one is sent as xsi:nil, an absent
required one refuses the request, a list gives one element per item. A complex type beyond a
plain sequence of elements is rendered by zeep for that element only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lxml import etree
from zeep.xsd.elements.element import Element
from zeep.xsd.types.complex import ComplexType
from zeep.xsd.types.simple import AnySimpleType

from connectors.soap.xsd_reader import plain_sequence

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"

Writer = Callable[[etree._Element, Any], None]


class RequestUnfit(ValueError):
    """Values the operation's input cannot carry (a required element missing, too few items)."""


def _content_writer(xsd_type: Any, element: Element) -> Writer:
    """What goes inside the element: text for a simple type, children for a complex one."""
    if isinstance(xsd_type, AnySimpleType):
        xmlvalue = xsd_type.xmlvalue

        def write_text(node: etree._Element, value: Any) -> None:
            node.text = xmlvalue(value)  # type: ignore[no-untyped-call]

        return write_text
    children = plain_sequence(xsd_type) if isinstance(xsd_type, ComplexType) else None
    if children is None:

        def write_by_zeep(node: etree._Element, value: Any) -> None:
            typed = xsd_type(**value) if isinstance(value, Mapping) else value
            xsd_type.render(node, typed)

        return write_by_zeep
    fields = [(name, compile_writer(child)) for name, child in children]
    names = {name for name, _ in fields}

    def write_children(node: etree._Element, value: Any) -> None:
        unknown = set(value) - names
        if unknown:
            raise TypeError(f"{element.name} has no element {sorted(unknown)[0]!r}")
        for name, write in fields:
            write(node, value.get(name))

    return write_children


def compile_writer(element: Element) -> Writer:
    """A function that appends this element, holding `value`, to a parent element."""
    qname = element.qname.text
    write_content = _content_writer(element.type, element)
    optional, nillable = element.is_optional, element.nillable
    many, least = element.accepts_multiple, element.min_occurs
    most = element.max_occurs

    def write_one(parent: etree._Element, value: Any) -> None:
        if value is None:
            if optional:
                return
            if not nillable:
                raise RequestUnfit(f"Missing element {element.name}")
            etree.SubElement(parent, qname).set(XSI_NIL, "true")
            return
        write_content(etree.SubElement(parent, qname), value)

    def write(parent: etree._Element, value: Any) -> None:
        if many and isinstance(value, list):
            if len(value) < least:
                raise RequestUnfit(f"{element.name}: at least {least} items, {len(value)} given")
            if isinstance(most, int) and len(value) > most:
                raise RequestUnfit(f"{element.name}: at most {most} items, {len(value)} given")
            for item in value:
                write_one(parent, item)
            return
        write_one(parent, value)

    return write


def compile_payload(element: Element) -> Callable[[Mapping[str, Any]], etree._Element]:
    """The operation's input element built from its fields (zeep's keyword arguments)."""
    write_content = _content_writer(element.type, element)
    qname = element.qname

    def build(fields: Mapping[str, Any]) -> etree._Element:
        payload = etree.Element(qname.text, nsmap={"ns0": qname.namespace})
        write_content(payload, fields)
        return payload

    return build
