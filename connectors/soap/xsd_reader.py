"""A reply element read into the plain dict zeep's `serialize_object` would give, in one pass.

The transport has already parsed the reply and validated it against the agency XSD, so reading
it again through zeep's envelope and operation dispatch is pure cost. The reader is compiled
once per element from zeep's own XSD objects (the WSDL stays the proof of shape), and converts
each leaf with zeep's own `pythonvalue`, so types come out as zeep gives them: dates, decimals,
booleans, ints, lists for maxOccurs > 1, None for absent or empty elements. A complex type
beyond a plain sequence of elements (choice, any, attributes, simple content) is read by zeep's
parser for that element only, so every schema still works.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree
from zeep.helpers import serialize_object
from zeep.xsd import Schema
from zeep.xsd.elements.element import Element
from zeep.xsd.elements.indicators import Sequence
from zeep.xsd.types.complex import ComplexType
from zeep.xsd.types.simple import AnySimpleType

Reader = Callable[[etree._Element], Any]


class ReplyUnusable(ValueError):
    """A reply that passed the XSD but not the operation's output (an unexpected element)."""


def plain_sequence(xsd_type: ComplexType) -> list[tuple[str, Element]] | None:
    """The (name, element) children of a complex type that is one plain sequence of elements
    (no attributes, groups, choices or wildcards), else None."""
    if xsd_type.attributes or getattr(xsd_type, "_array_type", None):
        return None
    nested = xsd_type.elements_nested
    if not nested:
        return []
    if len(nested) != 1 or not isinstance(nested[0][1], Sequence):
        return None
    sequence = nested[0][1]
    if sequence.max_occurs != 1:
        return None
    children = list(sequence.elements)
    if not all(type(element) is Element for _, element in children):
        return None
    return children


def _simple_reader(xsd_type: AnySimpleType) -> Reader:
    pythonvalue = xsd_type.pythonvalue

    def read(node: etree._Element) -> Any:
        text = node.text
        if text is None:
            return None
        try:
            return pythonvalue(text)
        except (TypeError, ValueError):
            return None  # zeep logs and gives None; the XSD check makes this unreachable

    return read


def _sequence_reader(children: list[tuple[str, Element]], schema: Schema) -> Reader:
    fields = {
        element.qname.text: (name, element.accepts_multiple, compile_reader(element, schema))
        for name, element in children
    }
    order = [(name, element.accepts_multiple) for name, element in children]

    def read(node: etree._Element) -> dict[str, Any] | None:
        if len(node) == 0 and not node.attrib:
            return None  # zeep: an element with nothing in it is None
        result: dict[str, Any] = {name: [] if many else None for name, many in order}
        for child in node.iterchildren(tag=etree.Element):
            field = fields.get(child.tag)
            if field is None:
                raise ReplyUnusable(f"unexpected element {child.tag!s} in {node.tag!s}")
            name, many, read_child = field
            if many:
                result[name].append(read_child(child))
            else:
                result[name] = read_child(child)
        return result

    return read


def _zeep_reader(element: Element, schema: Schema) -> Reader:
    def read(node: etree._Element) -> Any:
        return serialize_object(element.parse(node, schema), dict)  # type: ignore[no-untyped-call]

    return read


def compile_reader(element: Element, schema: Schema) -> Reader:
    """A function from one XML element of this declaration to its plain value."""
    xsd_type = element.type
    if isinstance(xsd_type, AnySimpleType):
        return _simple_reader(xsd_type)
    if isinstance(xsd_type, ComplexType):
        children = plain_sequence(xsd_type)
        if children == [] and not xsd_type.attributes:
            return lambda node: None  # zeep: an empty complex type reads as None
        if children is not None:
            return _sequence_reader(children, schema)
    return _zeep_reader(element, schema)
