"""Column arrays for PostgreSQL's `unnest` inserts: each column's type as an array element,
sent by psycopg in binary.

psycopg sends a Python list in text form by default: every element quoted, every quote of a
JSON detail or a result body escaped, and PostgreSQL parses it all back. In binary each element
goes out length-prefixed as it is (measured on a settling transaction of 10 rows: 0.4 ms less
client CPU, 0.05 ms less server CPU). Only the lists made here go out in binary: the dumper is
registered for a private list type, not for every list the hub sends.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.array import ListBinaryDumper
from sqlalchemy import Column, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class _BinaryList(list[Any]):
    """A column's values on their way to psycopg, which sends this type in binary."""


psycopg.adapters.register_dumper(_BinaryList, ListBinaryDumper)


class BinaryArray(TypeDecorator[list[Any]]):
    """`ARRAY(element)` whose bound value goes out as `_BinaryList`, after the element type's
    own processing (JSON serialised as for a row, UTC times checked): so it extends
    `bind_processor` (keeping the inner processing) rather than `process_bind_param`, which runs
    before it."""

    impl = ARRAY
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Any:
        processed = super().bind_processor(dialect)

        def binary(values: list[Any]) -> _BinaryList:
            return _BinaryList(processed(values) if processed is not None else values)

        return binary


def array_type(column: Column[Any]) -> BinaryArray:
    """The array type for a column's values: one dimension (a JSON value that is a list stays
    one element) of the column's own type, without a length (`element_type`)."""
    return BinaryArray(element_type(column), dimensions=1)


def element_type(column: Column[Any]) -> TypeEngine[Any]:
    """The column's type for its array's elements, without a length: an explicit cast to
    varchar(n) cuts a longer value silently, where the column's own assignment rejects it."""
    kind = column.type
    if isinstance(kind, String) and kind.length is not None:
        unbounded = kind.copy()
        unbounded.length = None
        return unbounded
    return kind
