"""Column-array inserts for PostgreSQL (issue 18): one parameter per column whatever the row
count, so the statement's text (and psycopg's cached conversion of it) never changes; element
types without a length, so a long value is refused by the column instead of cut by a cast; one
statement per combination of tables; the values sent as binary arrays, and only those."""

from __future__ import annotations

from typing import Any, cast

import psycopg
import pytest
from psycopg.adapt import PyFormat
from psycopg.types.array import ListBinaryDumper
from psycopg.types.json import Json
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql

from hub.audit.chain import _ADVANCE_HEAD
from hub.audit.entry import COLUMNS
from hub.store.arrays import _BinaryList, array_type, element_type
from hub.store.bulk import array_insert, combined
from hub.store.tables import AuditEntry, MessageHistory, OutboxEvent

HISTORY = cast(Table, MessageHistory.__table__)
OUTBOX = cast(Table, OutboxEvent.__table__)
ENTRIES = cast(Table, AuditEntry.__table__)
HISTORY_COLUMNS = ("message_id", "status", "attempt", "detail", "at")
OUTBOX_COLUMNS = ("id", "message_id", "exchange", "routing_key", "body", "created_at", "attempts")
DIALECT = postgresql.psycopg.dialect()  # type: ignore[attr-defined]


def sql(statement: Any) -> str:
    return str(statement.compile(dialect=DIALECT))


def history_rows(count: int) -> list[dict[str, Any]]:
    return [
        {"message_id": f"m{n}", "status": "pending", "attempt": n, "detail": {}, "at": None}
        for n in range(count)
    ]


def test_one_array_per_column_whatever_the_row_count() -> None:
    shape = array_insert(HISTORY, HISTORY_COLUMNS)
    one, many = shape.params(history_rows(1)), shape.params(history_rows(70))
    assert sorted(one) == sorted(many) == sorted(f"message_history__{c}" for c in HISTORY_COLUMNS)
    assert many["message_history__attempt"] == list(range(70))
    text = sql(shape.statement)
    assert text.count("%(") == len(HISTORY_COLUMNS) and "unnest(" in text


def test_the_same_statement_object_per_table_and_columns() -> None:
    assert array_insert(HISTORY, HISTORY_COLUMNS) is array_insert(HISTORY, HISTORY_COLUMNS)
    assert array_insert(HISTORY, HISTORY_COLUMNS[:4]) is not array_insert(HISTORY, HISTORY_COLUMNS)


def test_a_row_without_one_of_the_columns_is_refused() -> None:
    rows = history_rows(2)
    del rows[1]["detail"]
    with pytest.raises(KeyError, match="detail"):
        array_insert(HISTORY, HISTORY_COLUMNS).params(rows)


def test_arrays_carry_no_length_that_would_cut_a_value() -> None:
    assert HISTORY.c.message_id.type.length == 200  # type: ignore[attr-defined]
    assert element_type(HISTORY.c.message_id).length is None  # type: ignore[attr-defined]
    assert HISTORY.c.message_id.type.length == 200  # type: ignore[attr-defined]
    text = sql(array_insert(HISTORY, HISTORY_COLUMNS).statement)
    assert "VARCHAR[]" in text and "VARCHAR(" not in text
    assert "JSON[]" in text and "TIMESTAMP WITH TIME ZONE[]" in text


def test_one_statement_per_combination_with_only_the_tables_present() -> None:
    history = array_insert(HISTORY, HISTORY_COLUMNS)
    entries = array_insert(ENTRIES, COLUMNS)
    outbox = array_insert(OUTBOX, OUTBOX_COLUMNS)
    without_outbox = combined((history, entries), _ADVANCE_HEAD)
    assert combined((history, entries), _ADVANCE_HEAD) is without_outbox
    text = sql(without_outbox)
    assert "outbox" not in text
    assert text.index("INSERT INTO message_history") < text.index("INSERT INTO audit_entries")
    assert text.index("INSERT INTO audit_entries") < text.index("UPDATE audit_head")
    every = sql(combined((history, outbox, entries), _ADVANCE_HEAD))
    assert every.startswith("WITH write_0 AS") and "write_2 AS" in every
    assert every.count("%(") == 5 + 7 + len(COLUMNS) + 3  # the head: seq, hash, id
    assert len(every) <= 4096  # psycopg caches the conversion of queries up to 4096 bytes
    assert sql(combined((history,), None)).startswith("INSERT INTO message_history")


def test_column_values_go_to_psycopg_as_a_binary_array_after_their_types_processing() -> None:
    process = array_type(HISTORY.c.detail).dialect_impl(DIALECT).bind_processor(DIALECT)
    values = process([{"note_ar": "مقبول"}, ["a", "list"], None])
    assert isinstance(values, _BinaryList)
    assert [type(value) for value in values] == [Json, Json, Json]  # serialised as for a row
    assert [value.obj for value in values] == [{"note_ar": "مقبول"}, ["a", "list"], None]
    assert psycopg.adapters.get_dumper(_BinaryList, PyFormat.AUTO) is ListBinaryDumper
    assert psycopg.adapters.get_dumper(list, PyFormat.AUTO) is not ListBinaryDumper
